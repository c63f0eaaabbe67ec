import datetime
from decimal import Decimal

from odoo.tests import tagged

from odoo.addons.finsync_bank.tests.common import IBAN, BankImportCommon
from odoo.addons.finsync_testing.tools.generate import Line, StatementSpec, camt053


class ReconcileCommon(BankImportCommon):
    """Three open invoices (150, 80, 70) and a default rule; statements imported as CAMT.

    Jobs run at once (``queue_job__no_delay``): the matching job of an import's
    journal has run when the import returns, as the job runner would run it.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, queue_job__no_delay=True))
        cls.rule = cls.env["finsync.match.rule"].create(
            {"name": "References", "company_id": cls.env.company.id}
        )
        cls.invoice_a = cls.init_invoice("out_invoice", amounts=[150.0], taxes=[], post=True)
        cls.invoice_b = cls.init_invoice("out_invoice", amounts=[80.0], taxes=[], post=True)
        cls.invoice_c = cls.init_invoice("out_invoice", amounts=[70.0], taxes=[], post=True)

    def _import_lines(self, *lines):
        spec = StatementSpec(
            account=IBAN,
            currency=self.currency.name,
            opening_balance=Decimal(0),
            start=datetime.date(2026, 1, 1),
            end=datetime.date(2026, 1, 31),
            lines=list(lines),
        )
        wizard = self._import(("jan.xml", camt053(spec)))
        self.assertEqual(wizard.state, "done", wizard.message)
        return wizard.event_ids.transaction_ids.sorted("id")

    def _line(self, amount, remittance, reference):
        return Line(
            Decimal(amount),
            datetime.date(2026, 1, 10),
            name="Customer",
            remittance=remittance,
            reference=reference,
        )


@tagged("post_install", "-at_install")
class TestReconcileAfterImport(ReconcileCommon):
    def test_reference_in_the_label_reconciles_the_invoice(self):
        label = self.invoice_a.name.lower().replace("/", " ")
        [tx] = self._import_lines(self._line("150.00", f"payment {label}", "R1"))
        self.assertEqual(self.invoice_a.payment_state, "paid")
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(tx.invoice_ids, self.invoice_a)
        self.assertEqual(tx.match_rule_id, self.rule)
        self.assertIn("amount equal", tx.match_explanation)
        self.assertTrue(tx.statement_line_id.is_reconciled)
        again = self.env["finsync.matching"]._match_statement_lines(tx.statement_line_id)
        self.assertEqual(again, {}, "a reconciled line is never matched twice")
        move = tx.statement_line_id.move_id
        self.assertEqual(
            self.currency.compare_amounts(
                sum(move.line_ids.mapped("debit")), sum(move.line_ids.mapped("credit"))
            ),
            0,
        )

    def test_one_transfer_for_two_invoices(self):
        text = f"{self.invoice_b.name} {self.invoice_c.name}"
        [tx] = self._import_lines(self._line("150.00", text, "R2"))
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(tx.invoice_ids, self.invoice_b | self.invoice_c)
        self.assertEqual(set((self.invoice_b | self.invoice_c).mapped("payment_state")), {"paid"})

    def test_a_reference_not_open_as_written_never_reconciles(self):
        prefix, year, number = self.invoice_a.name.split("/")
        written = f"{prefix}/{int(year) + 1}/{number}"
        self.rule.auto_partner_amount = True
        [tx] = self._import_lines(self._line("150.00", written, "R9"))
        self.assertEqual(self.invoice_a.payment_state, "not_paid")
        self.assertNotEqual(tx.state, "reconciled")
        self.assertFalse(tx.statement_line_id.is_reconciled)
        self.assertIn("is not open as written", tx.match_explanation)
        self.assertIn(f"year {int(year) + 1} instead of {int(year)}", tx.match_explanation)

    def test_what_cannot_be_matched_lands_in_the_exception_queue(self):
        unknown, short = self._import_lines(
            self._line("42.00", "rent january", "R3"),
            self._line("149.00", self.invoice_a.name, "R4"),
        )
        self.assertEqual(unknown.exception_ids.exception_type, "unmatched")
        self.assertEqual(short.exception_ids.exception_type, "amount_mismatch")
        self.assertIn(self.invoice_a.name, short.exception_ids.description)
        self.assertIn("amount differs by -1.00", short.match_explanation)
        self.assertEqual(self.invoice_a.payment_state, "not_paid")
        self.assertEqual(short.state, "settled")

    def test_difference_within_tolerance_goes_to_the_write_off_account(self):
        writeoff = self.company_data["default_account_expense"]
        self.rule.write({"amount_tolerance": 2.0, "writeoff_account_id": writeoff.id})
        self.env.company.finsync_writeoff_threshold = 1.0
        [tx] = self._import_lines(self._line("149.00", self.invoice_a.name, "R5"))
        self.assertEqual(self.invoice_a.payment_state, "paid")
        line = tx.statement_line_id.move_id.line_ids.filtered(
            lambda aml: aml.account_id == writeoff
        )
        self.assertEqual(self.currency.compare_amounts(line.balance, 1.0), 0)

    def test_undoing_the_reconciliation_brings_the_transaction_back(self):
        [tx] = self._import_lines(self._line("150.00", self.invoice_a.name, "R6"))
        self.assertEqual(tx.state, "reconciled")
        tx.statement_line_id.action_undo_reconciliation()
        self.assertEqual(tx.state, "settled")
        self.assertEqual(self.invoice_a.payment_state, "not_paid")
        self.assertFalse(tx.match_explanation)
        last = tx.transition_ids.sorted("id")[-1]
        self.assertEqual((last.from_state, last.to_state), ("reconciled", "settled"))
        self.assertIn("undone", last.reason)

    def test_matching_again_after_the_invoice_arrives(self):
        [tx] = self._import_lines(self._line("95.00", "order so 4711, thanks", "R7"))
        self.assertEqual(tx.exception_ids.exception_type, "unmatched")
        late = self.init_invoice("out_invoice", amounts=[95.0], taxes=[], post=False)
        late.payment_reference = "SO/04711"
        late.action_post()
        action = tx.action_match()
        self.assertIn("1 reconciled", action["params"]["message"])
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(late.payment_state, "paid")
        self.assertEqual(tx.exception_ids.state, "resolved")
        self.assertEqual(tx.exception_ids.reason_id.code, "MATCHED")
