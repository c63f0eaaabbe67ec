import base64
import datetime
from decimal import Decimal

from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.finsync_testing.tools.generate import Line, StatementSpec, camt053

IBAN = "NL91ABNA0417164300"


@tagged("post_install", "-at_install")
class TestWriteoffApprovalTour(HttpCase):
    """A write-off over the threshold, requested by one manager, approved by another."""

    def _import_short_payment(self, journal, invoice):
        spec = StatementSpec(
            account=IBAN,
            currency=(journal.currency_id or self.env.company.currency_id).name,
            opening_balance=Decimal(0),
            start=datetime.date(2026, 6, 1),
            end=datetime.date(2026, 6, 30),
            lines=[
                Line(
                    Decimal("120.00"),
                    datetime.date(2026, 6, 10),
                    name="Tour Short Payer",
                    remittance="TOUR-WO-7 paid less",
                    reference="WO-TOUR-1",
                )
            ],
            statement_id="WO-TOUR-STMT",
        )
        attachment = self.env["ir.attachment"].create(
            {
                "name": "june.xml",
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
        return wizard.event_ids.transaction_ids

    def test_write_off_requested_then_approved_by_another_manager(self):
        company = self.env.company
        journal = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
        )
        journal.bank_account_id = self.env["res.partner.bank"].create(
            {"acc_number": IBAN, "partner_id": company.partner_id.id}
        )
        self.env["finsync.match.rule"].search([("company_id", "=", company.id)]).unlink()
        self.env["finsync.match.rule"].create({"name": "Tour rule", "company_id": company.id})
        company.finsync_writeoff_threshold = 10.0
        account = self.env["account.account"].create(
            {"code": "999901", "name": "Tour Write-offs", "account_type": "expense"}
        )
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.env["res.partner"].create({"name": "Tour Short Payer"}).id,
                "invoice_date": "2026-06-01",
                "payment_reference": "TOUR-WO-7",
                "invoice_line_ids": [
                    (0, 0, {"name": "Service", "quantity": 1, "price_unit": 150.0, "tax_ids": []})
                ],
            }
        )
        invoice.action_post()
        transaction = self._import_short_payment(journal, invoice)
        self.assertEqual(transaction.exception_ids.exception_type, "amount_mismatch")
        groups = "base.group_user,finsync_base.group_finsync_manager"
        requester = new_test_user(
            self.env, login="tour_wo_requester", name="Tour Requester", groups=groups
        )
        approver = new_test_user(
            self.env, login="tour_wo_approver", name="Tour Approver", groups=groups
        )

        self.start_tour("/odoo", "finsync_writeoff_request_tour", login="tour_wo_requester")
        request = self.env["finsync.writeoff.request"].search(
            [("transaction_id", "=", transaction.id)]
        )
        self.assertEqual(request.state, "requested")
        self.assertEqual(request.requester_id, requester)
        self.assertEqual(request.account_id, account)
        self.assertFalse(transaction.statement_line_id.is_reconciled)

        self.start_tour("/odoo", "finsync_writeoff_approve_tour", login="tour_wo_approver")
        self.assertEqual(request.state, "approved")
        self.assertEqual(request.approver_id, approver)
        self.assertTrue(transaction.statement_line_id.is_reconciled)
        self.assertEqual(transaction.state, "reconciled")
        self.assertEqual(invoice.payment_state, "paid")
        writeoff = transaction.statement_line_id.move_id.line_ids.filtered(
            lambda line: line.account_id == account
        )
        self.assertEqual(writeoff.currency_id.compare_amounts(writeoff.balance, 30.0), 0)
        self.assertEqual(transaction.exception_ids.state, "resolved")
