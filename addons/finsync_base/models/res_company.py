from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ResCompany(models.Model):
    _inherit = "res.company"

    finsync_payload_retention_days = fields.Integer(
        string="Keep Inbound Payloads (days)",
        default=90,
        help="Inbound payloads (webhooks, API pages, files) older than this move to "
        "compressed archives, still readable and never deleted. 0 keeps them as they are.",
    )

    @api.constrains("finsync_payload_retention_days")
    def _check_finsync_payload_retention_days(self):
        for company in self:
            if company.finsync_payload_retention_days < 0:
                raise ValidationError(
                    self.env._(
                        "%(company)s: the payload retention cannot be negative (0 keeps "
                        "payloads as they are).",
                        company=company.name,
                    )
                )
