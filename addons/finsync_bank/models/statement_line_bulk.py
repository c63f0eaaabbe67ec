"""Posted bank statement lines written set-based, the rows Odoo's ORM would write.

``account.bank.statement.line.create`` costs about 40 ms a line in Odoo 18: one
``account.move.write`` per line inside the create, one sequence query per move
(``_set_next_sequence``), ``_post``, the analytic mixin and the move
constraints, all per record. For the lines bank files bring (a journal in the
company currency, an amount, a label, no partner, no foreign currency) the
outcome is fully determined, so this service writes the same rows with one
INSERT per table per chunk: ``account_move`` (posted, named by Odoo's own
sequence logic), ``account_move_line`` (liquidity and suspense lines) and
``account_bank_statement_line``; then it lets the ORM recompute what depends
on the new rows (the statements' balances and flags).

Whenever the outcome is not certain, the chunk goes through the ORM
``create`` instead; ``_bulk_refusal`` lists each case and why.

The row builders are in ``statement_line_bulk_rows``, the numbering helpers
(period of a name, sequence gaps) in ``statement_line_bulk_sequence``.
"""

import logging
import re

import psycopg2.errors

from odoo import api, fields, models
from odoo.tools import SQL, split_every

from odoo.addons.finsync_base.models.bulk_sql import foreign_overrides, insert_rows, next_ids
from odoo.addons.queue_job.exception import RetryableJobError

_logger = logging.getLogger(__name__)

# Rows per INSERT: one INSERT per table per chunk of this many statement lines.
BULK_CHUNK = 1000

# The statement line values the fast path understands (what the importer
# prepares). Any other key (partner, foreign currency, counterpart account,
# line_ids, ...) changes the entries the ORM builds: such lines use the ORM.
BULK_VALS = frozenset(
    {
        "statement_id",
        "journal_id",
        "date",
        "payment_ref",
        "amount",
        "partner_name",
        "account_number",
        "transaction_type",
        "finsync_import_id",
        "sequence",
        # create() forces move_type to "entry" (and writes it into the values).
        "move_type",
    }
)

# Stored computed fields the ORM leaves empty on the entry of such a line
# (no partner, no invoice, no payment, no taxes, no product). The fast path
# writes NULL there; a stored computed field outside this list and outside the
# columns it writes (an extension module's) means it cannot know the value,
# and the ORM is used.
EMPTY_COMPUTED = {
    "account.move": {
        "auto_post_until",
        "commercial_partner_id",
        "delivery_date",
        "fiscal_position_id",
        "incoterm_location",
        "invoice_payment_term_id",
        "invoice_user_id",
        "narration",
        "partner_bank_id",
        "partner_shipping_id",
        "payment_reference",
        "preferred_payment_method_line_id",
        # sale: the sales team of sale documents only (an entry keeps none).
        "team_id",
    },
    "account.move.line": {
        "analytic_distribution",
        "invoice_date",
        "partner_id",
        "payment_id",
        "product_uom_id",
        "ref",
        "tax_group_id",
        "tax_line_id",
    },
    "account.bank.statement.line": set(),
}
# The methods whose effect the fast path reproduces, per model: another module's
# override of one of them (a check, a side effect, other values) would be
# skipped by the INSERTs, so the lines then go through the ORM.
BULK_REPLACED_METHODS = {
    "account.move": ("create", "write", "_post"),
    "account.move.line": ("create", "write", "_post"),
    "account.bank.statement.line": ("create", "write", "_post"),
}
# Modules whose versions of those methods the fast path reproduces ("base" is
# the ORM itself). Any other module overriding them is "foreign".
BULK_KNOWN_MODULES = frozenset({"base", "account", "mail", "analytic"})
# Single overrides the fast path reproduces too, each acting on invoices only, never
# on a statement line's entry: finsync_base's ``_post`` emits outbound events;
# sale's ``_post`` reconciles an invoice with its order's online payments.
BULK_KNOWN_OVERRIDES = frozenset(
    {("finsync_base", "account.move._post"), ("sale", "account.move._post")}
)

# Stored fields of account.bank.statement that depend on its lines (see _statement_values).
STATEMENT_FIELDS = ["first_line_index", "date", "balance_end", "is_complete", "journal_id"]


class BulkConflict(Exception):
    """Another transaction holds the sequence numbers this chunk wanted."""


class FinsyncStatementLineBulk(models.AbstractModel):
    """Create posted bank statement lines: bulk SQL where the result is certain, ORM otherwise.

    ``_create_posted(vals_list)`` takes the values ``account.bank.statement.line
    .create`` takes and returns the lines (in the order of ``vals_list``), posted,
    with their journal entries, exactly as ``create`` would leave them: every
    stored column of ``account_move``, ``account_move_line`` and
    ``account_bank_statement_line`` gets the value the ORM gives it (a test
    compares both paths column by column).
    """

    _name = "finsync.statement.line.bulk"
    _description = "FinSync bulk posting of bank statement lines"

    # ------------------------------------------------------------------
    # Entry point
    # ------------------------------------------------------------------
    @api.model
    def _create_posted(self, vals_list, chunk_size=BULK_CHUNK):
        StLine = self.env["account.bank.statement.line"].with_context(tracking_disable=True)
        if not vals_list:
            return StLine.browse()
        ids_by_index = {}
        by_journal = {}
        for index, vals in enumerate(vals_list):
            by_journal.setdefault(vals.get("journal_id"), []).append(index)
        for journal_id, indexes in by_journal.items():
            journal = self.env["account.journal"].browse(journal_id)
            for chunk in split_every(chunk_size, indexes, list):
                chunk_vals = [vals_list[i] for i in chunk]
                lines = self._create_chunk(journal, chunk_vals)
                ids_by_index.update(zip(chunk, lines.ids, strict=True))
        return StLine.browse([ids_by_index[i] for i in range(len(vals_list))])

    @api.model
    def _create_chunk(self, journal, vals_list):
        StLine = self.env["account.bank.statement.line"].with_context(tracking_disable=True)
        reason = self._bulk_refusal(journal, vals_list)
        if reason:
            _logger.info(
                "FinSync: %d statement lines of journal %s posted through the ORM: %s",
                len(vals_list),
                journal.id,
                reason,
            )
            return StLine.create(vals_list)
        try:
            return self._insert_chunk(journal, vals_list)
        except BulkConflict as err:
            if self.env.context.get("job_uuid"):
                # A new transaction sees the numbers the other one committed.
                raise RetryableJobError(str(err), seconds=5) from err
            _logger.info("FinSync: %s; posting through the ORM", err)
            return StLine.create(vals_list)

    # ------------------------------------------------------------------
    # When the ORM must do it
    # ------------------------------------------------------------------
    @api.model
    def _bulk_refusal(self, journal, vals_list):
        """Why these lines cannot be written in bulk (a sentence), or None.

        Each refusal is a case where the ORM does something the fast path
        does not reproduce:

        - values other than ``BULK_VALS`` (a partner, a foreign currency, a
          counterpart account, explicit journal items): the entry differs
          (partner on the lines, conversion rates, other accounts);
        - a statement of another journal: Odoo's statement compute refuses
          lines of two journals;
        - a journal in another currency than its company's: the company
          amounts come from currency rates;
        - a journal that hashes its entries (``restrict_mode_hash_table``):
          the inalterability chain must be built by Odoo;
        - a journal without suspense or bank account, archived, restricted to
          some accounts, or with a deprecated or inactive account or currency:
          the ORM refuses with its own message, which the user must see;
        - a date in a locked period (the ORM moves the entry to the first open
          date);
        - an analytic distribution model matching the lines: the ORM fills the
          distribution and creates analytic lines when posting;
        - a user who may not post entries: the ORM raises the access error;
        - stored computed fields added by other modules that the fast path
          does not know how to fill;
        - another module overriding ``create``, ``write`` or ``_post`` of the
          entries, their items or the statement lines (read from the registry
          at each chunk, see ``_foreign_overrides``): the fast path would skip
          its code;
        - the company turned the fast path off (``finsync_bulk_posting``).
        """
        unknown = {key for vals in vals_list for key in vals if vals[key]} - BULK_VALS
        if unknown:
            return f"values it does not handle ({', '.join(sorted(unknown))})"
        if not journal or journal.type not in ("bank", "cash", "credit"):
            return "no bank journal"
        if any(
            vals.get("journal_id") != journal.id
            or not vals.get("date")
            or not vals.get("payment_ref")
            for vals in vals_list
        ):
            return "lines without journal, date or label"
        company = journal.company_id
        if not company.finsync_bulk_posting:
            return "fast posting turned off for the company"
        foreign = self._foreign_overrides()
        if foreign:
            return (
                "methods overridden by other modules ("
                + ", ".join(
                    f"{module}: {', '.join(methods)}" for module, methods in sorted(foreign.items())
                )
                + ")"
            )
        statements = self.env["account.bank.statement"].browse(
            {vals["statement_id"] for vals in vals_list if vals.get("statement_id")}
        )
        if any(st.journal_id and st.journal_id != journal for st in statements):
            return "statements of another journal"
        if journal.currency_id and journal.currency_id != company.currency_id:
            return "journal in a foreign currency"
        if journal.restrict_mode_hash_table:
            return "journal with hashed entries"
        accounts = journal.default_account_id | journal.suspense_account_id
        if not journal.default_account_id or not journal.suspense_account_id:
            return "journal without bank or suspense account"
        if not journal.active or any(
            a.deprecated or (a.company_ids and company not in a.company_ids) for a in accounts
        ):
            return "archived journal or deprecated account"
        if journal.account_control_ids:
            return "journal restricted to some accounts"
        if not company.currency_id.active:
            return "inactive currency"
        if not self.env.su and not self.env.user.has_group("account.group_account_invoice"):
            return "user may not post entries"
        dates = {fields.Date.to_date(vals["date"]) for vals in vals_list}
        if any(company._get_violated_lock_dates(day, False, journal) for day in dates):
            return "dates in a locked period"
        if self._analytic_distribution(journal):
            return "analytic distribution models apply"
        extra = self._unknown_computed_fields()
        if extra:
            return f"stored computed fields of other modules ({', '.join(extra)})"
        return None

    @api.model
    def _foreign_overrides(self):
        """{module: ["model.method", ...]} for the modules outside ``BULK_KNOWN_MODULES``
        that define a method of ``BULK_REPLACED_METHODS`` in the registry's classes.

        The registry's class of a model inherits every module's class of it:
        each class of its MRO that defines the method is one override, and the
        function's module names the addon it comes from.
        """
        return foreign_overrides(
            self.env, BULK_REPLACED_METHODS, BULK_KNOWN_MODULES, BULK_KNOWN_OVERRIDES
        )

    @api.model
    def _analytic_distribution(self, journal):
        """What Odoo's analytic mixin would put on the two journal items (empty normally)."""
        Distribution = self.env["account.analytic.distribution.model"]
        found = {}
        for account in journal.default_account_id | journal.suspense_account_id:
            found.update(
                Distribution._get_distribution(
                    {
                        "product_id": False,
                        "product_categ_id": False,
                        "partner_id": False,
                        "partner_category_id": [],
                        "account_prefix": account.code,
                        "company_id": journal.company_id.id,
                    }
                )
                or {}
            )
        return found

    @api.model
    def _unknown_computed_fields(self):
        unknown = []
        for model, written in self._written_fields().items():
            for name, field in self.env[model]._fields.items():
                if (
                    field.store
                    and field.column_type
                    and (field.compute or field.related)
                    and name not in written
                    and name not in EMPTY_COMPUTED[model]
                ):
                    unknown.append(f"{model}.{name}")
        return unknown

    @api.model
    def _written_fields(self):
        return {
            "account.move": set(self._move_row_keys()),
            "account.move.line": set(self._move_line_row_keys()),
            "account.bank.statement.line": set(self._st_line_row_keys()),
        }

    # ------------------------------------------------------------------
    # Bulk insert
    # ------------------------------------------------------------------
    @api.model
    def _insert_chunk(self, journal, vals_list):
        """One INSERT per table for ``vals_list`` (all of ``journal``)."""
        env = self.env
        StLine = env["account.bank.statement.line"]
        Move = env["account.move"]
        Line = env["account.move.line"]
        for model in (StLine, Move, Line):
            model.check_access("create")
        env.flush_all()
        count = len(vals_list)
        move_ids = next_ids(self.env, Move._table, count)
        st_line_ids = next_ids(self.env, StLine._table, count)
        aml_ids = next_ids(self.env, Line._table, 2 * count)
        ctx = self._context_values(journal)
        names, sequence_cache = self._sequence_names(journal, vals_list, move_ids)
        move_rows, aml_rows, st_rows = [], [], []
        for i, vals in enumerate(vals_list):
            line = self._line_values(vals, ctx)
            line.update(
                move_id=move_ids[i],
                st_line_id=st_line_ids[i],
                aml_ids=aml_ids[2 * i : 2 * i + 2],
                **names[move_ids[i]],
            )
            move_rows.append(self._move_row(line, ctx))
            aml_rows += self._move_line_rows(line, ctx)
            st_rows.append(self._st_line_row(line, vals, ctx))
        try:
            with env.cr.savepoint(flush=False):
                # Posted names are covered by the unique index account_move_unique_name:
                # inserting them takes the same lock Odoo's _locked_increment takes.
                # The moves and their statement lines point to each other: the
                # moves' side is filled once both exist.
                self._insert(Move._table, move_rows)
                self._insert(StLine._table, st_rows)
                self._insert(Line._table, aml_rows)
                env.cr.execute(
                    SQL(
                        """UPDATE account_move move SET statement_line_id = line.id
                             FROM account_bank_statement_line line
                            WHERE line.move_id = move.id AND line.id = ANY(%s)""",
                        st_line_ids,
                    )
                )
        except psycopg2.errors.UniqueViolation as err:
            if "account_move_unique_name" not in str(err):
                raise
            raise BulkConflict(
                self.env._(
                    "another transaction numbered entries of journal %(journal)s meanwhile",
                    journal=journal.display_name,
                )
            ) from err
        Move._get_sequence_cache().update(sequence_cache)
        self._after_insert(journal, move_ids, aml_ids, st_line_ids, names)
        return StLine.browse(st_line_ids)

    @api.model
    def _insert(self, table, rows):
        # The rows carry labels and account numbers: a failure is neither logged
        # nor raised with its values. Unique violations propagate (their message
        # quotes the key only: an entry name, an import id): the caller knows a
        # lost race for a name, and the gateways' jobs retry a repeated id.
        insert_rows(
            self.env,
            self.env._("%(count)s rows of %(table)s", count=len(rows), table=table),
            table,
            rows,
            keep=(psycopg2.errors.UniqueViolation,),
        )

    # ------------------------------------------------------------------
    # Names: Odoo's sequence logic, one query per period (the period itself
    # and the gap flags are in statement_line_bulk_sequence; _sequence_names
    # stays on this class, where the tests patch it)
    # ------------------------------------------------------------------
    @api.model
    def _sequence_names(self, journal, vals_list, move_ids):
        """Names as ``account.move._compute_name`` gives them, and the sequence cache after.

        Odoo names the moves of one create sorted by (date, ref, id), each from
        the last name of its journal and period. Here the last name is read
        once per period with Odoo's own methods on a new move of that journal
        and date (``_get_next_sequence_format``), and the numbers follow it; a
        number this transaction already holds (the sequence cache of
        ``_locked_increment``) is continued from.
        """
        Move = self.env["account.move"]
        cache = Move._get_sequence_cache()
        order = sorted(
            range(len(vals_list)),
            key=lambda i: (fields.Date.to_date(vals_list[i]["date"]), move_ids[i]),
        )
        split_regex = re.compile(
            Move._make_regex_non_capturing(Move._sequence_fixed_regex.replace(r"?P<seq>", ""))
        )
        names, new_cache, period = {}, {}, None
        for i in order:
            day = fields.Date.to_date(vals_list[i]["date"])
            if period is None or not period["start"] <= day <= period["end"]:
                period = self._sequence_period(journal, day, cache, new_cache)
            period["seq"] += 1
            name = period["format"].format(**period["values"], seq=period["seq"])
            new_cache[period["key"]] = period["seq"]
            matching = split_regex.match(name)
            names[move_ids[i]] = {
                "name": name,
                "sequence_prefix": name[: matching.start(1)],
                "sequence_number": int(matching.group(1) or 0),
            }
        return names, new_cache

    # ------------------------------------------------------------------
    # After the insert
    # ------------------------------------------------------------------
    @api.model
    def _after_insert(self, journal, move_ids, aml_ids, st_line_ids, names):
        """Settle sequence gaps, refresh the ORM caches and recompute what depends on the rows."""
        self._settle_sequence_gaps(journal, names)
        env = self.env
        env.invalidate_all()
        moves = env["account.move"].browse(move_ids)
        amls = env["account.move.line"].browse(aml_ids)
        st_lines = env["account.bank.statement.line"].browse(st_line_ids)
        statements, statement_values = self._statement_values(journal, st_lines)
        protected = [
            ([f for f in records._fields.values() if f.store], records)
            for records in (moves, amls, st_lines)
        ]
        Statement = env["account.bank.statement"]
        statement_fields = [Statement._fields[name] for name in STATEMENT_FIELDS]
        protected.append((statement_fields, statements))
        # What the ORM's create triggers on other records; the new rows' own
        # fields are written already, and the statements' totals are set below
        # from one query instead of reading every line of every statement.
        with env.protecting(protected):
            for records in (moves, amls, st_lines):
                records.modified(
                    [name for name, field in records._fields.items() if field.store], create=True
                )
            for field in statement_fields:
                env.cache.update(
                    statements,
                    field,
                    [
                        field.convert_to_cache(values[field.name], st)
                        for st, values in zip(statements, statement_values, strict=True)
                    ],
                    dirty=True,
                )
            statements.modified(STATEMENT_FIELDS)
        st_lines.check_access("create")

    @api.model
    def _statement_values(self, journal, st_lines):
        """The statements' stored totals, as ``account.bank.statement`` computes them.

        ``_compute_date_index``, ``_compute_balance_end``, ``_compute_is_complete``
        and ``_compute_journal_id`` read every line of the statement through the
        ORM; for a statement of 100,000 lines posted in chunks that makes each
        chunk slower than the last. One aggregate query gives the same values:
        the first line's internal index, the date of the last posted line, the
        opening balance plus the posted lines, complete when that is the
        closing balance, and the lines' journal.
        """
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT statement_id FROM account_bank_statement_line
                    WHERE id = ANY(%s) AND statement_id IS NOT NULL""",
                st_lines.ids,
            )
        )
        statements = self.env["account.bank.statement"].browse(
            sorted(row[0] for row in self.env.cr.fetchall())
        )
        if not statements:
            return statements, []
        self.env.cr.execute(
            SQL(
                """
                SELECT line.statement_id,
                       MIN(line.internal_index COLLATE "C"),
                       (ARRAY_AGG(move.date ORDER BY line.internal_index COLLATE "C" DESC)
                            FILTER (WHERE move.state = 'posted'
                                    AND line.internal_index IS NOT NULL))[1],
                       COALESCE(SUM(line.amount) FILTER (WHERE move.state = 'posted'), 0),
                       COUNT(*) FILTER (WHERE move.state = 'posted'),
                       ARRAY_AGG(DISTINCT line.journal_id)
                  FROM account_bank_statement_line line
                  JOIN account_move move ON move.id = line.move_id
                 WHERE line.statement_id = ANY(%s)
                 GROUP BY line.statement_id
                """,
                statements.ids,
            )
        )
        rows = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        values = []
        for statement in statements:
            first_index, last_date, posted_total, posted_count, journal_ids = rows[statement.id]
            currency = journal.currency_id or journal.company_id.currency_id
            balance_end = currency.round(statement.balance_start + float(posted_total))
            values.append(
                {
                    "first_line_index": first_index,
                    "date": last_date,
                    "balance_end": balance_end,
                    "is_complete": bool(posted_count)
                    and currency.compare_amounts(balance_end, statement.balance_end_real) == 0,
                    "journal_id": journal_ids[0] if len(journal_ids) == 1 else None,
                }
            )
        return statements, values
