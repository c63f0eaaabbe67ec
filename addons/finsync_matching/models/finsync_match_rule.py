from decimal import Decimal

from odoo import fields, models

from ..engine.matcher import Rule


class FinsyncMatchRule(models.Model):
    """How a company's bank lines are paired with open items (tried in sequence)."""

    _name = "finsync.match.rule"
    _description = "FinSync Matching Rule"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    match_reference = fields.Boolean(
        string="Match on References", default=True, help="Invoice numbers and payment references"
    )
    match_partner_amount = fields.Boolean(
        string="Propose by Partner and Amount",
        default=True,
        help="Without a reference, propose the partner's open items whose amounts add up.",
    )
    allow_many_items = fields.Boolean(string="One Payment for Several Invoices", default=True)
    allow_partial = fields.Boolean(
        string="Partial Payments by Reference",
        help="A payment naming one invoice and paying less than is open reconciles that part; "
        "the rest stays open for the next payments. Otherwise it is an amount mismatch.",
    )
    auto_partner_amount = fields.Boolean(
        string="Reconcile a Unique Partner and Amount",
        help="Without a reference, reconcile the partner's only open item of exactly the "
        "amount paid (partner found from the statement line, the counterparty's bank account "
        "or name). Otherwise partner and amount alone are a proposal.",
    )
    amount_tolerance = fields.Monetary(currency_field="currency_id")
    percent_tolerance = fields.Float(string="Tolerance (%)", digits=(5, 2))
    date_window_days = fields.Integer(
        string="Date Window (days)", help="0 for no limit on how far apart the dates may be."
    )
    auto_reconcile = fields.Boolean(
        string="Reconcile Automatically",
        default=True,
        help="Otherwise matches are proposals an accountant confirms.",
    )
    writeoff_account_id = fields.Many2one(
        "account.account",
        string="Write-off Account",
        check_company=True,
        help="Where differences within the tolerance go; without it they are proposed.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")

    _sql_constraints = [
        ("tolerance_positive", "CHECK(amount_tolerance >= 0)", "Tolerances cannot be negative."),
        ("percent_positive", "CHECK(percent_tolerance >= 0)", "Tolerances cannot be negative."),
    ]

    def _to_engine_rule(self):
        self.ensure_one()
        return Rule(
            name=self.name,
            auto_reconcile=self.auto_reconcile,
            amount_tolerance=Decimal(str(self.amount_tolerance)),
            percent_tolerance=Decimal(str(self.percent_tolerance)),
            date_window_days=self.date_window_days or None,
            match_reference=self.match_reference,
            match_partner_amount=self.match_partner_amount,
            allow_many_items=self.allow_many_items,
            allow_partial=self.allow_partial,
            auto_partner_amount=self.auto_partner_amount,
        )
