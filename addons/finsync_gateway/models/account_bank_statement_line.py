from odoo import fields, models


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    finsync_settlement_ids = fields.One2many(
        "finsync.settlement", "bank_line_id", string="Gateway Payouts", readonly=True
    )
