from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    finsync_bulk_posting = fields.Boolean(
        string="Fast Bank Line Posting",
        default=True,
        help="Post the bank lines of FinSync imports with set-based SQL, writing the rows "
        "Odoo would write (much faster for large files). FinSync falls back to Odoo's "
        "standard posting by itself whenever another module changes how entries are "
        "created or posted; turn this off to always use the standard posting.",
    )
