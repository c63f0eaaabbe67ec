from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    finsync_writeoff_threshold = fields.Monetary(
        related="company_id.finsync_writeoff_threshold",
        currency_field="currency_id",
        readonly=False,
    )
