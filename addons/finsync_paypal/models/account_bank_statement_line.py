from odoo import fields, models


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    finsync_paypal_settlement_ids = fields.One2many(
        "finsync.paypal.settlement", "bank_line_id", string="PayPal Payouts", readonly=True
    )
