from odoo import models


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    def action_undo_reconciliation(self):
        """Undoing a reconciliation brings the FinSync transactions back to settled."""
        res = super().action_undo_reconciliation()
        transactions = self.finsync_transaction_ids.filtered(lambda tx: tx.state == "reconciled")
        transactions._transition(
            "settled",
            reason=self.env._("Reconciliation undone by %(user)s", user=self.env.user.name),
        )
        transactions.write({"match_rule_id": False, "match_score": 0, "match_explanation": False})
        return res
