"""Cross-addon scenario: the demo bank file, imported as an accountant would."""

import base64
from pathlib import Path

from odoo.tests import TransactionCase, tagged

from odoo.addons.queue_job.job import Job

DEMO_FILE = (
    Path(__file__).resolve().parents[1]
    / "addons"
    / "finsync_bank"
    / "demo"
    / "demo_statement_camt053.xml"
)


@tagged("standard", "post_install", "-at_install")
class TestDemoStatementImport(TransactionCase):
    def test_demo_file_lands_in_the_demo_bank_journal_once(self):
        journal = self.env["account.journal"].search([("code", "=", "FSDB")])
        self.assertEqual(journal.bank_account_id.acc_number, "BE68539007547034")

        def run_import():
            attachment = self.env["ir.attachment"].create(
                {"name": DEMO_FILE.name, "datas": base64.b64encode(DEMO_FILE.read_bytes())}
            )
            wizard = self.env["finsync.bank.import"].create(
                {"attachment_ids": [(6, 0, attachment.ids)]}
            )
            wizard.action_preview()
            self.assertEqual(wizard.preview_ids.journal_id, journal)
            wizard.action_import()
            return wizard

        first = run_import()
        self.assertEqual(
            first.message,
            "12 new, 0 already imported. The lines are being matched by a background job.",
        )
        self.assertTrue(first.statement_ids.is_complete)
        self.assertFalse(first.exception_ids, "the statement follows on and adds up")
        # Matching runs as one job for the journal on root.finsync.matching: run it
        # as the job runner would.
        [job] = (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("identity_key", "=", f"finsync-match-journal-{journal.id}"),
                    ("state", "=", "pending"),
                ]
            )
        )
        self.assertEqual(job.channel, "root.finsync.matching")
        Job.load(self.env, job.uuid).perform()
        transactions = first.event_ids.transaction_ids
        self.assertEqual(
            len(transactions.filtered(lambda tx: tx.state == "reconciled")),
            6,
            "6 reconciled automatically",
        )
        # The demo invoices make every outcome of matching visible: 6 to review.
        by_remittance = {tx.remittance: tx for tx in transactions}
        self.assertEqual(
            sorted(transactions.exception_ids.filtered("is_open").mapped("exception_type")),
            [
                "ambiguous",
                "amount_mismatch",
                "amount_mismatch",
                "missing_reference",
                "unmatched",
                "unmatched",
            ],
        )
        two_invoices = by_remittance["FSD/2026/0003 FSD/2026/0004"]
        self.assertEqual(two_invoices.state, "reconciled")
        self.assertEqual(set(two_invoices.invoice_ids.mapped("payment_state")), {"paid"})
        self.assertEqual(by_remittance["+++090/9337/55493+++"].state, "reconciled")
        self.assertEqual(
            by_remittance["Your invoice WC-INV-7781"].invoice_ids.move_type, "in_invoice"
        )
        again = run_import()
        self.assertTrue(again.message.startswith("0 new, 12 already imported."), again.message)
