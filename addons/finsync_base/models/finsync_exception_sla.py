from odoo import api, fields, models, tools

EXCEPTION_TYPES = [
    ("unmatched", "Unmatched"),
    ("ambiguous", "Ambiguous match"),
    ("amount_mismatch", "Amount mismatch"),
    ("duplicate", "Duplicate"),
    ("missing_reference", "Missing reference"),
    ("proposal", "Match to confirm"),
    ("statement_gap", "Statement gap"),
    ("balance_mismatch", "Balance mismatch"),
    ("posting_failed", "Posting failed"),
    ("sync_failed", "Sync failed"),
    ("signature_rejected", "Signature rejected"),
    ("master_data_conflict", "Master-data conflict"),
    ("delivery_failed", "Outbound delivery failed"),
]

SEVERITIES = [
    ("low", "Low"),
    ("medium", "Medium"),
    ("high", "High"),
    ("critical", "Critical"),
]


class FinsyncExceptionSla(models.Model):
    """Per exception type (and optionally per company): owner, severity, time to resolve."""

    _name = "finsync.exception.sla"
    _description = "FinSync Exception Policy"
    _order = "exception_type, company_id"

    exception_type = fields.Selection(EXCEPTION_TYPES, required=True)
    company_id = fields.Many2one(
        "res.company", help="Leave empty for a policy that applies to every company."
    )
    sla_hours = fields.Integer(string="Resolve Within (hours)", required=True, default=48)
    default_user_id = fields.Many2one(
        "res.users",
        string="Default Owner",
        domain="[('share', '=', False)]",
        help="New exceptions of this type are assigned to this user.",
    )
    default_severity = fields.Selection(SEVERITIES, required=True, default="medium")
    raise_severity_amount = fields.Float(
        string="Raise Severity From",
        digits="Account",
        help="Exceptions about transactions of at least this amount (in the company's "
        "currency, either sign) start one severity higher. 0 to never raise.",
    )
    escalation_user_id = fields.Many2one(
        "res.users",
        string="Escalate To",
        domain="[('share', '=', False)]",
        help="Who is asked to act when an exception of this type is overdue.",
    )

    _sql_constraints = [
        ("sla_positive", "CHECK(sla_hours > 0)", "The time to resolve must be positive."),
        (
            "raise_amount_positive",
            "CHECK(raise_severity_amount >= 0)",
            "The amount that raises the severity cannot be negative.",
        ),
    ]

    def _auto_init(self):
        res = super()._auto_init()
        # One policy per type and company, and one company-wide policy per type.
        tools.create_unique_index(
            self.env.cr,
            "finsync_exception_sla_type_company_uniq",
            self._table,
            ["exception_type", "COALESCE(company_id, 0)"],
        )
        return res

    @api.model
    def _policies_for(self, pairs):
        """{(type, company_id): policy} for the given pairs; company policies win."""
        types = list({exception_type for exception_type, _company in pairs})
        policies = self.search([("exception_type", "in", types)])
        by_key = {(p.exception_type, p.company_id.id): p for p in policies}
        return {
            (exception_type, company_id): by_key.get((exception_type, company_id))
            or by_key.get((exception_type, False))
            or self.browse()
            for exception_type, company_id in pairs
        }
