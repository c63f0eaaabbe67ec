from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestBackendEndpoint(FinsyncCommon):
    """Where credentials go is decided by Settings, like the credentials themselves."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend.sudo().write(
            {"api_url": "https://bank.example.com", "client_id": "cid", "api_key": "k-1"}
        )
        company = cls.env.company
        cls.finsync_admin = new_test_user(
            cls.env,
            login="fs_admin_no_settings",
            groups="base.group_user,finsync_base.group_finsync_admin",
            company_id=company.id,
            company_ids=[(6, 0, company.ids)],
        )
        cls.settings_admin = new_test_user(
            cls.env,
            login="fs_admin_settings",
            groups="base.group_user,base.group_system,finsync_base.group_finsync_admin",
            company_id=company.id,
            company_ids=[(6, 0, company.ids)],
        )

    def test_finsync_admin_cannot_redirect_the_credentials(self):
        backend = self.backend.with_user(self.finsync_admin).with_context(
            finsync_transition=True, finsync_writeoff=True, install_mode=True
        )
        self.assertFalse(backend.can_edit_endpoint)
        for vals, label in (
            ({"api_url": "https://listener.example.net"}, "API URL"),
            ({"environment": "live"}, "Environment"),
            ({"backend_type": "generic", "api_url": False}, "API URL"),
        ):
            with self.assertRaisesRegex(AccessError, label):
                backend.write(vals)
        self.assertEqual(self.backend.api_url, "https://bank.example.com")
        self.assertEqual(self.backend.environment, "sandbox")
        with self.assertRaisesRegex(AccessError, "API URL"):
            backend.create({"name": "Mine", "api_url": "https://listener.example.net"})
        # Everything else stays his to change, and a new connector without an endpoint.
        backend.write({"name": "Renamed", "api_url": "https://bank.example.com"})
        self.assertEqual(self.backend.name, "Renamed")
        backend.create({"name": "New feed", "environment": "sandbox"})

    def test_settings_user_changes_the_endpoint(self):
        backend = self.backend.with_user(self.settings_admin)
        self.assertTrue(backend.can_edit_endpoint)
        backend.write({"api_url": "https://other-bank.example.com", "environment": "live"})
        self.assertEqual(self.backend.api_url, "https://other-bank.example.com")
        self.assertEqual(self.backend.environment, "live")

    def test_secrets_need_settings_and_are_read_through_the_accessor(self):
        backend = self.backend.with_user(self.finsync_admin)
        for fname in ("client_id", "client_secret", "api_key", "webhook_secret"):
            with self.assertRaises(AccessError, msg=fname):
                backend.read([fname])
        self.assertEqual(backend._get_secret("client_id"), "cid")
        self.assertEqual(backend._get_secret("api_key"), "k-1")
        with self.assertRaises(UserError):
            backend._get_secret("name")
