from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from odoo.addons.finsync_crm.tests.deals_common import WON, DealsCommon

TARGET = "consumer:crm_writeback"


@tagged("post_install", "-at_install")
class TestSaleOrders(DealsCommon):
    """With Sales: a won deal is one confirmed sale order; its invoices are written back."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesforce.crm_billing_document = "sale_order"
        cls.eur_pricelist = cls.env["product.pricelist"].create(
            {
                "name": "Euro",
                "currency_id": cls.eur.id,
                "company_id": cls.env.company.id,
                "sequence": 1,
            }
        )

    def orders(self, partner):
        return self.env["sale.order"].search([("partner_id", "=", partner.id)])

    def line_item(self, opp, code="FS-WIDGET"):
        [line] = [
            line
            for line in self.sim.records["OpportunityLineItem"].values()
            if line["OpportunityId"] == opp["Id"] and line["ProductCode"] == code
        ]
        return line

    def won_order(self):
        account, partner = self.bound_account()
        opp = self.opportunity(
            account,
            stage=WON,
            lines=[("FS-WIDGET", 3, 120.0, 10.0), ("FS-SUPPORT", 1, 500.0, None)],
        )
        self.pull()
        return opp, partner, self.orders(partner)

    def test_won_deal_becomes_one_confirmed_sale_order(self):
        opp, partner, order = self.won_order()
        self.assertEqual(len(order), 1)
        self.assertEqual(order.state, "sale")
        self.assertEqual(order.currency_id, self.eur)
        self.assertEqual(order.pricelist_id, self.eur_pricelist)
        self.assertEqual(order.payment_term_id, self.pay_terms_b)
        self.assertEqual(order.fiscal_position_id, self.fiscal_pos_a)
        self.assertEqual(order.origin, opp["Name"])
        lines = order.order_line.sorted("sequence")
        self.assertEqual(lines.product_id, self.widget | self.support)
        self.assertEqual(
            [(line.product_uom_qty, line.price_unit, line.discount) for line in lines],
            [(3.0, 120.0, 10.0), (1.0, 500.0, 0.0)],
        )
        self.assertEqual(lines[0].tax_id, self.fiscal_pos_a.map_tax(self.tax_sale_a))
        self.assertFalse(self.invoices(partner), "no draft invoice besides the order")
        deal = self.deal(opp)
        self.assertEqual((deal.sale_order_id, deal.state), (order, "billed"))
        self.assertFalse(deal.move_id)
        # Read again (the opportunity's stamp moved, nothing billable changed): nothing changes.
        line_ids = order.order_line.ids
        self.sim.update("Opportunity", opp["Id"], Description="Signed")
        self.pull()
        self.assertEqual(self.orders(partner), order)
        self.assertEqual(order.order_line.ids, line_ids)
        self.assertEqual(deal.state, "billed")
        self.assertFalse(self.exceptions("crm_deal"))

    def test_unknown_product_creates_nothing(self):
        account, partner = self.bound_account()
        opp = self.opportunity(
            account, stage=WON, lines=[("FS-WIDGET", 1, 80.0, None), ("FS-NOPE", 1, 10.0, None)]
        )
        self.pull()
        self.assertFalse(self.orders(partner))
        self.assertFalse(self.invoices(partner))
        deal = self.deal(opp)
        self.assertEqual(deal.state, "exception")
        self.assertIn("FS-NOPE", deal.problem)
        self.assertEqual(self.exceptions("crm_deal").crm_deal_id, deal)

    def test_currency_without_pricelist_creates_nothing(self):
        self.env["product.pricelist"].search([("currency_id", "=", self.eur.id)]).action_archive()
        account, partner = self.bound_account()
        opp = self.opportunity(account, stage=WON)
        self.pull()
        self.assertFalse(self.orders(partner))
        self.assertIn("no pricelist in EUR", self.deal(opp).problem)

    def test_change_after_confirmation_opens_an_exception_and_leaves_the_order(self):
        opp, partner, order = self.won_order()
        total = order.amount_total
        self.sim.update("OpportunityLineItem", self.line_item(opp)["Id"], UnitPrice=999.0)
        self.pull()
        self.assertEqual(self.orders(partner), order)
        self.assertEqual(order.amount_total, total)
        deal = self.deal(opp)
        self.assertEqual(deal.state, "exception")
        self.assertIn(order.name, deal.problem)
        self.assertEqual(len(self.exceptions("crm_deal")), 1)

    def test_change_while_a_quotation_updates_it(self):
        opp, partner, order = self.won_order()
        order.with_context(disable_cancel_warning=True).action_cancel()
        order.action_draft()
        self.sim.update("OpportunityLineItem", self.line_item(opp)["Id"], Quantity=5)
        self.pull()
        self.assertEqual(self.orders(partner), order, "the same quotation")
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.order_line.sorted("sequence").mapped("product_uom_qty"), [5.0, 1.0])
        self.assertEqual(self.deal(opp).state, "billed")
        self.assertFalse(self.exceptions("crm_deal"))

    def test_invoice_path_still_there_when_chosen(self):
        self.salesforce.crm_billing_document = "invoice"
        account, partner = self.bound_account()
        opp = self.opportunity(account, stage=WON)
        self.pull()
        self.assertFalse(self.orders(partner))
        invoice = self.invoices(partner)
        self.assertEqual((invoice.state, self.deal(opp).move_id), ("draft", invoice))
        # Switched to sale orders later, the billed deal keeps its invoice.
        self.salesforce.crm_billing_document = "sale_order"
        self.sim.update("OpportunityLineItem", self.line_item(opp)["Id"], Quantity=2)
        self.pull()
        self.assertFalse(self.orders(partner))
        self.assertEqual(invoice.invoice_line_ids.quantity, 2.0)

    def test_invoice_of_the_order_posted_and_paid_is_written_back(self):
        opp, _partner, order = self.won_order()
        invoice = order._create_invoices()
        invoice.invoice_payment_term_id = self.pay_terms_a  # paid in one go
        invoice.action_post()
        self.deliver()
        [posted] = self.patches()
        self.assertEqual(posted["FinSync_Invoice_Number__c"], invoice.name)
        self.assertEqual(posted["FinSync_Payment_Status__c"], "posted")
        self.assertEqual(self.patches("Account"), self.patches())
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({})._create_payments()
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.deliver()
        paid = self.patches()[-1]
        self.assertEqual(paid["FinSync_Payment_Status__c"], "paid")
        self.assertEqual(paid["FinSync_Amount_Paid__c"], invoice.amount_total)
        record = self.sim.records["Opportunity"][opp["Id"]]
        self.assertEqual(record["FinSync_Invoice_Number__c"], invoice.name)
        self.assertEqual(self.deal(opp).wb_status, "paid")

    def test_overdue_invoice_of_the_order_is_emitted_once(self):
        _opp, _partner, order = self.won_order()
        invoice = order._create_invoices()
        invoice.write(
            {
                "invoice_date": fields.Date.today() - timedelta(days=60),
                "invoice_payment_term_id": self.pay_terms_a.id,
            }
        )
        invoice.action_post()
        self.deliver()
        Deal = self.env["finsync.crm.deal"]
        self.assertEqual(Deal._cron_crm_overdue().res_id, invoice.id)
        self.assertFalse(Deal._cron_crm_overdue(), "emitted once")
        self.deliver()
        self.assertEqual(
            [p["FinSync_Payment_Status__c"] for p in self.patches()], ["posted", "overdue"]
        )

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def deliver(self):
        Delivery = self.env["finsync.outbox.delivery"].sudo()
        Delivery.search([("target_key", "=", TARGET), ("state", "=", "retrying")]).write(
            {"next_attempt_at": fields.Datetime.now() - timedelta(seconds=1)}
        )
        Delivery._deliver_round(TARGET)

    def patches(self, sobject="Opportunity"):
        return [body for name, _id, body in self.sim.patches if name == sobject]
