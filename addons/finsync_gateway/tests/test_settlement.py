from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import GatewayCommon


@tagged("post_install", "-at_install")
class TestGatewaySettlement(GatewayCommon):
    """Pairing, aging and overdue payouts, the same for every gateway.

    The connectors are generic ones: nothing here depends on Stripe or PayPal.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gateway = cls.env["finsync.backend"].create(
            {"name": "Gateway A", "backend_type": "generic", "company_id": cls.env.company.id}
        )
        cls.other_gateway = cls.env["finsync.backend"].create(
            {"name": "Gateway B", "backend_type": "generic", "company_id": cls.env.company.id}
        )
        cls.today = fields.Date.today()

    def _settlement(self, name, amount, expected=None, backend=None):
        return self.env["finsync.settlement"].create(
            {
                "name": name,
                "backend_id": (backend or self.gateway).id,
                "company_id": self.env.company.id,
                "currency_id": self.currency.id,
                "payout_date": (expected or self.today) - timedelta(days=2),
                "expected_date": expected or self.today,
                "amount": amount,
            }
        )

    def test_clearing_journal_is_created_once_and_flagged(self):
        journal = self.other_gateway._gateway_journal(self.currency)
        self.assertTrue(journal.finsync_gateway_clearing)
        self.assertEqual(journal.type, "bank")
        self.assertEqual(journal.code[:1], "G")
        self.assertEqual(self.other_gateway._gateway_journal(self.currency), journal)
        self.assertIn(journal, self.other_gateway.journal_ids)
        self.assertFalse(self.company_data["default_journal_bank"].finsync_gateway_clearing)

    def test_line_of_any_gateway_clearing_journal_never_pays_a_payout(self):
        """The PayPal engineer's report: a payment booked in another gateway's clearing
        journal, of the payout's amount, was taken for the payout's arrival."""
        settlement = self._settlement("PO-1", 300.0)
        clearing = self.other_gateway._gateway_journal(self.currency)
        payment = self.bank_line(300.0, self.today, "PAYMENT PO-1", journal=clearing)
        self.assertFalse(payment.finsync_settlement_ids)
        self.assertEqual(settlement.state, "in_transit")
        arrival = self.bank_line(300.0, self.today, "TRANSFER")
        self.assertEqual(settlement.bank_line_id, arrival)
        self.assertEqual(settlement.state, "paid")
        self.assertEqual(arrival.finsync_settlement_ids, settlement)

    def test_amount_date_and_label_decide(self):
        late = self._settlement("PO-LATE", 120.0)
        # Grace 3 days and 3 days of value dates: 7 days later is another payment.
        too_late = self.bank_line(120.0, self.today + timedelta(days=7), "TRANSFER")
        self.assertFalse(too_late.finsync_settlement_ids)
        self.assertFalse(self.bank_line(119.99, self.today, "TRANSFER").finsync_settlement_ids)
        first = self._settlement("PO-A", 50.0)
        second = self._settlement("PO-B", 50.0)
        ambiguous = self.bank_line(50.0, self.today, "TRANSFER")
        self.assertFalse(ambiguous.finsync_settlement_ids, "two equal payouts: no guess")
        named = self.bank_line(50.0, self.today, "transfer po-b")
        self.assertEqual(named.finsync_settlement_ids, second)
        self.assertEqual(first.state, "in_transit")
        self.assertEqual(late.state, "in_transit")

    def test_overdue_payout_opens_one_exception_with_its_aging(self):
        settlement = self._settlement("PO-OVERDUE", 75.5)
        with freeze_time(self.today + timedelta(days=3)):
            self.assertFalse(self.env["finsync.settlement"]._cron_check_in_transit())
        with freeze_time(self.today + timedelta(days=5)):
            overdue = self.env["finsync.settlement"]._cron_check_in_transit()
            self.env["finsync.settlement"]._cron_check_in_transit()
        self.assertEqual(overdue, settlement)
        self.assertEqual((settlement.days_late, settlement.aging_bucket), (5, "late_4_7"))
        exceptions = self.env["finsync.exception"].search(
            [("dedup_key", "=", f"unmatched:finsync.settlement:{settlement.id}")]
        )
        self.assertEqual(len(exceptions), 1, "the cron running again opens no second one")
        self.assertIn("PO-OVERDUE", exceptions.name)
        self.assertEqual(settlement.exception_count, 1)

    def test_payouts_are_read_only_for_users_and_kept_per_company(self):
        settlement = self._settlement("PO-SEC", 10.0)
        self.assertTrue(settlement.with_user(self.user_user).read(["amount"]))
        with self.assertRaises(AccessError):
            settlement.with_user(self.user_user).write({"bank_reference": "X"})
        other_company = self.setup_other_company()["company"]
        outsider = new_test_user(
            self.env,
            login="fs_gw_outsider",
            groups="base.group_user,finsync_base.group_finsync_manager",
            company_id=other_company.id,
            company_ids=[(6, 0, other_company.ids)],
        )
        self.assertFalse(
            self.env["finsync.settlement"].with_user(outsider).search([("id", "=", settlement.id)])
        )


@tagged("post_install", "-at_install")
class TestGatewayJournals(GatewayCommon):
    def test_many_connectors_in_one_company_each_get_their_own_journal(self):
        """A company with a dozen accounts of one gateway: every one opens its journal."""
        journals = self.env["account.journal"]
        for index in range(12):
            backend = self.env["finsync.backend"].create(
                {"name": f"Shop {index}", "backend_type": "generic"}
            )
            journals |= backend._gateway_journal(self.currency)
        self.assertEqual(len(journals), 12)
        codes = journals.mapped("code")
        self.assertEqual(len(set(codes)), 12)
        self.assertTrue(all(len(code) <= 5 for code in codes), codes)

    def test_a_transaction_form_shows_the_fee_line_and_payout_of_every_gateway(self):
        arch = self.env["finsync.transaction"].get_view(view_type="form")["arch"]
        self.assertIn('name="gateway_fee_line_id"', arch)
        self.assertIn('name="settlement_id"', arch)
