from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import PayPalCommon


@tagged("post_install", "-at_install")
class TestPayPalSettlement(PayPalCommon):
    def setUp(self):
        super().setUp()
        self.sim = self.start_simulator()

    def _payout(self, amount="300.00"):
        self.sim.add_payment("500.00", self.code, invoice="NOBODY")
        withdrawal = self.sim.add_withdrawal(amount, self.code)
        self.deliver(self.page(*self.sim.transactions))
        return self.env["finsync.settlement"].search(
            [("name", "=", withdrawal["transaction_info"]["transaction_id"])]
        )

    def test_bank_line_of_the_payout_reconciles_it_through_transit(self):
        settlement = self._payout()
        self.assertEqual((settlement.state, settlement.amount), ("in_transit", 300.0))
        self.assertEqual(settlement.transaction_count, 1)
        self.assertEqual(settlement.net_amount, 500.0 - 17.94)
        other = self.bank_line(299.0, settlement.payout_date, "PAYPAL")
        self.assertFalse(other.finsync_settlement_ids, "another amount is not the payout")
        line = self.bank_line(300.0, settlement.expected_date, "PAYPAL TRANSFER")
        self.assertEqual(settlement.bank_line_id, line)
        self.assertEqual(settlement.state, "reconciled")
        transit = self.paypal._gateway_accounts()["transit"]
        items = (line.move_id | settlement.payout_transaction_id.statement_line_id.move_id).line_ids
        pair = items.filtered(lambda ml: ml.account_id == transit)
        self.assertEqual(len(pair), 2)
        self.assertTrue(all(pair.mapped("reconciled")))
        self.assertTrue(self.currency.is_zero(sum(pair.mapped("balance"))))
        self.assert_balanced(line.move_id)
        # The same amount again is not paid twice.
        again = self.bank_line(300.0, settlement.expected_date, "PAYPAL TRANSFER")
        self.assertFalse(again.finsync_settlement_ids)

    def test_payout_that_never_arrives_opens_an_exception(self):
        settlement = self._payout()
        with freeze_time(settlement.payout_date.replace(day=1).replace(month=12, year=2026)):
            overdue = self.env["finsync.settlement"]._cron_check_in_transit()
        self.assertIn(settlement, overdue)
        exception = self.env["finsync.exception"].search(
            [("dedup_key", "=", f"unmatched:finsync.settlement:{settlement.id}")]
        )
        self.assertEqual(exception.exception_type, "unmatched")
        self.assertIn(settlement.name, exception.name)
        self.assertEqual(settlement.aging_bucket, "late_30")
        self.bank_line(300.0, settlement.expected_date, "PAYPAL TRANSFER")
        self.assertFalse(exception.is_open, "the bank line closes it")

    def test_returned_payout_fails_its_settlement(self):
        settlement = self._payout()
        back = {
            "transaction_info": {
                "transaction_id": "RETURNED-1",
                "paypal_reference_id": settlement.name,
                "paypal_reference_id_type": "TXN",
                "transaction_event_code": "T0400",
                "transaction_initiation_date": "2026-01-09T00:00:00+0000",
                "transaction_amount": {"currency_code": self.code, "value": "300.00"},
                "transaction_status": "S",
            }
        }
        self.deliver(self.page(back))
        self.assertEqual(settlement.state, "failed")
        total, _lines = self.journal_total()
        self.assertEqual(self.currency.compare_amounts(total, 500.0 - 17.94), 0, "money back")


@tagged("post_install", "-at_install")
class TestPayPalSecurity(PayPalCommon):
    def test_payouts_are_read_by_users_and_kept_per_company(self):
        sim = self.start_simulator()
        sim.add_withdrawal("10.00", self.code)
        self.deliver(self.page(*sim.transactions))
        settlement = self.env["finsync.settlement"].search([("backend_id", "=", self.paypal.id)])
        self.assertTrue(settlement.with_user(self.user_user).read(["amount"]))
        with self.assertRaises(AccessError):
            settlement.with_user(self.user_user).write({"bank_reference": "X"})
        other_company = self.setup_other_company()["company"]
        outsider = new_test_user(
            self.env,
            login="fs_pp_outsider",
            groups="base.group_user,finsync_base.group_finsync_manager",
            company_id=other_company.id,
            company_ids=[(6, 0, other_company.ids)],
        )
        self.assertFalse(
            self.env["finsync.settlement"].with_user(outsider).search([("id", "=", settlement.id)])
        )

    def test_credentials_are_for_administrators_only(self):
        for user in (self.user_user, self.accountant_user, self.manager_user):
            with self.assertRaises(AccessError):
                self.paypal.with_user(user).read(["client_secret"])
            with self.assertRaises(AccessError):
                self.paypal.with_user(user).read(["webhook_secret"])
        technical = self.env.ref("finsync_paypal.user_finsync_paypal")
        self.assertFalse(technical.has_group("base.group_system"))
        self.assertFalse(technical.has_group("finsync_base.group_finsync_manager"))
        self.assertFalse(technical.has_group("finsync_base.group_finsync_accountant"))
        self.assertTrue(technical.has_group("finsync_base.group_finsync_connector"))

    def test_only_accountants_import_reports(self):
        with self.assertRaises(AccessError):
            self.env["finsync.paypal.import"].with_user(self.user_user).create(
                {"backend_id": self.paypal.id, "data_file": b"eA=="}
            )
        wizard = (
            self.env["finsync.paypal.import"]
            .with_user(self.accountant_user)
            .create({"backend_id": self.paypal.id, "data_file": b"eA==", "filename": "x.csv"})
        )
        wizard.action_preview()
        self.assertEqual(wizard.state, "error")
