from odoo import fields, models

METRICS_TOKEN_PARAM = "finsync_close.metrics_token"


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # ir.config_parameter is readable by Settings users only, and so is the field.
    finsync_metrics_token = fields.Char(
        string="Metrics Token",
        config_parameter=METRICS_TOKEN_PARAM,
        groups="base.group_system",
        help="Bearer token Prometheus sends to /finsync/metrics. Empty: the endpoint is off.",
    )
