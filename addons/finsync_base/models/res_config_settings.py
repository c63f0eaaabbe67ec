from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    finsync_payload_retention_days = fields.Integer(
        related="company_id.finsync_payload_retention_days", readonly=False
    )
