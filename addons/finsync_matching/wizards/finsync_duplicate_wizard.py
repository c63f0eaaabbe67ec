from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

# How far apart (days) a line and the one it duplicates are looked for.
DUPLICATE_WINDOW_DAYS = 7


class FinsyncDuplicateWizard(models.TransientModel):
    """Mark a bank line as the duplicate of another and take it out of the ledger.

    The duplicate statement line is deleted (with its journal entry: Odoo's own
    ``unlink`` of statement lines, which cancels instead when the company keeps
    an audit trail), so the bank account's balance counts the money once. The
    FinSync transaction keeps its history and moves to *reversed* (the state
    machine's way out of *settled*; the posting jobs never post it again), and
    its exceptions close with the DUPLICATE reason code.
    """

    _name = "finsync.duplicate.wizard"
    _description = "Mark Bank Line as Duplicate"
    _inherit = ["finsync.line.wizard.mixin"]

    original_line_id = fields.Many2one(
        "account.bank.statement.line",
        string="Duplicate Of",
        required=True,
        domain="[('journal_id', '=', journal_id), ('id', '!=', statement_line_id), "
        "('amount', '=', line_amount)]",
        help="The bank line that stays: same journal and amount.",
    )
    journal_id = fields.Many2one(related="statement_line_id.journal_id")
    note = fields.Text(help="Anything the next person should know.")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        st_line = self.env["account.bank.statement.line"].browse(values.get("statement_line_id"))
        if st_line and "original_line_id" in fields_list:
            values["original_line_id"] = self._likely_original(st_line).id
        return values

    @api.model
    def _likely_original(self, st_line):
        """The earliest other line of the journal with the same amount, date and label nearby."""
        window = timedelta(days=DUPLICATE_WINDOW_DAYS)
        candidates = self.env["account.bank.statement.line"].search(
            [
                ("journal_id", "=", st_line.journal_id.id),
                ("id", "!=", st_line.id),
                ("amount", "=", st_line.amount),
                ("date", ">=", st_line.date - window),
                ("date", "<=", st_line.date + window),
            ],
            order="date, id",
            limit=20,
        )
        same_label = candidates.filtered(lambda line: line.payment_ref == st_line.payment_ref)
        return (same_label or candidates)[:1]

    def action_confirm(self):
        self.ensure_one()
        st_line = self._check_and_lock()
        self._check_no_pending_writeoff(st_line)
        original = self.original_line_id
        if original == st_line or original.journal_id != st_line.journal_id:
            raise UserError(
                self.env._("A bank line duplicates another line of the same bank journal.")
            )
        if original.currency_id.compare_amounts(original.amount, st_line.amount):
            raise UserError(
                self.env._(
                    "%(line)s (%(amount)s) cannot duplicate %(original)s (%(original_amount)s): "
                    "the amounts differ.",
                    line=st_line.payment_ref,
                    amount=st_line.currency_id.format(st_line.amount),
                    original=original.payment_ref,
                    original_amount=original.currency_id.format(original.amount),
                )
            )
        reason = self.env._(
            "Duplicate of bank line %(original)s of %(date)s (%(statement)s), removed by "
            "%(user)s. %(note)s",
            original=original.payment_ref or original.move_id.name,
            date=original.date,
            statement=original.statement_id.name or original.journal_id.name,
            user=self.env.user.name,
            note=self.note or "",
        ).strip()
        transactions = self._transactions(st_line)
        self.env["finsync.exception.workflow"]._close_line_exceptions(
            transactions, "finsync_base.reason_duplicate", reason
        )
        transactions.filtered(lambda tx: tx.state == "settled")._transition(
            "reversed", reason=reason
        )
        for transaction in transactions:
            transaction.message_post(body=reason)
        self.env["finsync.ledger"]._remove_statement_lines(st_line)
        return self._done(reason)
