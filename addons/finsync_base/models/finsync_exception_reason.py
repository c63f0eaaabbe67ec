from odoo import fields, models


class FinsyncExceptionReason(models.Model):
    """Why an exception was closed: a code the team reports on."""

    _name = "finsync.exception.reason"
    _description = "FinSync Resolution Reason"
    _order = "sequence, code"
    _rec_names_search = ["code", "name"]

    code = fields.Char(required=True)
    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    for_ignore = fields.Boolean(
        string="Used to Ignore", help="Offered when an exception is ignored rather than resolved."
    )

    _sql_constraints = [("code_unique", "UNIQUE(code)", "A reason code must be unique.")]

    def _compute_display_name(self):
        for reason in self:
            reason.display_name = f"[{reason.code}] {reason.name}"
