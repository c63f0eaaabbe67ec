from odoo import api, fields, models

from .finsync_close_period import LOCK_FIELDS


class FinsyncCloseSetting(models.Model):
    """How a company closes: which lock dates a close sets, what blocks it, who owns the checks."""

    _name = "finsync.close.setting"
    _description = "FinSync Close Settings"
    _check_company_auto = True
    _rec_name = "company_id"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    lock_fiscalyear = fields.Boolean(string="Set the Global Lock Date", default=True)
    lock_tax = fields.Boolean(string="Set the Tax Return Lock Date", default=True)
    lock_sale = fields.Boolean(string="Set the Sales Lock Date")
    lock_purchase = fields.Boolean(string="Set the Purchase Lock Date")
    severity_threshold = fields.Selection(
        [("low", "Low"), ("medium", "Medium"), ("high", "High"), ("critical", "Critical")],
        default="high",
        required=True,
        help="An open exception of this severity or above blocks the close.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Checklist Owner",
        domain="[('share', '=', False)]",
        help="Who signs the automatic items off (whoever created the close when empty).",
    )

    _sql_constraints = [
        ("company_unique", "UNIQUE(company_id)", "A company has one set of close settings.")
    ]

    @api.model
    def _for_company(self, company):
        """The company's settings (defaults, not stored, when none were saved)."""
        setting = self.search([("company_id", "=", company.id)], limit=1)
        return setting or self.new({"company_id": company.id})

    def _lock_fields(self):
        self.ensure_one()
        flags = (self.lock_fiscalyear, self.lock_tax, self.lock_sale, self.lock_purchase)
        return [field for field, flag in zip(LOCK_FIELDS, flags, strict=True) if flag]
