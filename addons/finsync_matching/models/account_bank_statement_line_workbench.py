"""The bank reconciliation workbench: what a bank line to reconcile shows, and its actions.

The workbench is a list of the unreconciled bank lines (``action_finsync_workbench``,
a ``finsync_workbench`` list whose controller adds the keyboard and the side panel).
Each action here is callable over RPC and makes the same checks as the wizards it
opens or stands for: a FinSync accountant, the line in one of the user's current
companies, not reconciled meanwhile, no write-off waiting for approval.
"""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.finsync_base.models.finsync_exception_sla import SEVERITIES

from .finsync_exception_workflow import LINE_EXCEPTION_TYPES

_logger = logging.getLogger(__name__)


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    finsync_transaction_id = fields.Many2one(
        "finsync.transaction", compute="_compute_finsync_workbench", string="FinSync Transaction"
    )
    finsync_counterparty = fields.Char(
        compute="_compute_finsync_workbench",
        string="Counterparty",
        help="The partner of the line, else the name the bank gave.",
    )
    finsync_has_proposal = fields.Boolean(
        compute="_compute_finsync_workbench",
        search="_search_finsync_has_proposal",
        string="Has a Proposal",
        help="FinSync proposes open items that add up: an accountant confirms them.",
    )
    finsync_proposal = fields.Char(
        compute="_compute_finsync_workbench",
        string="Proposal",
        help="The open items FinSync proposes (or, when none adds up, its candidates).",
    )
    finsync_match_explanation = fields.Char(
        compute="_compute_finsync_workbench",
        string="Reason",
        help="Why FinSync proposes these items (or why none is sure enough).",
    )
    finsync_match_score = fields.Integer(compute="_compute_finsync_workbench", string="Score")
    finsync_exception_id = fields.Many2one(
        "finsync.exception",
        compute="_compute_finsync_workbench",
        string="Exception",
        help="The open exception about this line not matching, if any.",
    )
    finsync_exception_type = fields.Selection(
        selection=lambda self: self.env["finsync.exception"]._fields["exception_type"].selection,
        compute="_compute_finsync_workbench",
        string="Exception Type",
    )
    finsync_exception_severity = fields.Selection(
        selection=SEVERITIES,
        compute="_compute_finsync_workbench",
        string="Severity",
    )
    finsync_exception_age = fields.Integer(
        compute="_compute_finsync_workbench", string="Exception Age (days)"
    )

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends(
        "partner_id",
        "partner_name",
        "finsync_transaction_ids.proposed_line_ids",
        "finsync_transaction_ids.candidate_line_ids",
        "finsync_transaction_ids.state",
        "finsync_transaction_ids.match_explanation",
        "finsync_transaction_ids.match_score",
        "finsync_transaction_ids.exception_ids.is_open",
        "finsync_transaction_ids.exception_ids.severity",
    )
    def _compute_finsync_workbench(self):
        for line in self:
            transaction = line.finsync_transaction_ids[:1]
            line.finsync_transaction_id = transaction
            line.finsync_counterparty = line.partner_id.display_name or line.partner_name
            line.finsync_has_proposal = transaction.has_proposal
            if transaction.proposed_line_ids:
                line.finsync_proposal = ", ".join(
                    transaction.proposed_line_ids.move_id.mapped("name")
                )
            elif transaction.candidate_line_ids:
                line.finsync_proposal = self.env._(
                    "Candidates: %(names)s",
                    names=", ".join(transaction.candidate_line_ids.move_id.mapped("name")),
                )
            else:
                line.finsync_proposal = False
            line.finsync_match_explanation = transaction.match_explanation
            line.finsync_match_score = transaction.match_score
            exception = line.finsync_transaction_ids.exception_ids.filtered(
                lambda exc: exc.is_open and exc.exception_type in LINE_EXCEPTION_TYPES
            ).sorted("priority_rank", reverse=True)[:1]
            line.finsync_exception_id = exception
            line.finsync_exception_type = exception.exception_type
            line.finsync_exception_severity = exception.severity
            line.finsync_exception_age = exception.age_days

    def _search_finsync_has_proposal(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Unsupported search on Has a Proposal."))
        domain = [("finsync_transaction_ids.has_proposal", "=", True)]
        return domain if (operator == "=") == value else ["!", *domain]

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_finsync_confirm_proposals(self):
        """Confirm the proposals of these lines (one or many), each line on its own.

        Every line is confirmed in its own savepoint: a line whose proposal no
        longer adds up, or that someone else is working on, is left as it was
        and named in the message; the others are reconciled. Lines without a
        proposal are counted as skipped. Refused as a whole for a user who is
        not a FinSync accountant or for a line outside the current companies.
        """
        workflow = self.env["finsync.exception.workflow"]
        workflow._check_accountant()
        workflow._check_line_company(self)
        lines = self.filtered(lambda line: not line.is_reconciled)
        with_proposal = lines.filtered("finsync_has_proposal")
        if not with_proposal:
            raise UserError(
                self.env._("None of the selected bank lines has a proposal to confirm.")
            )
        waiting = self._finsync_waiting_for_writeoff()
        confirmed, failed = self.browse(), []
        for line in with_proposal:
            if line in waiting:
                failed.append((line, self.env._("a write-off waits for approval")))
                continue
            try:
                with self.env.cr.savepoint():
                    line.finsync_transaction_id.action_confirm_proposal()
            except UserError as err:
                failed.append((line, str(err)))
                continue
            confirmed |= line
        _logger.info(
            "FinSync workbench: %d proposals confirmed, %d refused", len(confirmed), len(failed)
        )
        return self._finsync_notify(
            self._finsync_confirm_message(confirmed, failed, len(self) - len(with_proposal)),
            "success" if confirmed and not failed else ("warning" if confirmed else "danger"),
        )

    def action_finsync_open_match_wizard(self):
        """The Match wizard for this line (ranked open items, the proposal ticked)."""
        return self._finsync_line_wizard(
            "finsync_matching.action_finsync_match_wizard", dialog_size="extra-large"
        )

    def action_finsync_open_writeoff_wizard(self):
        """The Match wizard with the write-off of the difference asked for."""
        return self._finsync_line_wizard(
            "finsync_matching.action_finsync_match_wizard",
            finsync_writeoff=True,
            dialog_size="extra-large",
        )

    def action_finsync_open_duplicate_wizard(self):
        """The duplicate wizard, with the line it most likely duplicates chosen."""
        return self._finsync_line_wizard("finsync_matching.action_finsync_duplicate_wizard")

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _finsync_line_wizard(self, xmlid, **context):
        """A wizard's action on this line, after the checks the wizard makes again."""
        self.ensure_one()
        workflow = self.env["finsync.exception.workflow"]
        workflow._check_accountant()
        workflow._check_line_company(self)
        if self.is_reconciled:
            raise UserError(
                self.env._(
                    "Bank line %(line)s is reconciled already: reload the list.",
                    line=self.payment_ref or self.display_name,
                )
            )
        if self in self._finsync_waiting_for_writeoff():
            raise UserError(
                self.env._(
                    "A write-off for bank line %(line)s waits for approval: a manager approves "
                    "or rejects it first.",
                    line=self.payment_ref or self.display_name,
                )
            )
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["context"] = {
            "default_statement_line_id": self.id,
            "default_transaction_id": self.finsync_transaction_id.id,
            "default_exception_id": self.finsync_exception_id.id,
            **context,
        }
        return action

    def _finsync_waiting_for_writeoff(self):
        """The lines of ``self`` with a write-off request waiting for approval."""
        return self.env["finsync.matching"]._lines_waiting_for_writeoff(self)

    def _finsync_confirm_message(self, confirmed, failed, skipped):
        """What confirming did, in words that agree with the numbers."""
        parts = []
        if len(confirmed) == 1:
            parts.append(self.env._("1 proposal confirmed and reconciled."))
        elif confirmed:
            parts.append(
                self.env._("%(count)s proposals confirmed and reconciled.", count=len(confirmed))
            )
        if skipped == 1:
            parts.append(self.env._("1 line without a proposal skipped."))
        elif skipped:
            parts.append(self.env._("%(count)s lines without a proposal skipped.", count=skipped))
        if len(failed) == 1:
            line, error = failed[0]
            parts.append(
                self.env._(
                    "Not confirmed: %(line)s (%(error)s); it is left as it was.",
                    line=line.payment_ref or line.display_name,
                    error=error,
                )
            )
        elif failed:
            parts.append(
                self.env._(
                    "%(count)s lines not confirmed, left as they were: %(lines)s.",
                    count=len(failed),
                    lines="; ".join(
                        f"{line.payment_ref or line.display_name} ({error})"
                        for line, error in failed
                    ),
                )
            )
        return " ".join(parts)

    def _finsync_notify(self, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Bank Reconciliation"),
                "message": message,
                "type": kind,
                "sticky": kind == "danger",
            },
        }
