from odoo import api, fields, models
from odoo.exceptions import UserError

from .finsync_exception_workflow import LINE_EXCEPTION_TYPES


class FinsyncException(models.Model):
    """Exception wizards for bank lines, and re-running matching in bulk."""

    _inherit = "finsync.exception"

    statement_line_id = fields.Many2one(
        "account.bank.statement.line",
        string="Bank Line",
        compute="_compute_statement_line",
        help="The bank line this exception is about, when there is one.",
    )
    line_to_resolve = fields.Boolean(
        compute="_compute_statement_line",
        help="Open, about a bank line that is not reconciled: the wizards apply.",
    )
    writeoff_request_ids = fields.One2many(
        "finsync.writeoff.request", "exception_id", string="Write-off Requests"
    )

    @api.depends("transaction_ids.statement_line_id", "state", "exception_type")
    def _compute_statement_line(self):
        for exc in self:
            line = exc.transaction_ids.statement_line_id[:1]
            exc.statement_line_id = line
            exc.line_to_resolve = bool(
                line
                and exc.is_open
                and exc.exception_type in LINE_EXCEPTION_TYPES
                and not line.is_reconciled
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_match_wizard(self):
        return self._open_line_wizard(
            "finsync_matching.action_finsync_match_wizard", dialog_size="extra-large"
        )

    def action_open_writeoff_wizard(self):
        return self._open_line_wizard(
            "finsync_matching.action_finsync_match_wizard",
            finsync_writeoff=True,
            dialog_size="extra-large",
        )

    def action_open_duplicate_wizard(self):
        return self._open_line_wizard("finsync_matching.action_finsync_duplicate_wizard")

    def action_open_payment_wizard(self):
        return self._open_line_wizard("finsync_matching.action_finsync_payment_wizard")

    def action_open_partner_wizard(self):
        return self._open_line_wizard("finsync_matching.action_finsync_partner_wizard")

    def action_rerun_matching(self):
        """Bulk: run the matching rules again on the bank lines of these exceptions."""
        self.env["finsync.exception.workflow"]._check_accountant()
        lines = self.transaction_ids.statement_line_id.filtered(lambda line: not line.is_reconciled)
        if not lines:
            raise UserError(
                self.env._("None of the selected exceptions has a bank line left to match.")
            )
        self.env["finsync.exception.workflow"]._check_line_company(lines)
        counts = self.env["finsync.matching"]._match_statement_lines(lines)
        closed = self.filtered(lambda exc: not exc.is_open)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Matching"),
                "message": self._rerun_message(len(lines), counts.get("reconcile", 0), len(closed)),
                "type": "info",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _rerun_message(self, line_count, reconciled, closed):
        """What matching again did, in words that agree with the numbers."""
        if line_count == 1:
            lines = self.env._(
                "1 bank line matched again: %(reconciled)s reconciled.", reconciled=reconciled
            )
        else:
            lines = self.env._(
                "%(count)s bank lines matched again: %(reconciled)s reconciled.",
                count=line_count,
                reconciled=reconciled,
            )
        if len(self) == 1:
            exceptions = (
                self.env._("The exception is closed.")
                if closed
                else self.env._("The exception is still open.")
            )
        else:
            exceptions = self.env._(
                "%(closed)s of the %(count)s exceptions closed.", closed=closed, count=len(self)
            )
        return f"{lines} {exceptions}"

    def _open_line_wizard(self, xmlid, **context):
        self.ensure_one()
        self.env["finsync.exception.workflow"]._check_accountant()
        if not self.statement_line_id:
            raise UserError(
                self.env._("Exception %(name)s is not about a bank line.", name=self.name)
            )
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["context"] = {
            "default_exception_id": self.id,
            "default_transaction_id": self.transaction_ids.filtered("statement_line_id")[:1].id,
            **context,
        }
        return action
