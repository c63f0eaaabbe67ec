from odoo import fields, models


def _back_to_invoices(backends):
    """Sales uninstalled: the connectors make draft invoices again."""
    backends.write({"crm_billing_document": "invoice"})


class FinsyncBackend(models.Model):
    _inherit = "finsync.backend"

    crm_billing_document = fields.Selection(
        selection_add=[("sale_order", "Sale Order")],
        default="sale_order",
        ondelete={"sale_order": _back_to_invoices},
        help="What a won opportunity becomes: a confirmed sale order (invoiced by the usual "
        "Sales flow) or a draft customer invoice.",
    )
