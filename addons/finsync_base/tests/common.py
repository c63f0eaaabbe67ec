import json

from odoo.tests import new_test_user

from odoo.addons.account.tests.common import AccountTestInvoicingCommon


class FinsyncCommon(AccountTestInvoicingCommon):
    """A generic connector on the test company, and one user per FinSync group."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        # The accounting test user configures connectors in these tests.
        cls.env.user.groups_id += cls.env.ref("finsync_base.group_finsync_admin")
        company = cls.env.company
        cls.backend = cls.env["finsync.backend"].create(
            {
                "name": "Test feed",
                "backend_type": "generic",
                "company_id": company.id,
                "journal_ids": [(6, 0, cls.company_data["default_journal_bank"].ids)],
            }
        )
        cls.currency_code = company.currency_id.name
        groups = {
            "user": "finsync_base.group_finsync_user",
            "accountant": "finsync_base.group_finsync_accountant",
            "manager": "finsync_base.group_finsync_manager",
        }
        for role, group in groups.items():
            user = new_test_user(
                cls.env,
                login=f"fs_{role}",
                groups=f"base.group_user,{group}",
                company_id=company.id,
                company_ids=[(6, 0, company.ids)],
            )
            setattr(cls, f"{role}_user", user)

    @classmethod
    def _payload(cls, *rows):
        """A canonical payload from (external_id, amount[, state]) tuples."""
        return json.dumps(
            {
                "transactions": [
                    {
                        "external_id": row[0],
                        "amount": row[1],
                        "state": row[2] if len(row) > 2 else "settled",
                        "currency": cls.currency_code,
                        "booking_date": "2026-01-15",
                        "counterparty_name": "Azure Interior",
                        "counterparty_account": "BE71096123456769",
                        "remittance": f"Invoice {row[0]}",
                    }
                    for row in rows
                ]
            }
        )

    def _ingest(self, payload, external_id=None, backend=None, env=None):
        env = env or self.env
        return env["finsync.event"]._ingest(
            backend or self.backend,
            [{"payload": payload, "external_id": external_id, "event_type": "test"}],
        )
