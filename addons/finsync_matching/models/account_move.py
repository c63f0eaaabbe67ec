from odoo import fields, models


class AccountMove(models.Model):
    """A bank line's journal entry says what FinSync matched it with, and why."""

    _inherit = "account.move"

    finsync_transaction_id = fields.Many2one(
        "finsync.transaction",
        compute="_compute_finsync_match",
        string="FinSync Transaction",
        help="The canonical transaction behind this bank line's entry.",
    )
    finsync_match_explanation = fields.Char(
        compute="_compute_finsync_match", string="FinSync Match"
    )

    def _compute_finsync_match(self):
        modes = dict(
            self.env["finsync.transaction"]._fields["match_mode"]._description_selection(self.env)
        )
        for move in self:
            transaction = move.statement_line_id.finsync_transaction_ids[:1]
            move.finsync_transaction_id = transaction
            reason = transaction.match_explanation
            if not reason:
                move.finsync_match_explanation = False
            elif transaction.state == "reconciled":
                move.finsync_match_explanation = self.env._(
                    "Reconciled (%(how)s, %(rule)s): %(reason)s",
                    how=modes.get(transaction.match_mode, ""),
                    rule=transaction.match_rule_id.name or self.env._("no rule"),
                    reason=reason,
                )
            elif transaction.has_proposal:
                move.finsync_match_explanation = self.env._(
                    "Proposed by %(rule)s: %(reason)s",
                    rule=transaction.match_rule_id.name,
                    reason=reason,
                )
            else:
                move.finsync_match_explanation = self.env._(
                    "Not matched: %(reason)s", reason=reason
                )
