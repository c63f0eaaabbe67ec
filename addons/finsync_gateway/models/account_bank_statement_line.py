from odoo import fields, models


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    finsync_settlement_ids = fields.One2many(
        "finsync.settlement", "bank_line_id", string="Gateway Payouts", readonly=True
    )

    def _finsync_match_known(self):
        """Bank lines that receive a gateway payout settle it, before any matching rule."""
        paired = self.env["finsync.settlement"]._match_bank_lines(self)
        return paired | super(AccountBankStatementLine, self - paired)._finsync_match_known()
