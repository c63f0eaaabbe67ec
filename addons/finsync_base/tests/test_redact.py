from odoo.tests import BaseCase, tagged

from ..tools.redact import mask_account, redact


@tagged("post_install", "-at_install")
class TestRedaction(BaseCase):
    def test_secrets_and_accounts_never_survive(self):
        data = {
            "client_secret": "s3cr3t-value",
            "headers": {"Authorization": "Bearer abc.def", "Stripe-Signature": "t=1,v1=ff"},
            "note": "paid from NL91ABNA0417164300 card 4242 4242 4242 4242, token Bearer xyz",
            "items": [{"api_key": "k"}, "plain"],
            "amount": 12,
        }
        result = redact(data)
        flat = repr(result)
        for secret in ("s3cr3t", "abc.def", "v1=ff", "0417164300", "4242 4242 4242", "xyz"):
            self.assertNotIn(secret, flat)
        self.assertEqual(result["client_secret"], "***")
        self.assertIn("****4300", result["note"])
        self.assertIn("****4242", result["note"])
        self.assertEqual(result["items"][1], "plain")
        self.assertEqual(result["amount"], 12)
        self.assertEqual(data["client_secret"], "s3cr3t-value", "the input is left untouched")

    def test_mask_account(self):
        self.assertEqual(mask_account("BE71 0961 2345 6769"), "****6769")
        self.assertEqual(mask_account("123"), "123")
        self.assertFalse(mask_account(False))
