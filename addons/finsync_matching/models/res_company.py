from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    finsync_writeoff_threshold = fields.Monetary(
        string="Write-off Approval Threshold",
        currency_field="currency_id",
        default=0.0,
        help="Manual write-offs up to this amount (company currency) are booked at once; "
        "larger ones wait for a FinSync manager other than the requester to approve them. "
        "At 0, every write-off needs approval.",
    )

    _sql_constraints = [
        (
            "finsync_writeoff_threshold_positive",
            "CHECK(finsync_writeoff_threshold >= 0)",
            "The write-off approval threshold cannot be negative.",
        ),
    ]
