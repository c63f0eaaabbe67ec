import json
import time

from odoo.tests import BaseCase, tagged

from odoo.addons.finsync_bank.tests.corpus import corpus_file

from ..adapters.stripe_signature import SignatureError, header_for, sign, split_secrets, verify


def _vector():
    return json.loads(corpus_file("stripe/stripe-python__webhook_signature_vector.json"))


@tagged("post_install", "-at_install")
class TestStripeSignatureVector(BaseCase):
    """stripe-python's own test cases (tests/test_webhook.py), from the shared corpus."""

    def setUp(self):
        super().setUp()
        self.vector = _vector()
        self.payload = corpus_file("stripe/stripe-python__webhook_payload.json")
        self.secret = self.vector["secret"]

    def test_payload_file_is_the_signed_text(self):
        self.assertEqual(self.payload.decode(), self.vector["payload"])

    def test_collector_vector_signature(self):
        computed = self.vector["collector_computed"]
        self.assertEqual(sign(self.payload, self.secret, computed["timestamp"]), computed["v1"])
        # No tolerance: an old timestamp is accepted (test_timestamp_off_but_no_tolerance).
        self.assertEqual(verify(self.payload, computed["header"], [self.secret], None), 12345)
        with self.assertRaises(SignatureError) as caught:
            verify(self.payload, computed["header"], [self.secret])
        self.assertEqual(caught.exception.code, "expired", "300 s tolerance by default")

    def test_cases_from_stripe_python(self):
        now = int(time.time())
        good = sign(self.payload, self.secret, now)
        headers = {
            "test_raise_on_malformed_header": "i'm not even a real signature header",
            "test_raise_on_no_signatures_with_expected_scheme": f"t={now},v0={good}",
            "test_raise_on_no_valid_signatures_for_payload": f"t={now},v1=bad_signature",
            "test_raise_on_timestamp_outside_tolerance": (
                f"t={now - 15},v1={sign(self.payload, self.secret, now - 15)}"
            ),
            "test_valid_header_and_signature": f"t={now},v1={good}",
            "test_header_contains_valid_signature": f"t={now},v1={good},v1=bad_signature",
            "test_timestamp_off_but_no_tolerance": self.vector["collector_computed"]["header"],
        }
        for case in self.vector["cases_from_source"]:
            name = case["test"].split(" ")[0]
            with self.subTest(name):
                tolerance = case.get("tolerance", 10)
                call = (self.payload, headers[name], [self.secret], tolerance, now)
                if case.get("expect") == "valid":
                    self.assertTrue(verify(*call))
                else:
                    with self.assertRaises(SignatureError) as caught:
                        verify(*call)
                    self.assertEqual(str(caught.exception), case["expect_error"])


@tagged("post_install", "-at_install")
class TestStripeSignatureRules(BaseCase):
    payload = b'{"id": "evt_1", "object": "event"}'

    def test_any_of_several_secrets_during_a_rotation(self):
        header = header_for(self.payload, ["whsec_new"])
        self.assertTrue(verify(self.payload, header, ["whsec_old", "whsec_new"]))
        with self.assertRaises(SignatureError):
            verify(self.payload, header, ["whsec_old"])
        self.assertEqual(
            split_secrets(" whsec_old\n\nwhsec_new ,whsec_3"), ["whsec_old", "whsec_new", "whsec_3"]
        )

    def test_fails_closed_without_a_secret(self):
        header = header_for(self.payload, [""])
        for secrets in ([], [""], None):
            with self.assertRaises(SignatureError) as caught:
                verify(self.payload, header, secrets)
            self.assertEqual(caught.exception.code, "no_secret")

    def test_tolerance_is_300_seconds_either_way(self):
        now = 1_800_000_000
        for offset, ok in ((-299, True), (299, True), (-301, False), (301, False)):
            header = header_for(self.payload, ["s"], now + offset)
            with self.subTest(offset=offset):
                if ok:
                    self.assertTrue(verify(self.payload, header, ["s"], now=now))
                else:
                    with self.assertRaises(SignatureError):
                        verify(self.payload, header, ["s"], now=now)

    def test_body_changed_after_signing_is_refused(self):
        header = header_for(self.payload, ["s"])
        with self.assertRaises(SignatureError) as caught:
            verify(self.payload + b" ", header, ["s"])
        self.assertEqual(caught.exception.code, "mismatch")
