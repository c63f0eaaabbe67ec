"""Bank statement lines as FinSync sees them.

A FinSync transaction follows its statement line's ``is_reconciled`` whoever
changes it. FinSync's own ledger path (``finsync.ledger``) moves the transactions
itself; a line reconciled or unreconciled anywhere else in Odoo (the journal
items' Reconcile action, ``account.move.line.reconcile()``, OCA's
account_reconcile_oca widget in either mode, a reversal, an undo) is caught at
the one place every path goes through: the recompute of the stored
``is_reconciled``. The recompute only notes which lines flipped (their value
before the transaction, read once); the transactions move at commit
(``precommit``), when every path has finished writing, so a FinSync flow that
moved them already leaves nothing to do and nothing is recorded twice.
"""

from odoo import api, fields, models, tools
from odoo.http import request
from odoo.tools import SQL

# ``cr.precommit.data`` key: {statement line id: is_reconciled before this transaction}.
_WATCHED = "finsync_bank.reconcile_watch"


class AccountBankStatementLine(models.Model):
    _inherit = "account.bank.statement.line"

    finsync_import_id = fields.Char(
        string="FinSync Line ID",
        readonly=True,
        copy=False,
        help="Stable id of the line in its bank file: a line is never imported twice.",
    )
    finsync_transaction_ids = fields.One2many(
        "finsync.transaction", "statement_line_id", string="FinSync Transactions", readonly=True
    )

    def _auto_init(self):
        res = super()._auto_init()
        tools.create_unique_index(
            self.env.cr,
            "account_bank_statement_line_finsync_import_uniq",
            self._table,
            ["journal_id", "finsync_import_id"],
        )
        return res

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    def _compute_is_reconciled(self):
        self._finsync_watch_reconciled()
        return super()._compute_is_reconciled()

    def _finsync_watch_reconciled(self):
        """Note the lines' stored ``is_reconciled`` (as it was before this
        transaction: only the first time a line is seen) and check them at commit."""
        watched = self.env.cr.precommit.data.get(_WATCHED)
        if watched is None:
            watched = self.env.cr.precommit.data[_WATCHED] = {}
            self.env.cr.precommit.add(self._finsync_sync_reconciled)
        ids = tuple(rid for rid in self._ids if isinstance(rid, int) and rid not in watched)
        if not ids:
            return
        # The stored value, not the cache: lines created in this transaction have
        # none (NULL) and are skipped (a gateway line booked against its account is
        # reconciled from the start, and its transaction rightly stays settled).
        self.env.cr.execute(
            SQL(
                "SELECT id, is_reconciled FROM account_bank_statement_line WHERE id IN %s",
                ids,
            )
        )
        watched.update(dict.fromkeys(ids))
        watched.update(self.env.cr.fetchall())

    @api.model
    def _finsync_sync_reconciled(self):
        """At commit: the transactions of the lines whose ``is_reconciled`` flipped
        follow them (``finsync.transaction._finsync_follow_statement_lines``)."""
        watched = self.env.cr.precommit.data.pop(_WATCHED, None) or {}
        before = {rid: value for rid, value in watched.items() if value is not None}
        if not before:
            return
        # Who did it: the request's user (the commit's flush may run in any of the
        # request's environments), else the user who changed the lines.
        uid = request.env.uid if request and request.env and request.env.uid else self.env.uid
        # sudo: whoever reconciled the line in Odoo may not be a FinSync user; the
        # transaction only follows the ledger they were allowed to change, and the
        # history records them (the user stays the same).
        lines = self.with_user(uid).sudo().browse(list(before)).exists()
        flipped = lines.filtered(lambda line: line.is_reconciled != before[line.id])
        if flipped:
            flipped.finsync_transaction_ids._finsync_follow_statement_lines()
            self.env.flush_all()

    # ------------------------------------------------------------------
    # Hooks for the addons that act on posted lines
    # ------------------------------------------------------------------
    def _finsync_lines_posted(self):
        """Hook: FinSync has just posted these statement lines (a bank file, a bank
        pull, a gateway's bookings). Nothing by default; finsync_matching queues
        their journals' matching jobs. Posting flows call it once per batch."""
        return True

    def _finsync_match_known(self):
        """Hook: reconcile the lines whose counterpart FinSync already knows before
        any matching rule looks at them (a gateway payout arriving in the bank);
        returns the lines reconciled. None by default."""
        return self.browse()
