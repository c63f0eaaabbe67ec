from odoo import models


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    def action_undo_reconciliation(self):
        """Undoing a reconciliation brings the FinSync transactions back to settled.

        The reason comes from FinSync's undo wizard (``finsync_undo_reason``); an
        undo started elsewhere in Odoo is recorded with who did it.
        """
        res = super().action_undo_reconciliation()
        transactions = self.finsync_transaction_ids.filtered(lambda tx: tx.state == "reconciled")
        transactions._undo_match(self.env.context.get("finsync_undo_reason"))
        return res
