from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestSecurity(FinsyncCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.setup_other_company()["company"]
        cls.backend_b = (
            cls.env["finsync.backend"]
            .sudo()
            .create(
                {
                    "name": "Company B bank",
                    "company_id": cls.company_b.id,
                    "client_secret": "b-secret",
                }
            )
        )
        event = cls.env["finsync.event"]._ingest(
            cls.backend_b, [{"payload": cls._payload(("B-1", "10.00")), "external_id": "b1"}]
        )
        event._process()
        cls.tx_b = event.transaction_ids
        cls.exc_b = cls.env["finsync.exception"].create(
            {"name": "B problem", "exception_type": "unmatched", "company_id": cls.company_b.id}
        )
        cls.backend.sudo().client_secret = "a-secret"
        cls.admin_user = new_test_user(
            cls.env,
            login="fs_admin",
            groups="base.group_user,base.group_system,finsync_base.group_finsync_admin",
            company_id=cls.env.company.id,
            company_ids=[(6, 0, cls.env.company.ids)],
        )

    def test_company_a_sees_nothing_of_company_b(self):
        for user in (self.user_user, self.accountant_user, self.manager_user):
            env = self.env(user=user)
            self.assertFalse(env["finsync.backend"].search([("id", "=", self.backend_b.id)]))
            self.assertFalse(env["finsync.transaction"].search([("id", "=", self.tx_b.id)]))
            self.assertFalse(env["finsync.event"].search([("id", "=", self.tx_b.event_id.id)]))
            self.assertFalse(env["finsync.exception"].search([("id", "=", self.exc_b.id)]))
            self.assertFalse(
                env["finsync.transaction.transition"].search(
                    [("transaction_id", "=", self.tx_b.id)]
                )
            )
            with self.assertRaises(AccessError):
                env["finsync.transaction"].browse(self.tx_b.id).read(["amount"])
        # ... while company B's own users see it.
        user_b = new_test_user(
            self.env,
            login="fs_user_b",
            groups="base.group_user,finsync_base.group_finsync_user",
            company_id=self.company_b.id,
            company_ids=[(6, 0, self.company_b.ids)],
        )
        self.assertEqual(self.env(user=user_b)["finsync.transaction"].search([]).ids, self.tx_b.ids)

    def test_only_admins_read_credentials(self):
        for user in (self.user_user, self.accountant_user, self.manager_user):
            backend = self.backend.with_user(user)
            with self.assertRaises(AccessError):
                backend.read(["client_secret"])
            self.assertTrue(backend.has_credentials)
            self.assertNotIn("client_secret", backend.fields_get())
        self.assertEqual(self.backend.with_user(self.admin_user).client_secret, "a-secret")
        # Connector code reads them through the one accessor.
        self.assertEqual(
            self.backend.with_user(self.accountant_user)._get_secret("client_secret"), "a-secret"
        )

    def test_raw_payload_only_for_accountants(self):
        event = self._ingest(self._payload(("P-1", "1.00")))
        with self.assertRaises(AccessError):
            event.with_user(self.user_user).read(["payload_text"])
        self.assertIn("P-1", event.with_user(self.accountant_user).payload_text)

    def test_group_ladder(self):
        with self.assertRaises(AccessError):
            self.env["finsync.backend"].with_user(self.manager_user).create({"name": "X"})
        self.env["finsync.backend"].with_user(self.admin_user).create({"name": "X"})
        with self.assertRaises(AccessError):
            self.env["finsync.exception.sla"].with_user(self.accountant_user).create(
                {"exception_type": "duplicate", "sla_hours": 1, "company_id": self.env.company.id}
            )
        self.assertTrue(self.accountant_user.has_group("account.group_account_user"))
        self.assertTrue(self.manager_user.has_group("account.group_account_manager"))
        self.assertFalse(self.user_user.has_group("account.group_account_user"))
