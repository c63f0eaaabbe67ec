import base64
import datetime
from decimal import Decimal

from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.finsync_testing.tools.generate import Line, StatementSpec, camt053

from .common_overview import OverviewCommon

TOUR_IBAN = "NL02ABNA0123456789"


@tagged("post_install", "-at_install")
class TestWorkbenchTour(HttpCase):
    """The overview -> a red journal -> its lines in the workbench -> a proposal confirmed."""

    def _import(self, journal, invoice):
        spec = StatementSpec(
            account=TOUR_IBAN,
            currency=self.env.company.currency_id.name,
            opening_balance=Decimal(0),
            start=datetime.date(2026, 1, 1),
            end=datetime.date(2026, 1, 31),
            lines=[
                Line(
                    Decimal("150.00"),
                    datetime.date(2026, 1, 10),
                    name="Tour Payer",
                    remittance=f"payment {invoice.name}",
                    reference="WB-TOUR-1",
                ),
                Line(
                    Decimal("-42.00"),
                    datetime.date(2026, 1, 12),
                    name="Tour Landlord",
                    remittance="rent december",
                    reference="WB-TOUR-2",
                ),
            ],
            statement_id="WB-TOUR-STMT",
        )
        attachment = self.env["ir.attachment"].create(
            {
                "name": "january.xml",
                "datas": base64.b64encode(camt053(spec)),
                "res_model": "finsync.bank.import",
            }
        )
        wizard = self.env["finsync.bank.import"].create(
            {"attachment_ids": [(6, 0, attachment.ids)], "journal_id": journal.id}
        )
        wizard.action_preview()
        # The matching job runs at once, as the job runner would run it.
        wizard.with_context(queue_job__no_delay=True).action_import()
        return wizard.event_ids.transaction_ids.sorted("id")

    def test_overview_to_workbench_to_a_confirmed_proposal(self):
        company = self.env.company
        journal = self.env["account.journal"].create(
            {"name": "Tour Workbench Bank", "code": "TWB", "type": "bank", "company_id": company.id}
        )
        journal.bank_account_id = self.env["res.partner.bank"].create(
            {"acc_number": TOUR_IBAN, "partner_id": company.partner_id.id}
        )
        rules = self.env["finsync.match.rule"].search([("company_id", "=", company.id)])
        rules.unlink()
        self.env["finsync.match.rule"].create(
            {"name": "Tour proposals", "company_id": company.id, "auto_reconcile": False}
        )
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.env["res.partner"].create({"name": "Tour Payer"}).id,
                "invoice_date": "2026-01-02",
                "invoice_line_ids": [
                    (0, 0, {"name": "Service", "quantity": 1, "price_unit": 150.0, "tax_ids": []})
                ],
            }
        )
        invoice.action_post()
        proposed, rent = self._import(journal, invoice)
        self.assertTrue(proposed.has_proposal)
        self.assertFalse(rent.has_proposal)
        new_test_user(
            self.env,
            login="fs_wb_tour",
            name="Tour Accountant",
            groups="base.group_user,finsync_base.group_finsync_accountant",
            company_id=company.id,
            company_ids=[(6, 0, company.ids)],
        )

        self.start_tour(
            "/odoo/action-finsync_close.action_finsync_overview",
            "finsync_workbench_tour",
            login="fs_wb_tour",
        )
        self.assertEqual(proposed.state, "reconciled")
        self.assertEqual(proposed.match_mode, "confirmed")
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(rent.state, "settled")
        self.assertFalse(rent.statement_line_id.is_reconciled)


@tagged("post_install", "-at_install")
class TestOverviewOpensWorkbench(OverviewCommon):
    def test_journal_numbers_open_the_workbench_on_the_journal(self):
        line = self._line(11.0, "2026-11-20")
        self._line(5.0, "2026-11-21", journal=self.company_data["default_journal_bank"])
        data = self.figures.with_user(self.accountant_user).get_overview(self.company.id)
        journal = next(j for j in data["journals"] if j["id"] == self.journal.id)
        workbench = self.env.ref("finsync_matching.action_finsync_workbench")
        for target in (journal["open_lines"], journal["open_oldest"]):
            self.assertEqual(target["id"], workbench.id)
            self.assertEqual(self.env[target["res_model"]].search(target["domain"]), line)
        dashboard = self.journal.with_user(self.accountant_user).action_finsync_open_unreconciled()
        self.assertEqual(dashboard["id"], workbench.id)
        self.assertEqual(self.env[dashboard["res_model"]].search(dashboard["domain"]), line)
