import os
from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestMatchingImportTour(HttpCase):
    """Import, see what matched on its own, resolve the ambiguous line by hand."""

    def _invoice(self, partner, amount, reference=None):
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": "2026-05-01",
                "payment_reference": reference,
                "invoice_line_ids": [
                    (0, 0, {"name": "Service", "quantity": 1, "price_unit": amount, "tax_ids": []})
                ],
            }
        )
        invoice.action_post()
        return invoice

    def test_accountant_imports_and_resolves_an_ambiguous_line(self):
        company = self.env.company
        journal = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
        )
        journal.bank_account_id = self.env["res.partner.bank"].create(
            {"acc_number": "NL91ABNA0417164300", "partner_id": company.partner_id.id}
        )
        self.env["finsync.match.rule"].search([("company_id", "=", company.id)]).unlink()
        self.env["finsync.match.rule"].create({"name": "Tour rule", "company_id": company.id})
        azure = self.env["res.partner"].create({"name": "Tour Azure"})
        deco = self.env["res.partner"].create({"name": "Tour Deco"})
        twin = self.env["res.partner"].create(
            {
                "name": "Tour Twin Customer",
                "bank_ids": [(0, 0, {"acc_number": "NL02ABNA0123456712"})],
            }
        )
        invoice_a = self._invoice(azure, 250.5, "TOUR-INV-A1")
        invoice_b = self._invoice(deco, 80.0, "TOUR-INV-B2")
        twin_invoices = self._invoice(twin, 100.0) | self._invoice(twin, 100.0)
        new_test_user(
            self.env,
            login="tour_match_accountant",
            groups="base.group_user,finsync_base.group_finsync_accountant",
        )

        # The import's matching job runs at once, as the job runner would run it.
        with patch.dict(os.environ, {"QUEUE_JOB__NO_DELAY": "1"}):
            self.start_tour("/odoo", "finsync_matching_import_tour", login="tour_match_accountant")

        self.assertEqual((invoice_a | invoice_b).mapped("payment_state"), ["paid", "paid"])
        self.assertEqual(sorted(twin_invoices.mapped("payment_state")), ["not_paid", "paid"])
        lines = self.env["account.bank.statement.line"].search([("journal_id", "=", journal.id)])
        transactions = lines.finsync_transaction_ids
        self.assertEqual(len(transactions), 3)
        self.assertEqual(set(transactions.mapped("state")), {"reconciled"})
        by_hand = transactions.filtered(lambda tx: tx.match_mode == "manual")
        self.assertEqual(
            by_hand.invoice_ids, twin_invoices.filtered(lambda inv: inv.payment_state == "paid")
        )
        exception = by_hand.exception_ids
        self.assertEqual(exception.exception_type, "ambiguous")
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(exception.resolved_by_id.login, "tour_match_accountant")
