from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from ..models.finsync_crm_writeback import CrmWriteback
from .deals_common import WON, DealsCommon

TARGET = "consumer:crm_writeback"


@tagged("post_install", "-at_install")
class TestWriteBack(DealsCommon):
    def setUp(self):
        super().setUp()
        self.Delivery = self.env["finsync.outbox.delivery"].sudo()
        # Deliveries of this test only: other addons' demo invoices, posted when they were
        # installed (Sales' among them), left theirs in the database.
        self.deliveries_before = self.Delivery.search([], order="id desc", limit=1).id or 0
        account, self.partner = self.bound_account()
        self.opp = self.opportunity(account, stage=WON)
        self.account_id = account["Id"]
        self.pull()
        self.invoice = self.invoices(self.partner)
        self.assertEqual(len(self.invoice), 1)
        # Paid in one go (the partner's terms have an advance installment).
        self.invoice.invoice_payment_term_id = self.pay_terms_a

    def deliveries(self):
        return self.Delivery.search(
            [("target_key", "=", TARGET), ("id", ">", self.deliveries_before)], order="id"
        )

    def deliver(self, rounds=1):
        for _round in range(rounds):
            self.deliveries().filtered(lambda d: d.state == "retrying").write(
                {"next_attempt_at": fields.Datetime.now() - timedelta(seconds=1)}
            )
            self.Delivery._deliver_round(TARGET)

    def patches(self, sobject="Opportunity"):
        return [body for name, _id, body in self.sim.patches if name == sobject]

    def pay(self):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=self.invoice.ids
        ).create({})._create_payments()
        self.env.flush_all()
        self.env.cr.precommit.run()

    def test_posted_then_paid_reach_the_opportunity_and_the_account(self):
        self.invoice.action_post()
        self.deliver()
        self.assertEqual(
            self.patches(),
            [
                {
                    "FinSync_Invoice_Number__c": self.invoice.name,
                    "FinSync_Payment_Status__c": "posted",
                    "FinSync_Amount_Paid__c": 0.0,
                    "FinSync_Paid_Date__c": None,
                }
            ],
        )
        self.assertEqual(self.patches("Account"), self.patches())
        self.pay()
        self.deliver()
        paid = self.patches()[-1]
        self.assertEqual(paid["FinSync_Payment_Status__c"], "paid")
        self.assertEqual(paid["FinSync_Amount_Paid__c"], self.invoice.amount_total)
        self.assertEqual(paid["FinSync_Paid_Date__c"], fields.Date.to_string(fields.Date.today()))
        record = self.sim.records["Opportunity"][self.opp["Id"]]
        self.assertEqual(record["FinSync_Payment_Status__c"], "paid")
        self.assertEqual(self.deal(self.opp).wb_status, "paid")
        self.assertEqual(len(self.patches()), 2)
        # The PATCH moved the opportunity's stamp: pulled again, the invoice is left alone.
        self.pull()
        self.assertEqual(self.deal(self.opp).state, "billed")
        self.assertFalse(self.exceptions("crm_deal"))

    def test_write_back_failing_three_times_then_succeeding_is_applied_once(self):
        self.sim.fail_next(3, status=500, path_part="/composite")
        self.invoice.action_post()
        delivery = self.deliveries()
        self.assertEqual(len(delivery), 1)
        self.deliver(rounds=6)
        self.assertEqual(delivery.state, "delivered")
        self.assertEqual(delivery.attempt_count, 4)
        self.assertEqual(len(self.patches()), 1, "applied once")
        self.assertEqual(len(self.patches("Account")), 1)
        composite_calls = [p for m, p, _q in self.sim.requests if p.endswith("/composite")]
        self.assertEqual(len(composite_calls), 4, "each failure retried by the outbox")

    def test_older_state_never_overwrites_a_newer_one(self):
        self.invoice.action_post()
        self.pay()
        posted, paid = self.deliveries()
        self.assertEqual(
            (posted.event_id.event_type, paid.event_id.event_type),
            ("invoice.posted", "invoice.paid"),
        )
        consumer = CrmWriteback(self.env(su=True))
        consumer.deliver(paid.event_id, paid)  # delivered out of order
        consumer.deliver(posted.event_id, posted)
        consumer.deliver(paid.event_id, paid)  # and again
        self.assertEqual([p["FinSync_Payment_Status__c"] for p in self.patches()], ["paid"])
        record = self.sim.records["Opportunity"][self.opp["Id"]]
        self.assertEqual(record["FinSync_Payment_Status__c"], "paid")

    def test_overdue_is_emitted_once_by_the_daily_cron_and_written_back(self):
        self.invoice.write(
            {
                "invoice_date": fields.Date.today() - timedelta(days=60),
                "invoice_payment_term_id": self.pay_terms_a.id,
            }
        )
        self.invoice.action_post()
        self.deliver()
        Deal = self.env["finsync.crm.deal"]
        events = Deal._cron_crm_overdue()
        self.assertEqual(len(events), 1)
        self.assertFalse(Deal._cron_crm_overdue(), "emitted once")
        self.deliver()
        self.assertEqual(
            [p["FinSync_Payment_Status__c"] for p in self.patches()], ["posted", "overdue"]
        )

    def test_custom_field_names_come_from_the_connector(self):
        self.salesforce.write({"crm_wb_status_field": "Billing_Status__c", "crm_wb_date_field": ""})
        self.invoice.action_post()
        self.deliver()
        [body] = self.patches()
        self.assertEqual(body["Billing_Status__c"], "posted")
        self.assertNotIn("FinSync_Paid_Date__c", body)
