from odoo import api, fields, models


class FinsyncBackend(models.Model):
    """Won deals and the write-back of invoice states, on Salesforce connectors."""

    _inherit = "finsync.backend"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    crm_won_stage = fields.Char(
        string="Billing Stage",
        default="Closed Won",
        help="An opportunity reaching this stage (StageName) becomes a sale order, or a "
        "draft customer invoice when Sales is not installed.",
    )
    crm_billing_document = fields.Selection(
        [("invoice", "Draft Invoice")],
        string="Billing Document",
        default="invoice",
        required=True,
        help="What a won opportunity becomes (Sales adds: a sale order).",
    )
    crm_currency_field = fields.Char(
        string="Currency Field",
        help="CurrencyIsoCode in orgs with multiple currencies; empty: the company's currency.",
    )
    crm_writeback = fields.Boolean(
        string="Write Invoice States Back",
        default=True,
        help="Invoice posted, paid or overdue: the opportunity and its account are updated "
        "in Salesforce through the outbox.",
    )
    crm_wb_number_field = fields.Char(
        string="Invoice Number Field", default="FinSync_Invoice_Number__c"
    )
    crm_wb_status_field = fields.Char(
        string="Payment Status Field", default="FinSync_Payment_Status__c"
    )
    crm_wb_amount_field = fields.Char(string="Amount Paid Field", default="FinSync_Amount_Paid__c")
    crm_wb_date_field = fields.Char(string="Paid Date Field", default="FinSync_Paid_Date__c")
    crm_opportunity_mark = fields.Char(
        string="Opportunities Pulled Up To", readonly=True, copy=False
    )
    crm_line_mark = fields.Char(string="Opportunity Lines Pulled Up To", readonly=True, copy=False)
    crm_last_opportunities = fields.Integer(string="Opportunities Read", readonly=True, copy=False)
    crm_deal_count = fields.Integer(compute="_compute_crm_deal_count")

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    def _compute_crm_deal_count(self):
        counts = dict(
            self.env["finsync.crm.deal"]._read_group(
                [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]
            )
        )
        for backend in self:
            backend.crm_deal_count = counts.get(backend, 0)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_crm_deals(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_crm.action_finsync_crm_deal"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    @api.model
    def _crm_writeback_companies(self, company_ids):
        """Companies among ``company_ids`` with an active connector writing back."""
        # sudo: the outbox asks whoever emits; connectors are configuration.
        backends = self.sudo().search(
            [
                ("backend_type", "=", "salesforce"),
                ("crm_writeback", "=", True),
                ("company_id", "in", list(company_ids)),
            ]
        )
        return set(backends.company_id.ids)

    def _crm_writeback_fields(self):
        self.ensure_one()
        return {
            "number": self.crm_wb_number_field,
            "status": self.crm_wb_status_field,
            "amount_paid": self.crm_wb_amount_field,
            "paid_date": self.crm_wb_date_field,
        }
