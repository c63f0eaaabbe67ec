from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.finsync_base.models.invoice_bulk import FinsyncInvoiceBulk
from odoo.addons.finsync_base.tests.invoice_snapshot import InvoiceSnapshotMixin

from .deals_common import WON, DealsCommon


@tagged("post_install", "-at_install")
class TestWonDealsSetBased(InvoiceSnapshotMixin, DealsCommon):
    """Won deals in the company's currency become drafts written set-based, the
    same invoices ``account.move.create`` makes of the same deals."""

    def _spy(self):
        inserted = []
        original = FinsyncInvoiceBulk._insert_invoices

        def spy(bulk, vals_list, batch):
            inserted.extend(vals_list)
            return original(bulk, vals_list, batch)

        return inserted, patch.object(FinsyncInvoiceBulk, "_insert_invoices", spy)

    def test_won_deals_become_set_based_drafts_equal_to_the_orm(self):
        account, partner = self.bound_account()
        partner.property_payment_term_id = self.pay_terms_a  # one instalment
        code = self.env.company.currency_id.name
        opps = [
            self.opportunity(
                account,
                name="Renewal",
                stage=WON,
                CurrencyIsoCode=code,
                lines=[("FS-WIDGET", 3, 120.0, 10.0), ("FS-SUPPORT", 1, 450.0, None)],
            ),
            self.opportunity(
                account,
                name="Upsell",
                stage=WON,
                CurrencyIsoCode=code,
                lines=[("FS-WIDGET", 1, 99.99, None)],
            ),
        ]
        inserted, spy = self._spy()
        with spy:
            self.pull()
        deals = [self.deal(opp) for opp in opps]
        self.assertEqual([deal.state for deal in deals], ["billed", "billed"])
        self.assertEqual(len(inserted), 2, "both drafts written set-based")
        fast = deals[0].move_id | deals[1].move_id
        # The same deals' values through Odoo's create, one invoice at a time.
        context = deals[0]._crm_context()
        vals_list = [deal._crm_document_vals(partner, context) for deal in deals]
        Move = self.env["account.move"].sudo().with_context(default_move_type="out_invoice")
        orm = Move.union(*(Move.create([vals]) for vals in vals_list))
        self._assert_same(orm, fast)
        self.assertEqual(fast[0].fiscal_position_id, self.fiscal_pos_a)
        self.assertEqual(fast[0].invoice_line_ids[0].tax_ids, self.tax_sale_b)
        # The set-based draft follows a change before posting as any draft does.
        [widget] = [
            line
            for line in self.sim.records["OpportunityLineItem"].values()
            if line["OpportunityId"] == opps[1]["Id"]
        ]
        self.sim.update("OpportunityLineItem", widget["Id"], Quantity=4)
        self.pull()
        self.assertEqual(fast[1].invoice_line_ids.quantity, 4.0)
        self.assertEqual(fast[1].amount_untaxed, 399.96)
        self.assertEqual(fast[1].amount_total, fast[1].amount_untaxed + fast[1].amount_tax)
        fast.invoice_date = "2026-01-15"
        fast.action_post()
        self.assertEqual(fast.mapped("state"), ["posted", "posted"])
        self.assertEqual(fast[0].amount_total, orm[0].amount_total)
