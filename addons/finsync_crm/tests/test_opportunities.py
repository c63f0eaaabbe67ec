from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .deals_common import WON, DealsCommon


@tagged("post_install", "-at_install")
class TestWonDeals(DealsCommon):
    def test_won_deal_becomes_exactly_one_draft_invoice(self):
        account, partner = self.bound_account()
        opp = self.opportunity(
            account, lines=[("FS-WIDGET", 3, 120.0, 10.0), ("FS-SUPPORT", 1, 450.0, None)]
        )
        self.pull()
        self.assertEqual(self.deal(opp).state, "open", "not at the billing stage yet")
        self.assertFalse(self.invoices(partner))
        self.win(opp)
        self.pull()
        deal = self.deal(opp)
        invoice = self.invoices(partner)
        self.assertEqual(len(invoice), 1)
        self.assertEqual((deal.state, deal.move_id), ("billed", invoice))
        self.assertEqual(invoice.state, "draft")
        self.assertEqual(invoice.currency_id, self.eur)
        self.assertEqual(invoice.invoice_payment_term_id, self.pay_terms_b)
        self.assertEqual(invoice.fiscal_position_id, self.fiscal_pos_a)
        self.assertEqual(invoice.invoice_origin, "Azure renewal")
        widget, support = invoice.invoice_line_ids.sorted("sequence")
        self.assertEqual(
            (widget.product_id, widget.quantity, widget.price_unit, widget.discount),
            (self.widget, 3.0, 120.0, 10.0),
        )
        self.assertEqual(widget.tax_ids, self.tax_sale_b, "the partner's fiscal position maps")
        self.assertEqual((support.product_id, support.price_unit), (self.support, 450.0))
        self.assertEqual(invoice.amount_untaxed, 774.0)
        self.assertEqual(self.salesforce.crm_last_opportunities, 1)
        # A second sync, and the opportunity read again (a new stamp, nothing billable
        # changed), change nothing.
        written = invoice.write_date
        self.pull()
        self.sim.update("Opportunity", opp["Id"], Description="Signed by the CFO")
        self.pull()
        self.assertEqual(self.invoices(partner), invoice)
        self.assertEqual(invoice.write_date, written)
        self.assertEqual(len(invoice.invoice_line_ids), 2)
        self.assertEqual(self.env["finsync.crm.deal"].search_count([("sf_id", "=", opp["Id"])]), 1)

    def test_unknown_product_opens_an_exception_and_creates_nothing(self):
        account, partner = self.bound_account()
        opp = self.opportunity(
            account, stage=WON, lines=[("FS-WIDGET", 1, 100.0, None), ("FS-NOPE", 2, 10.0, None)]
        )
        moves = self.env["account.move"].search_count([])
        self.pull()
        deal = self.deal(opp)
        self.assertEqual(deal.state, "exception")
        self.assertIn("FS-NOPE", deal.problem)
        self.assertEqual(self.env["account.move"].search_count([]), moves, "nothing half-created")
        [exc] = self.exceptions("crm_deal")
        self.assertEqual(exc.crm_deal_id, deal)
        # Someone creates the product: an accountant applies the deal again.
        self.env["product.product"].create({"name": "Nope", "default_code": "FS-NOPE"})
        with self.assertRaises(UserError):
            deal.with_user(self.user_user).action_crm_apply_again()
        self.assertFalse(deal.move_id)
        deal.with_user(self.accountant_user).action_crm_apply_again()
        self.assertEqual(deal.state, "billed")
        self.assertEqual(len(self.invoices(partner).invoice_line_ids), 2)

    def test_change_before_posting_updates_the_draft(self):
        account, partner = self.bound_account()
        opp = self.opportunity(account, stage=WON)
        self.pull()
        invoice = self.invoices(partner)
        [line_item] = [
            line
            for line in self.sim.records["OpportunityLineItem"].values()
            if line["OpportunityId"] == opp["Id"]
        ]
        self.sim.update("OpportunityLineItem", line_item["Id"], Quantity=5)
        self.sim.add_line_item(opp["Id"], "FS-SUPPORT", 1, 500.0)
        self.pull()
        self.assertEqual(self.invoices(partner), invoice, "the same draft")
        self.assertEqual(invoice.invoice_line_ids.sorted("sequence").mapped("quantity"), [5.0, 1.0])
        self.assertFalse(self.exceptions("crm_deal"))

    def test_changes_of_many_drafts_follow_together(self):
        """The drafts a page changes are updated in one batch, each exactly as alone."""
        account_a, partner_a = self.bound_account("Azure Interior")
        account_b, partner_b = self.bound_account("Deco Addict")
        opp_a = self.opportunity(account_a, name="Azure renewal", stage=WON)
        opp_b = self.opportunity(account_b, name="Deco renewal", stage=WON)
        self.pull()
        invoice_a, invoice_b = self.invoices(partner_a), self.invoices(partner_b)
        lines = {
            line["OpportunityId"]: line["Id"]
            for line in self.sim.records["OpportunityLineItem"].values()
        }
        self.sim.update("OpportunityLineItem", lines[opp_a["Id"]], Quantity=5)
        self.sim.add_line_item(opp_b["Id"], "FS-SUPPORT", 1, 500.0)
        partner_b.property_payment_term_id = self.pay_terms_a  # a header value changes too
        Deal = type(self.env["finsync.crm.deal"])
        with patch.object(
            Deal, "_crm_update_documents", autospec=True, side_effect=Deal._crm_update_documents
        ) as update:
            self.pull()
        self.assertEqual(update.call_count, 1, "one batch for the page")
        self.assertEqual(len(update.call_args.args[1]), 2)
        self.assertEqual(self.invoices(partner_a) | self.invoices(partner_b), invoice_a | invoice_b)
        self.assertEqual(invoice_a.invoice_line_ids.mapped("quantity"), [5.0])
        self.assertEqual(invoice_a.amount_untaxed, 540.0)  # 5 x 120 less 10 %
        self.assertEqual(invoice_a.invoice_payment_term_id, self.pay_terms_b, "unchanged")
        self.assertEqual(
            invoice_b.invoice_line_ids.sorted("sequence").mapped("product_id"),
            self.widget | self.support,
        )
        self.assertEqual(invoice_b.amount_untaxed, 824.0)
        self.assertEqual(invoice_b.invoice_payment_term_id, self.pay_terms_a)
        for invoice in invoice_a | invoice_b:
            # Taxes and payment terms follow the new lines: the entry balances to its total.
            self.assertEqual(invoice.state, "draft")
            self.assertTrue(invoice.line_ids.filtered(lambda line: line.display_type == "tax"))
            terms = invoice.line_ids.filtered(lambda line: line.display_type == "payment_term")
            self.assertAlmostEqual(sum(terms.mapped("amount_currency")), invoice.amount_total)
            self.assertAlmostEqual(sum(invoice.line_ids.mapped("balance")), 0.0)
        self.assertEqual((self.deal(opp_a).state, self.deal(opp_b).state), ("billed", "billed"))
        self.assertFalse(self.exceptions("crm_deal"))
        # Read again, nothing changes.
        written = invoice_b.write_date
        self.pull()
        self.assertEqual(invoice_b.write_date, written)

    def test_failed_batch_of_drafts_leaves_every_draft_whole(self):
        account_a, partner_a = self.bound_account("Azure Interior")
        account_b, partner_b = self.bound_account("Deco Addict")
        opp_a = self.opportunity(account_a, name="Azure renewal", stage=WON)
        opp_b = self.opportunity(account_b, name="Deco renewal", stage=WON)
        self.pull()
        invoices = self.invoices(partner_a) | self.invoices(partner_b)
        before = [(inv.amount_total, inv.invoice_line_ids.mapped("quantity")) for inv in invoices]
        for line in self.sim.records["OpportunityLineItem"].values():
            self.sim.update("OpportunityLineItem", line["Id"], Quantity=7)
        Line, Deal = type(self.env["account.move.line"]), type(self.env["finsync.crm.deal"])
        with (
            patch.object(Line, "create", side_effect=UserError("the database said no")),
            patch.object(
                Deal,
                "_crm_update_documents",
                autospec=True,
                side_effect=Deal._crm_update_documents,
            ) as update,
        ):
            self.pull()
        self.assertEqual(len(update.call_args_list[0].args[1]), 2, "the batch failed whole")
        invoices.invalidate_recordset()
        after = [(inv.amount_total, inv.invoice_line_ids.mapped("quantity")) for inv in invoices]
        self.assertEqual(after, before, "no draft lost its lines, none half-updated")
        self.assertEqual(self.deal(opp_a).move_id | self.deal(opp_b).move_id, invoices)

    def test_change_after_posting_opens_an_exception_and_leaves_the_invoice(self):
        account, partner = self.bound_account()
        opp = self.opportunity(account, stage=WON)
        self.pull()
        invoice = self.invoices(partner)
        invoice.action_post()
        total = invoice.amount_total
        [line_item] = [
            line
            for line in self.sim.records["OpportunityLineItem"].values()
            if line["OpportunityId"] == opp["Id"]
        ]
        self.sim.update("OpportunityLineItem", line_item["Id"], UnitPrice=999.0)
        self.pull()
        self.assertEqual(invoice.amount_total, total)
        self.assertEqual(self.invoices(partner), invoice)
        deal = self.deal(opp)
        self.assertEqual(deal.state, "exception")
        self.assertIn("posted", deal.problem)
        self.assertEqual(len(self.exceptions("crm_deal")), 1)

    def test_won_deal_waits_for_its_account(self):
        account = self.account("Not Yet Pulled")
        self.salesforce.crm_owner_contacts = "crm"
        opp = self.opportunity(account, stage=WON)
        # The account is a likely duplicate of an existing partner: not bound yet.
        self.env["res.partner"].create(
            {"name": "Not Yet Pulled", "is_company": True, "country_id": self.belgium.id}
        )
        self.pull()
        deal = self.deal(opp)
        self.assertEqual(deal.state, "waiting")
        self.assertFalse(deal.move_id)

    def test_people_cannot_write_deals(self):
        account, _partner = self.bound_account()
        opp = self.opportunity(account, stage=WON)
        self.pull()
        deal = self.deal(opp)
        for user in (self.user_user, self.manager_user):
            with self.assertRaises(AccessError):
                deal.with_user(user).with_context(finsync_crm_force=True).write(
                    {"state": "open", "move_id": False}
                )
        self.assertEqual(deal.state, "billed")
