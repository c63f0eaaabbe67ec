from decimal import Decimal

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..engine.matcher import tolerance as matcher_tolerance


class FinsyncTransaction(models.Model):
    _inherit = "finsync.transaction"

    match_rule_id = fields.Many2one("finsync.match.rule", string="Matched By", readonly=True)
    match_mode = fields.Selection(
        [("auto", "Automatic"), ("confirmed", "Proposal Confirmed"), ("manual", "By Hand")],
        string="Reconciled",
        readonly=True,
        help="How the reconciliation was decided: by a rule alone, or by a person.",
    )
    match_score = fields.Integer(readonly=True)
    match_explanation = fields.Char(
        readonly=True, help="Why FinSync matched (or proposed) these open items."
    )
    proposed_line_ids = fields.Many2many(
        "account.move.line",
        "finsync_transaction_proposed_aml_rel",
        "transaction_id",
        "move_line_id",
        string="Proposed Items",
        readonly=True,
        help="Open items a matching rule proposes; an accountant confirms them.",
    )
    candidate_line_ids = fields.Many2many(
        "account.move.line",
        "finsync_transaction_candidate_aml_rel",
        "transaction_id",
        "move_line_id",
        string="Candidates",
        readonly=True,
        help="Open items that could be the match, none sure enough to choose alone.",
    )
    has_proposal = fields.Boolean(
        compute="_compute_has_proposal", search="_search_has_proposal", string="Proposal"
    )

    @api.depends("proposed_line_ids", "state")
    def _compute_has_proposal(self):
        for tx in self:
            tx.has_proposal = bool(tx.proposed_line_ids) and tx.state == "settled"

    def _search_has_proposal(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Unsupported search on Proposal."))
        positive = (operator == "=") == value
        domain = [("proposed_line_ids", "!=", False), ("state", "=", "settled")]
        return domain if positive else ["!", "&", *domain]

    def action_match(self):
        """Button: run the matching rules again on these transactions' bank lines."""
        workflow = self.env["finsync.exception.workflow"]
        workflow._check_accountant()
        workflow._check_line_company(self.statement_line_id)
        counts = self.env["finsync.matching"]._match_statement_lines(self.statement_line_id)
        return self._notify(
            self.env._(
                "%(reconciled)s reconciled, %(open)s left in the exception queue.",
                reconciled=counts.get("reconcile", 0),
                open=sum(count for action, count in counts.items() if action != "reconcile"),
            )
        )

    def action_confirm_proposal(self):
        """Button (one or many): reconcile each transaction with its proposed items."""
        workflow = self.env["finsync.exception.workflow"]
        workflow._check_accountant()
        to_confirm = self.filtered("has_proposal")
        if not to_confirm:
            raise UserError(self.env._("None of the selected transactions has a proposal."))
        workflow._check_line_company(to_confirm.statement_line_id)
        matching = self.env["finsync.matching"]
        for tx in to_confirm:
            rule = tx.match_rule_id
            lines = tx.proposed_line_ids
            residual = sum(lines.mapped("amount_residual_currency"))
            currency = tx.statement_line_id.currency_id
            difference = tx.statement_line_id.amount - residual
            differs = not currency.is_zero(difference)
            tolerance = matcher_tolerance(rule._to_engine_rule(), Decimal(str(residual)))
            if differs and (
                not rule.writeoff_account_id
                or currency.compare_amounts(abs(difference), float(tolerance)) > 0
            ):
                raise UserError(
                    self.env._(
                        "The proposal for %(line)s no longer adds up (%(difference)s apart): "
                        "match it by hand.",
                        line=tx.display_name,
                        difference=currency.format(difference),
                    )
                )
            if differs and matching._writeoff_needs_approval(tx.statement_line_id, difference):
                raise UserError(
                    self.env._(
                        "The proposal for %(line)s writes off %(difference)s, over the approval "
                        "threshold: match it by hand to ask a FinSync manager's approval.",
                        line=tx.display_name,
                        difference=currency.format(difference),
                    )
                )
            matching._reconcile_allocations(
                tx.statement_line_id,
                [(line, None) for line in lines],
                writeoff_account=rule.writeoff_account_id if differs else None,
                explanation=self.env._(
                    "Proposal confirmed by %(user)s: %(reason)s",
                    user=self.env.user.name,
                    reason=tx.match_explanation or "",
                ),
                rule=rule,
                score=tx.match_score,
                mode="confirmed",
            )
        message = (
            self.env._("1 proposal confirmed and reconciled.")
            if len(to_confirm) == 1
            else self.env._("%(count)s proposals confirmed and reconciled.", count=len(to_confirm))
        )
        return self._notify(message)

    def _manual_moves(self):
        # Undoing a reconciliation goes through the wizard, which undoes it in the
        # ledger too (``_undo_match``); the form's plain button is replaced.
        return super()._manual_moves() - {("reconciled", "settled")}

    def _undo_match(self, reason=None):
        """Back to settled after an undone reconciliation, with who and why on record."""
        if not self:
            return
        text = self.env._(
            "Reconciliation undone by %(user)s: %(reason)s",
            user=self.env.user.name,
            reason=reason or self.env._("no reason given (undone in Odoo)"),
        )
        self._transition("settled", reason=text)
        self._clear_match(text)

    def _clear_match(self, text):
        """Forget how the transactions were matched, saying why in their chatter."""
        self.write(
            {
                "match_rule_id": False,
                "match_mode": False,
                "match_score": 0,
                "match_explanation": False,
                "invoice_ids": [Command.clear()],
            }
        )
        for tx in self:
            tx.message_post(body=text)

    def _finsync_reconciled_outside(self, reason):
        """Reconciled outside FinSync: what was open about them not matching closes."""
        res = super()._finsync_reconciled_outside(reason)
        self.mapped("exception_ids")  # one query for all
        self.env["finsync.matching"]._close_matching_exceptions(self, reason)
        return res

    def _finsync_unreconciled_outside(self, reason):
        """Unreconciled outside FinSync: back to settled, their old match forgotten."""
        res = super()._finsync_unreconciled_outside(reason)
        self._clear_match(reason)
        return res

    def _notify(self, message):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Matching"),
                "message": message,
                "type": "info",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
