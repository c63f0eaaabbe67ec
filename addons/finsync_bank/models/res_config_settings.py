from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    finsync_bulk_posting = fields.Boolean(related="company_id.finsync_bulk_posting", readonly=False)
