from odoo import fields, models, tools


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
