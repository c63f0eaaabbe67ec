import datetime
import random

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from odoo.addons.finsync_testing.tools.stripe_simulator import StripeSimulator

from .common import API_KEY, StripeCommon


@tagged("post_install", "-at_install")
class TestStripeAccounting(StripeCommon):
    def setUp(self):
        super().setUp()
        self.sim = StripeSimulator(api_key=API_KEY)
        self.invoice = self.init_invoice("out_invoice", amounts=[120.0], taxes=[], post=True)

    def _story(self):
        """Two charges (one for the invoice), a refund, a dispute won, a payout."""
        paid = self.sim.add_charge(12000, self.code, invoice=self.invoice.name)
        other = self.sim.add_charge(5000, self.code, invoice="NO-SUCH-INVOICE")
        self.sim.add_refund(other["id"], 2000)
        self.sim.add_dispute(other["id"], won=True)
        payout = self.sim.add_payout(self.code)
        return paid, other, payout

    def _pull_page(self, **query):
        query = {key: [value] for key, value in query.items()}
        return self.sim._list({"limit": ["100"], "expand[]": ["data.source"], **query})

    def test_webhooks_then_pull_book_every_movement_once(self):
        paid, other, payout = self._story()
        events = self.deliver(*self.sim.events())
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("last_error"))
        charge = self.transactions(external_id=paid["id"])
        self.assertEqual((charge.kind, charge.amount), ("charge", 120.0))
        self.assertEqual(charge.state, "reconciled", "matched to its invoice by reference")
        self.assertIn(self.invoice.payment_state, ("paid", "in_payment"))
        self.assertFalse(charge.gateway_fee_line_id, "webhooks do not tell the fee")
        # The pull brings the fees; everything else is already booked.
        self.deliver(self._pull_page(), event_type="balance_transactions")
        self.assertEqual(charge.fee_amount, 3.78)
        self.assertEqual(charge.gateway_fee_line_id.amount, -3.78)
        total, lines = self.journal_total()
        net_of_balance = sum(bt["net"] for bt in self.sim.balance_transactions) / 100
        self.assertEqual(self.currency.compare_amounts(total, net_of_balance), 0)
        self.assertEqual(self.currency.compare_amounts(total, 0.0), 0, "all paid out")
        kinds = {tx.external_id: tx.kind for tx in self.transactions()}
        self.assertEqual(
            sorted(kinds.values()),
            ["charge", "charge", "dispute", "dispute", "payout", "refund"],
        )
        refund = self.transactions(kind="refund")
        self.assertEqual(refund.reversed_transaction_id.external_id, other["id"])
        self.assertEqual(refund.statement_line_id.amount, -20.0)
        self.assertEqual(len(lines), 6 + 3, "six movements and three fees (two charges, dispute)")
        self.assert_balanced(lines.move_id)
        fee_account = self.stripe._gateway_accounts()["fee"]
        fee_lines = lines.move_id.line_ids.filtered(lambda line: line.account_id == fee_account)
        expected_fees = sum(bt["fee"] for bt in self.sim.balance_transactions) / 100
        self.assertEqual(
            self.currency.compare_amounts(sum(fee_lines.mapped("balance")), expected_fees), 0
        )
        # Delivering everything again changes nothing.
        for event in events:
            event.with_context(finsync_process_now=True).action_replay()
        self.assertEqual(self.journal_total()[1], lines)

    def test_out_of_order_deliveries_end_in_the_same_state(self):
        self._story()
        payout = self.sim.pay_payout(self.sim.events()[-1]["data"]["object"]["id"])
        events = self.sim.events()
        self.deliver(*events)
        in_order = {tx.external_id: (tx.state, tx.amount) for tx in self.transactions()}
        in_order_total = self.journal_total()[0]
        shuffled = self.env["finsync.backend"].create(
            {"name": "Stripe 2", "backend_type": "stripe", "company_id": self.env.company.id}
        )
        self.stripe = shuffled
        randomised = list(reversed(events))
        random.Random(7).shuffle(randomised)
        self.deliver(*randomised)
        out_of_order = {tx.external_id: (tx.state, tx.amount) for tx in self.transactions()}
        # The invoice is paid by the first backend's charge; the replay cannot match it again.
        in_order.pop(events[0]["data"]["object"]["id"])
        out_of_order.pop(events[0]["data"]["object"]["id"])
        self.assertEqual(out_of_order, in_order)
        self.assertEqual(self.transactions(external_id=payout["id"]).state, "settled")
        self.assertEqual(self.currency.compare_amounts(self.journal_total()[0], in_order_total), 0)

    def test_each_currency_gets_its_journal_once(self):
        eur = self.env.ref("base.EUR")
        if eur == self.currency:
            eur = self.env.ref("base.CHF")
        self.sim.add_charge(1000, eur.name.lower())
        self.sim.add_charge(2000, eur.name.lower())
        self.deliver(*self.sim.events())
        journals = self.stripe.journal_ids.filtered(lambda j: j.currency_id == eur)
        self.assertEqual(len(journals), 1)
        self.assertEqual(journals.type, "bank")
        self.assertEqual(self.journal_total(eur)[0], 30.0)
        self.sim.add_charge(500, self.code)
        self.deliver(*self.sim.events()[2:])
        self.assertEqual(len(self.stripe.journal_ids), 2, "one journal per currency")

    def test_payout_settles_with_the_bank_line_of_its_amount(self):
        _paid, _other, payout = self._story()
        self.deliver(*self.sim.events())
        settlement = self.env["finsync.settlement"].search([("name", "=", payout["id"])])
        self.assertEqual(settlement.state, "in_transit")
        settlement._link_page(self._pull_page(payout=payout["id"]))
        self.assertFalse(settlement._check_totals(), "its transactions add up")
        self.assertEqual(settlement.transaction_count, 5)
        self.assertEqual(settlement.amount, payout["amount"] / 100)
        self.assertEqual(settlement.gross_amount, 120.0 + 50.0 - 20.0 - 50.0 + 50.0)
        self.assertEqual(settlement.net_amount, settlement.amount)
        bank = self.company_data["default_journal_bank"]
        line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": bank.id,
                "date": settlement.expected_date,
                "payment_ref": f"STRIPE PAYOUT {payout['id']}",
                "amount": settlement.amount,
            }
        )
        self.env["finsync.matching"]._match_statement_lines(line)
        self.assertEqual(settlement.state, "reconciled")
        self.assertEqual(settlement.bank_line_id, line)
        transit = self.stripe._gateway_accounts()["transit"]
        transit_lines = (
            line.move_id | settlement.payout_transaction_id.statement_line_id.move_id
        ).line_ids.filtered(lambda ml: ml.account_id == transit)
        self.assertEqual(len(transit_lines), 2)
        self.assertTrue(all(transit_lines.mapped("reconciled")))
        self.assert_balanced(line.move_id)

    def test_failed_payout_returns_to_the_balance(self):
        self.sim.add_charge(10000, self.code)
        payout = self.sim.add_payout(self.code)
        failed = dict(self.sim.events()[-1], id="evt_failed")
        failed["type"] = "payout.failed"
        failed["data"] = {"object": dict(payout, status="failed")}
        self.deliver(*self.sim.events(), failed)
        tx = self.transactions(external_id=payout["id"])
        self.assertEqual(tx.state, "rejected")
        back = self.transactions(external_id=f"{payout['id']}:failed")
        self.assertEqual((back.amount, back.reversed_transaction_id), (payout["amount"] / 100, tx))
        self.assertEqual(self.journal_total()[0], 100.0, "the charge is back in the balance")
        settlement = self.env["finsync.settlement"].search([("name", "=", payout["id"])])
        self.assertEqual(settlement.state, "failed")
        self.deliver(failed)
        self.assertEqual(self.journal_total()[0], 100.0, "a repeated delivery books nothing")

    def test_transactions_that_do_not_add_up_open_an_exception(self):
        charge = self.sim.add_charge(10000, self.code)
        payout = self.sim.add_payout(self.code)
        self.deliver(*self.sim.events())
        settlement = self.env["finsync.settlement"].search([("name", "=", payout["id"])])
        page = self._pull_page(payout=payout["id"])
        page["data"][0]["fee"] += 10  # Stripe says 10 cents more fee than it kept
        page["data"][0]["net"] -= 10
        settlement._link_page(page)
        wrong = settlement._check_totals()
        self.assertEqual(wrong, settlement)
        self.assertEqual(settlement.difference, 0.1)
        exception = self.env["finsync.exception"].search(
            [("dedup_key", "=", f"amount_mismatch:finsync.settlement:{settlement.id}")]
        )
        self.assertEqual(len(exception), 1)
        self.assertIn(payout["id"], exception.name)
        self.assertIn(charge["id"], exception.transaction_ids.mapped("external_id"))

    def test_late_payout_opens_an_exception_closed_by_its_bank_line(self):
        self.sim.add_charge(10000, self.code)
        payout = self.sim.add_payout(self.code)
        self.deliver(*self.sim.events())
        settlement = self.env["finsync.settlement"].search([("name", "=", payout["id"])])
        today = datetime.date.today()
        settlement.expected_date = today - datetime.timedelta(days=10)
        overdue = self.env["finsync.settlement"]._cron_check_in_transit()
        self.assertIn(settlement, overdue)
        self.assertEqual(settlement.aging_bucket, "late_8_30")
        self.assertEqual(settlement.exception_count, 1)
        line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.company_data["default_journal_bank"].id,
                "date": settlement.expected_date,
                "payment_ref": "STRIPE",
                "amount": settlement.amount,
            }
        )
        self.env["finsync.matching"]._match_statement_lines(line)
        self.assertEqual(settlement.state, "reconciled")
        self.assertEqual(settlement.exception_count, 0)

    def test_sales_without_invoices_are_booked_to_their_account_not_matched(self):
        sales = self.env["account.account"].search(
            [("company_ids", "in", self.env.company.id), ("account_type", "=", "income")],
            limit=1,
        )
        self.stripe.gateway_sales_account_id = sales
        sale = self.sim.add_charge(5000, self.code)
        self.sim.add_refund(sale["id"], 1500)
        events = self.deliver(*self.sim.events())
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("last_error"))
        charge = self.transactions(external_id=sale["id"])
        refund = self.transactions(kind="refund")
        for tx, amount in ((charge, 50.0), (refund, -15.0)):
            income = tx.statement_line_id.move_id.line_ids.filtered(
                lambda line: line.account_id == sales
            )
            self.assertEqual(self.currency.compare_amounts(-income.balance, amount), 0)
        self.assert_balanced((charge | refund).statement_line_id.move_id)
        self.assertFalse(
            self.env["finsync.exception"].search(
                [("transaction_ids", "in", (charge | refund).ids)]
            ),
            "no invoice to look for: no unmatched exception",
        )
        # Without the account, the same charge would wait for its invoice.
        self.stripe.gateway_sales_account_id = False
        other = self.sim.add_charge(2500, self.code)
        self.deliver(self.sim.events()[-1])
        waiting = self.transactions(external_id=other["id"])
        self.assertTrue(
            self.env["finsync.exception"].search([("transaction_ids", "in", waiting.ids)])
        )


@tagged("post_install", "-at_install")
class TestStripeSettlementAccess(StripeCommon):
    def test_users_read_accountants_book_other_companies_see_nothing(self):
        sim = StripeSimulator(api_key=API_KEY)
        sim.add_charge(10000, self.code)
        payout = sim.add_payout(self.code)
        self.deliver(*sim.events())
        Settlement = self.env["finsync.settlement"]
        settlement = Settlement.search([("name", "=", payout["id"])])
        self.assertEqual(Settlement.with_user(self.user_user).search([]), settlement)
        with self.assertRaises(AccessError):
            settlement.with_user(self.user_user).write({"state": "paid"})
        other = self.setup_other_company()["company"]
        stranger = new_test_user(
            self.env,
            login="fs_other_accountant",
            groups="base.group_user,finsync_base.group_finsync_accountant",
            company_id=other.id,
            company_ids=[(6, 0, other.ids)],
        )
        self.assertFalse(Settlement.with_user(stranger).search([]))
        self.assertFalse(
            self.env["finsync.transaction"]
            .with_user(stranger)
            .search([("backend_id", "=", self.stripe.id)])
        )
