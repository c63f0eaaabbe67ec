import logging

from odoo import api, fields, models

from odoo.addons.queue_job.job import identity_exact

from ..components.bank_connectors import BANK_CHANNEL

_logger = logging.getLogger(__name__)

# Lines posted by one job: big enough to amortise the job, small enough to
# retry cheaply and to spread over several job runners.
POSTING_CHUNK = 1000
# Transactions inserted per call of finsync_base's _create_bulk (see below).
INGEST_SLICE = 5000


class FinsyncTransaction(models.Model):
    _inherit = "finsync.transaction"

    bank_statement_id = fields.Many2one(
        "account.bank.statement",
        string="Bank Statement",
        readonly=True,
        index="btree_not_null",
        check_company=True,
        help="The Odoo statement this bank line is posted to.",
    )
    bank_journal_id = fields.Many2one(
        "account.journal",
        string="Bank Journal",
        readonly=True,
        check_company=True,
        help="The bank journal whose statement this line belongs to.",
    )

    @api.model
    def _create_bulk(self, vals_list, reason=None):
        """``_create_bulk`` in slices of ``INGEST_SLICE`` transactions.

        It builds the SQL values of all its rows before inserting them; for a
        file of 100,000 lines those values alone take hundreds of megabytes.
        Slices give the same rows and history with a bounded peak memory.
        """
        if len(vals_list) <= INGEST_SLICE:
            return super()._create_bulk(vals_list, reason=reason)
        ids = []
        for start in range(0, len(vals_list), INGEST_SLICE):
            ids += super()._create_bulk(vals_list[start : start + INGEST_SLICE], reason=reason).ids
        return self.browse(ids)

    def _bulk_extra_fields(self):
        return (*super()._bulk_extra_fields(), "bank_statement_id", "bank_journal_id")

    def _enqueue_posting(self, chunk_size=POSTING_CHUNK):
        """Post the bank lines as statement lines in jobs of ``chunk_size`` lines."""
        to_post = self.filtered(lambda tx: tx.bank_statement_id and not tx.statement_line_id)
        jobs = []
        for start in range(0, len(to_post), chunk_size):
            chunk = to_post[start : start + chunk_size]
            jobs.append(
                chunk.with_delay(
                    channel=BANK_CHANNEL,
                    description=(
                        self.env._(
                            "Post 1 bank line to %(statement)s",
                            statement=chunk[0].bank_statement_id.name,
                        )
                        if len(chunk) == 1
                        else self.env._(
                            "Post %(count)s bank lines to %(statement)s",
                            count=len(chunk),
                            statement=chunk[0].bank_statement_id.name,
                        )
                    ),
                    identity_key=identity_exact,
                )._post_statement_lines()
            )
        return jobs

    def _post_statement_lines(self):
        """Job: create the statement lines of settled bank transactions (idempotent).

        The lines are written set-based by ``finsync.statement.line.bulk``
        (the ORM's rows, in one INSERT per table), or through the ORM where
        that service cannot guarantee the same result.
        """
        to_post = self.filtered(
            lambda tx: tx.bank_statement_id and not tx.statement_line_id and tx.state == "settled"
        )
        if not to_post:
            return self.env._("Nothing to post")
        vals_list = [tx._prepare_statement_line() for tx in to_post]
        lines = self.env["finsync.statement.line.bulk"]._create_posted(vals_list)
        to_post._link_statement_lines(lines)
        lines._finsync_lines_posted()
        _logger.info("FinSync: %d bank lines posted", len(lines))
        return self.env._("%(count)s lines posted", count=len(lines))

    def _link_statement_lines(self, lines):
        """``statement_line_id`` of each transaction (``lines`` in the same order), set-based.

        The values go into the ORM cache as pending writes, which the next
        flush writes with one UPDATE per batch (``_write_multi``) instead of
        one ``write`` call per transaction; the fields depending on the link
        are marked for recomputation as ``write`` would.
        """
        self.check_access("write")
        field = self._fields["statement_line_id"]
        self.modified(["statement_line_id"], before=True)
        self.env.cache.update(self, field, lines.ids, dirty=True)
        self.modified(["statement_line_id"])
        lines.invalidate_recordset(["finsync_transaction_ids"])

    def _prepare_statement_line(self):
        self.ensure_one()
        label = self.remittance or self.counterparty_name or self.bank_reference or "/"
        return {
            "statement_id": self.bank_statement_id.id,
            "journal_id": self.bank_journal_id.id,
            "date": self.booking_date,
            "payment_ref": label[:2000],
            "amount": self.amount,
            "partner_name": self.counterparty_name,
            # sudo: the full account is for accountants; posting (a connector's
            # technical user, a file import) copies it to the bank line.
            "account_number": self.sudo().counterparty_account,
            "transaction_type": self.bank_transaction_code,
            "finsync_import_id": self.external_id,
        }

    # ------------------------------------------------------------------
    # Reconciled outside FinSync
    # ------------------------------------------------------------------
    def _finsync_follow_statement_lines(self):
        """The transactions follow their statement lines, reconciled or unreconciled
        outside FinSync (see ``account_bank_statement_line.py``): a settled one
        whose line is reconciled moves to reconciled, a reconciled one whose line
        is not any more moves back to settled. Any other state stays as it is."""
        self.statement_line_id.mapped("is_reconciled")  # one read for all
        reconciled = self.filtered(
            lambda tx: tx.state == "settled" and tx.statement_line_id.is_reconciled
        )
        unreconciled = self.filtered(
            lambda tx: tx.state == "reconciled"
            and tx.statement_line_id
            and not tx.statement_line_id.is_reconciled
        )
        if reconciled:
            reconciled._finsync_reconciled_outside(
                self.env._("Reconciled outside FinSync by %(user)s", user=self.env.user.name)
            )
        if unreconciled:
            unreconciled._finsync_unreconciled_outside(
                self.env._(
                    "Reconciliation undone outside FinSync by %(user)s", user=self.env.user.name
                )
            )
        if reconciled or unreconciled:
            _logger.info(
                "FinSync: %d transactions reconciled and %d unreconciled outside FinSync",
                len(reconciled),
                len(unreconciled),
            )

    def _finsync_reconciled_outside(self, reason):
        """Hook: the statement lines of these settled transactions were reconciled
        outside FinSync. They move to reconciled with ``reason``."""
        return self._transition("reconciled", reason=reason)

    def _finsync_unreconciled_outside(self, reason):
        """Hook: the statement lines of these reconciled transactions were
        unreconciled outside FinSync. They move back to settled with ``reason``."""
        return self._transition("settled", reason=reason)
