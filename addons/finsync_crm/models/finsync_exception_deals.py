from odoo import fields, models


class FinsyncException(models.Model):
    _inherit = "finsync.exception"

    exception_type = fields.Selection(
        selection_add=[("crm_deal", "CRM deal")],
        ondelete={"crm_deal": "cascade"},
    )
    crm_deal_id = fields.Many2one(
        "finsync.crm.deal",
        string="CRM Deal",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )


class FinsyncExceptionSla(models.Model):
    _inherit = "finsync.exception.sla"

    exception_type = fields.Selection(
        selection_add=[("crm_deal", "CRM deal")],
        ondelete={"crm_deal": "cascade"},
    )
