import datetime
from decimal import Decimal

from odoo.tests import tagged

from odoo.addons.finsync_testing.tools.benchmark import rf_reference
from odoo.addons.finsync_testing.tools.generate import Line, StatementSpec, camt053

from .test_reconcile import ReconcileCommon

CUSTOMER_IBAN = "NL44RABO0123456789"


@tagged("post_install", "-at_install")
class TestMatchingQuality(ReconcileCommon):
    """Partial payments, structured references, payers found by their bank account,
    foreign currency: through real statement imports into the ledger."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule.write(
            {
                "allow_partial": True,
                "auto_partner_amount": True,
                "amount_tolerance": 5.0,
                "writeoff_account_id": cls.company_data["default_account_expense"].id,
            }
        )
        # Fees within the tolerance are booked without approval.
        cls.env.company.finsync_writeoff_threshold = 5.0
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Hoogstraat Bakkerij BV",
                "is_company": True,
                "bank_ids": [(0, 0, {"acc_number": CUSTOMER_IBAN})],
            }
        )

    def _invoice(self, amount, partner=None, payment_reference=None, **kwargs):
        invoice = self.init_invoice(
            "out_invoice", partner=partner, amounts=[amount], taxes=[], **kwargs
        )
        if payment_reference:
            invoice.payment_reference = payment_reference
        invoice.action_post()
        return invoice

    def _paid_by(self, amount, text, reference, name="Customer", account=""):
        return Line(
            Decimal(amount),
            datetime.date(2026, 1, 20),
            name=name,
            account=account,
            remittance=text,
            reference=reference,
        )

    def _balanced(self, move):
        return move.currency_id.compare_amounts(
            sum(move.line_ids.mapped("debit")), sum(move.line_ids.mapped("credit"))
        )

    def test_several_payments_for_one_invoice(self):
        label = self.invoice_a.name.lower().replace("/", " ")
        [first] = self._import_lines(self._paid_by("60.00", f"{label} part 1", "Q1"))
        self.assertEqual(first.state, "reconciled")
        self.assertEqual(self.invoice_a.payment_state, "partial")
        self.assertEqual(self.currency.compare_amounts(self.invoice_a.amount_residual, 90.0), 0)
        self.assertIn("partial payment of 60.00 (150.00 open)", first.match_explanation)
        second, third = self._import_lines(
            self._paid_by("90.00", f"{label} rest", "Q2"),
            self._paid_by("90.00", f"{label} again", "Q3"),
        )
        self.assertEqual(self.invoice_a.payment_state, "paid")
        self.assertEqual(second.state, "reconciled")
        self.assertEqual(third.state, "settled", "a paid invoice is never paid twice")
        self.assertEqual(third.exception_ids.exception_type, "unmatched")
        for tx in first | second:
            self.assertEqual(self._balanced(tx.statement_line_id.move_id), 0)

    def test_structured_reference_only(self):
        rf = rf_reference("2026000042")
        invoice = self._invoice(321.0, payment_reference=rf)
        spaced = " ".join(rf[i : i + 4] for i in range(0, len(rf), 4)).lower()
        [tx] = self._import_lines(self._paid_by("321.00", spaced, "Q4"))
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(invoice.payment_state, "paid")
        self.assertIn(rf, tx.match_explanation)

    def test_payer_found_by_bank_account_pays_its_only_invoice_of_that_amount(self):
        invoice = self._invoice(123.45, partner=self.customer)
        [tx] = self._import_lines(
            self._paid_by("123.45", "monthly transfer", "Q5", "H. BAKKERIJ", CUSTOMER_IBAN)
        )
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(tx.partner_id, self.customer)
        self.assertIn("found by the counterparty account", tx.match_explanation)

    def test_payer_found_by_name_and_twins_stay_ambiguous(self):
        twins = self._invoice(80.0, partner=self.customer) | self._invoice(
            80.0, partner=self.customer
        )
        single = self._invoice(55.0, partner=self.customer)
        by_name, ambiguous = self._import_lines(
            self._paid_by("55.00", "transfer", "Q6", "hoogstraat bakkerij bv"),
            self._paid_by("80.00", "transfer", "Q7", "Hoogstraat Bakkerij BV"),
        )
        self.assertEqual(by_name.state, "reconciled")
        self.assertEqual(single.payment_state, "paid")
        self.assertIn("found by the counterparty name", by_name.match_explanation)
        self.assertEqual(ambiguous.state, "settled")
        self.assertEqual(ambiguous.exception_ids.exception_type, "ambiguous")
        self.assertEqual(set(twins.mapped("payment_state")), {"not_paid"})

    def test_reference_lines_take_their_invoices_before_amount_only_lines(self):
        wanted = self._invoice(77.0, partner=self.customer)
        other = self._invoice(77.0, partner=self.customer)
        # The amount-only line comes first in the file; the referenced invoice is
        # still never taken by it, and the other 77.00 is then the only one left.
        by_amount, by_reference = self._import_lines(
            self._paid_by("77.00", "transfer", "Q8", "x", CUSTOMER_IBAN),
            self._paid_by("77.00", f"invoice {wanted.name}", "Q9", "x", CUSTOMER_IBAN),
        )
        self.assertEqual(by_reference.invoice_ids, wanted)
        self.assertEqual(by_amount.invoice_ids, other)
        self.assertEqual(by_amount.state, "reconciled")

    def test_foreign_currency_payment_leaves_the_exchange_difference(self):
        chf = self.setup_other_currency("CHF", rates=[("2026-01-01", 2.0), ("2026-01-15", 2.5)])
        journal = self.env["account.journal"].create(
            {
                "name": "Bank CHF",
                "code": "BCHF",
                "type": "bank",
                "currency_id": chf.id,
                "bank_account_id": self.env["res.partner.bank"]
                .create(
                    {
                        "acc_number": "CH9300762011623852957",
                        "partner_id": self.env.company.partner_id.id,
                    }
                )
                .id,
            }
        )
        invoice = self._invoice(1000.0, invoice_date=datetime.date(2026, 1, 5), currency=chf)
        receivable = invoice.line_ids.filtered(
            lambda aml: aml.account_id.account_type == "asset_receivable"
        )
        company_currency = self.env.company.currency_id
        self.assertEqual(company_currency.compare_amounts(receivable.balance, 500.0), 0)
        spec = StatementSpec(
            account="CH9300762011623852957",
            currency="CHF",
            opening_balance=Decimal(0),
            start=datetime.date(2026, 1, 1),
            end=datetime.date(2026, 1, 31),
            lines=[self._paid_by("1000.00", invoice.name, "Q10")],
        )
        wizard = self._import(("chf.xml", camt053(spec)), journal=journal)
        self.assertEqual(wizard.state, "done", wizard.message)
        tx = wizard.event_ids.transaction_ids
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(invoice.payment_state, "paid")
        self.assertTrue(receivable.full_reconcile_id)
        move = tx.statement_line_id.move_id
        self.assertEqual(self._balanced(move), 0)
        counterpart = move.line_ids.filtered(lambda aml: aml.account_id == receivable.account_id)
        # Booked at the payment's rate (2.5): 1000 CHF = 400.00; the invoice said 500.00.
        self.assertEqual(company_currency.compare_amounts(counterpart.balance, -400.0), 0)
        exchange = (
            receivable.matched_credit_ids.exchange_move_id
            | receivable.full_reconcile_id.exchange_move_id
        )
        self.assertTrue(exchange, "Odoo's exchange difference entry")
        self.assertEqual(exchange.journal_id, self.env.company.currency_exchange_journal_id)
        loss = exchange.line_ids.filtered(lambda aml: aml.account_id == receivable.account_id)
        self.assertEqual(company_currency.compare_amounts(loss.balance, -100.0), 0)
        self.assertEqual(self._balanced(exchange), 0)
