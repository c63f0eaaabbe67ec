from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class FinsyncUnreconcile(models.TransientModel):
    """Undo the ledger reconciliation of transactions, with the reason on record."""

    _name = "finsync.unreconcile"
    _description = "Undo a FinSync Reconciliation"

    transaction_ids = fields.Many2many("finsync.transaction", string="Transactions", required=True)
    reason = fields.Text(required=True, help="Kept in each transaction's history and chatter.")

    @api.model
    def default_get(self, fields_list):
        res = super().default_get(fields_list)
        if self.env.context.get("active_model") == "finsync.transaction":
            res["transaction_ids"] = [Command.set(self.env.context.get("active_ids", []))]
        return res

    def action_undo(self):
        self.ensure_one()
        transactions = self.transaction_ids
        not_reconciled = transactions.filtered(lambda tx: tx.state != "reconciled")
        if not_reconciled:
            raise UserError(
                self.env._(
                    "%(names)s: not reconciled, nothing to undo.",
                    names=", ".join(not_reconciled.mapped("display_name")),
                )
            )
        with_lines = transactions.filtered("statement_line_id")
        self.env["finsync.ledger"].with_context(
            finsync_undo_reason=self.reason
        )._undo_reconciliation(with_lines.statement_line_id)
        # Reconciled outside a bank statement (no ledger line to undo here).
        (transactions - with_lines)._undo_match(self.reason)
        return {"type": "ir.actions.act_window_close"}
