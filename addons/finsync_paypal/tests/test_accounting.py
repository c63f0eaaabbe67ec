import json
import random
from pathlib import Path

from odoo.tests import tagged

from .common import PayPalCommon

DATA = Path(__file__).parent / "data"


@tagged("post_install", "-at_install")
class TestPayPalAccounting(PayPalCommon):
    def setUp(self):
        super().setUp()
        self.sim = self.start_simulator()
        self.invoice = self.init_invoice("out_invoice", amounts=[120.0], taxes=[], post=True)

    def _story(self):
        """A payment for the invoice, one for nobody, a refund, a hold and release, a payout."""
        paid = self.sim.add_payment("120.00", self.code, invoice=self.invoice.name)
        other = self.sim.add_payment("50.00", self.code, invoice="NO-SUCH-INVOICE")
        refund = self.sim.add_refund(other, "20.00", fee_back="0.50")
        self.sim.add_hold(other)
        self.sim.add_hold(other, release=True)
        payout = self.sim.add_withdrawal("100.00", self.code)
        return paid, other, refund, payout

    def test_sales_without_invoices_are_booked_to_their_account_not_matched(self):
        sales = self.env["account.account"].search(
            [("company_ids", "in", self.env.company.id), ("account_type", "=", "income")],
            limit=1,
        )
        self.paypal.gateway_sales_account_id = sales
        sold = self.sim.add_payment("50.00", self.code)
        sent = self.sim.add_payment("-30.00", self.code)
        [event] = self.deliver(self.page(*self.sim.transactions))
        self.assertEqual(event.state, "done", event.last_error)
        payment = self.transactions(external_id=sold["transaction_info"]["transaction_id"])
        income = payment.statement_line_id.move_id.line_ids.filtered(
            lambda line: line.account_id == sales
        )
        self.assertEqual(self.currency.compare_amounts(-income.balance, 50.0), 0)
        self.assertFalse(
            self.env["finsync.exception"].search([("transaction_ids", "in", payment.ids)])
        )
        # Money sent to a supplier is no sale: it still waits for its bill.
        paid_out = self.transactions(external_id=sent["transaction_info"]["transaction_id"])
        self.assertFalse(
            paid_out.statement_line_id.move_id.line_ids.filtered(
                lambda line: line.account_id == sales
            )
        )

    def test_pulled_page_books_every_movement_once(self):
        paid, other, refund, payout = self._story()
        [event] = self.deliver(self.page(*self.sim.transactions))
        self.assertEqual(event.state, "done", event.last_error)
        payment = self.transactions(external_id=paid["transaction_info"]["transaction_id"])
        self.assertEqual(
            (payment.kind, payment.amount, payment.fee_amount), ("charge", 120.0, 4.68)
        )
        self.assertEqual(payment.state, "reconciled", "matched to its invoice by reference")
        self.assertIn(self.invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(payment.gateway_fee_line_id.amount, -4.68)
        back = self.transactions(external_id=refund["transaction_info"]["transaction_id"])
        self.assertEqual(
            back.reversed_transaction_id.external_id, other["transaction_info"]["transaction_id"]
        )
        self.assertEqual(
            (back.statement_line_id.amount, back.gateway_fee_line_id.amount), (-20.0, 0.5)
        )
        total, lines = self.journal_total()
        expected = self.sim.balances()[self.code]
        self.assertEqual(self.currency.compare_amounts(total, float(expected)), 0, "books = PayPal")
        # 6 movements; fees on the two payments and the refund.
        self.assertEqual(len(lines), 6 + 3)
        self.assert_balanced(lines.move_id)
        accounts = self.paypal._gateway_accounts()
        fee_lines = lines.move_id.line_ids.filtered(lambda line: line.account_id == accounts["fee"])
        self.assertEqual(
            self.currency.compare_amounts(sum(fee_lines.mapped("balance")), 4.68 + 2.24 - 0.5), 0
        )
        transit = lines.move_id.line_ids.filtered(
            lambda line: line.account_id == accounts["transit"]
        )
        self.assertEqual(
            self.currency.compare_amounts(sum(transit.mapped("balance")), 100.0),
            0,
            "hold and release cancel out; the payout waits in transit",
        )
        settlement = self.env["finsync.settlement"].search([("backend_id", "=", self.paypal.id)])
        self.assertEqual(settlement.name, payout["transaction_info"]["transaction_id"])
        self.assertEqual((settlement.amount, settlement.state), (100.0, "in_transit"))
        self.assertEqual(settlement.transaction_count, 5, "what it swept")
        # Delivering everything again changes nothing.
        event.with_context(finsync_process_now=True).action_replay()
        self.assertEqual(self.journal_total()[1], lines)

    def test_webhooks_then_pull_meet_on_one_transaction(self):
        paid, _other, _refund, _payout = self._story()
        events = self.deliver(self.sim.capture_event(paid), event_type="webhook")
        self.assertEqual(events.state, "done", events.last_error)
        payment = self.transactions()
        self.assertEqual(
            (payment.amount, payment.fee_amount), (120.0, 4.68), "fee from the breakdown"
        )
        self.assertEqual(payment.state, "reconciled")
        self.deliver(self.page(*self.sim.transactions))
        self.assertEqual(len(self.transactions(external_id=payment.external_id)), 1)
        self.assertEqual(len(payment.statement_line_id | payment.gateway_fee_line_id), 2)
        total, lines = self.journal_total()
        self.assertEqual(
            self.currency.compare_amounts(total, float(self.sim.balances()[self.code])), 0
        )

    def test_out_of_order_deliveries_end_in_the_same_state(self):
        pending = self.sim.add_payment("75.00", self.code, status="P")
        refund_of = self.sim.add_payment("40.00", self.code)
        refund = self.sim.add_refund(refund_of)
        completed = json.loads(json.dumps(pending))
        completed["transaction_info"]["transaction_status"] = "S"
        documents = [
            self.sim.capture_event(pending, "PAYMENT.CAPTURE.PENDING", "WH-1"),
            self.sim.capture_event(completed, "PAYMENT.CAPTURE.COMPLETED", "WH-2"),
            self.sim.capture_event(refund_of, event_id="WH-3"),
            self.sim.refund_event(refund, event_id="WH-4"),
        ]
        self.deliver(*documents, event_type="webhook")
        in_order = {tx.external_id: (tx.state, tx.amount) for tx in self.transactions()}
        in_order_total = self.journal_total()[0]
        self.paypal = self.env["finsync.backend"].create(
            {"name": "PayPal 2", "backend_type": "paypal", "company_id": self.env.company.id}
        )
        shuffled = list(reversed(documents))
        random.Random(3).shuffle(shuffled)
        for document in shuffled:
            self.deliver(document, event_type="webhook")
        self.assertEqual(
            {tx.external_id: (tx.state, tx.amount) for tx in self.transactions()}, in_order
        )
        self.assertEqual(self.currency.compare_amounts(self.journal_total()[0], in_order_total), 0)
        self.assertEqual(in_order[pending["transaction_info"]["transaction_id"]], ("settled", 75.0))

    def test_every_tcode_family_lands_on_its_account(self):
        page = json.loads((DATA / "search_page_tcodes.json").read_text())
        [event] = self.deliver(page)
        self.assertEqual(event.state, "done", event.last_error)
        eur = self.env.ref("base.EUR")
        usd = self.env.ref("base.USD")
        journals = self.paypal.journal_ids
        self.assertEqual(
            set(journals.currency_id.mapped("name")) | {self.code}, {"EUR", "USD", self.code}
        )
        accounts = self.paypal._gateway_accounts()
        expected = {
            "FS1201CHARGEBACK": accounts["dispute"],
            "FS1106REVERSAL01": accounts["dispute"],
            "FS0400WITHDRAW01": accounts["transit"],
            "FS1503HOLD000001": accounts["transit"],
            "FS1501RELEASE001": accounts["transit"],
            "FS0200CONVERTEUR": accounts["transit"],
            "FS0200CONVERTUSD": accounts["transit"],
            "FS0100FEE0000001": accounts["fee"],
        }
        for tx_id, account in expected.items():
            with self.subTest(tx_id):
                tx = self.transactions(external_id=tx_id)
                line = tx.statement_line_id
                self.assertTrue(line, "booked")
                liquidity = line.journal_id.default_account_id
                counterpart = line.move_id.line_ids.filtered(
                    lambda ml, liquidity=liquidity: ml.account_id != liquidity
                )
                self.assertEqual(counterpart.account_id, account)
        self.assertEqual(
            self.transactions(
                external_id="FS0200CONVERTUSD"
            ).statement_line_id.journal_id.currency_id
            or self.env.company.currency_id,
            usd,
        )
        eur_total, eur_lines = self.journal_total(eur)
        # 250 - 9.22 fee - 50 + 1.75 - 200 - 10 - 1000 - 40 + 40 - 100 - 2.50
        self.assertEqual(eur.compare_amounts(eur_total, -1119.97), 0)
        self.assert_balanced(eur_lines.move_id)
        self.assertEqual(self.transactions(external_id="FS0400WITHDRAW01").state, "acknowledged")
