import logging

from odoo import fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    finsync_match_pending = fields.Boolean(
        string="Waiting for Matching",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Posted by FinSync and not looked at by matching yet: its journal's matching "
        "job picks it up.",
    )

    def action_undo_reconciliation(self):
        """Undoing a reconciliation brings the FinSync transactions back to settled.

        The reason comes from FinSync's undo wizard (``finsync_undo_reason``); an
        undo started elsewhere in Odoo is recorded with who did it.
        """
        res = super().action_undo_reconciliation()
        transactions = self.finsync_transaction_ids.filtered(lambda tx: tx.state == "reconciled")
        transactions._undo_match(self.env.context.get("finsync_undo_reason"))
        return res

    def _finsync_lines_posted(self):
        """Mark the lines for matching and queue one matching job per journal.

        The mark (set in SQL: the column only exists for matching, and a write
        would go through the statement line's move synchronisation for nothing)
        is what the job reads, so a job already queued for the journal takes
        these lines too, and no line is lost when its identity key folds the
        new job into the pending one.
        """
        res = super()._finsync_lines_posted()
        lines = self.filtered(lambda line: not line.is_reconciled)
        if lines:
            self.env.cr.execute(
                SQL(
                    "UPDATE account_bank_statement_line SET finsync_match_pending = TRUE"
                    " WHERE id IN %s",
                    tuple(lines.ids),
                )
            )
            lines.invalidate_recordset(["finsync_match_pending"])
            self.env["finsync.matching"]._enqueue_journal_matching(lines.journal_id)
        return res
