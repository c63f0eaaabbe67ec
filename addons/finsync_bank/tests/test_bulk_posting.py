import contextlib
import copy
import datetime
from decimal import Decimal
from unittest.mock import patch

import psycopg2.errors

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.finsync_testing.tools.generate import StatementSpec, camt053, sample_lines
from odoo.addons.queue_job.exception import RetryableJobError

from ..models import finsync_transaction as transaction_module
from ..models.statement_line_bulk import FinsyncStatementLineBulk
from .common import IBAN, BankImportCommon

# Dates over a year end, out of order: two sequence periods, names by date.
DATES = (
    datetime.date(2026, 1, 5),
    datetime.date(2025, 12, 30),
    datetime.date(2026, 1, 2),
    datetime.date(2025, 12, 31),
    datetime.date(2026, 1, 2),
    datetime.date(2026, 1, 9),
)
AMOUNTS = (125.5, -40.25, 0.0, 1999.99, -0.01, 310.0)
# Columns that hold ids or the moment of writing, not values a user sees.
SKIPPED = {"id", "create_uid", "create_date", "write_uid", "write_date"}


class _Rollback(Exception):
    pass


@tagged("post_install", "-at_install")
class TestBulkPosting(BankImportCommon):
    """The bulk path writes the rows the ORM writes, and Odoo keeps working on them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_currency = cls.setup_other_currency(
            "EUR" if cls.currency.name != "EUR" else "USD"
        )
        cls.env = cls.env(user=cls.accountant_user)
        cls.journal = cls.journal.with_env(cls.env)
        cls.statement = cls.env["account.bank.statement"].create(
            {
                "name": "Equivalence",
                "journal_id": cls.journal.id,
                "balance_start": 1000.0,
                "balance_end_real": 1000.0 + sum(AMOUNTS),
            }
        )

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _vals(self, prefix="q", journal=None, statement=None, dates=DATES, amounts=AMOUNTS):
        journal = journal or self.journal
        statement = self.statement if statement is None else statement
        return [
            {
                "statement_id": statement.id,
                "journal_id": journal.id,
                "date": day,
                "payment_ref": f"Line {i} {prefix}",
                "amount": amount,
                "partner_name": "Azure Interior" if i % 2 else None,
                "account_number": "BE71096123456769" if i % 3 else None,
                "transaction_type": "PMNT/RCDT/ESCT",
                "finsync_import_id": f"{prefix}-{i}",
            }
            for i, (day, amount) in enumerate(zip(dates, amounts, strict=True))
        ]

    def _bulk(self, vals_list):
        return self.env["finsync.statement.line.bulk"]._create_posted(vals_list)

    def _orm(self, vals_list):
        return (
            self.env["account.bank.statement.line"]
            .with_context(tracking_disable=True)
            .create(vals_list)
        )

    def _rows(self, table, ids, order="id"):
        self.env.flush_all()
        self.env.cr.execute(f"SELECT * FROM {table} WHERE id = ANY(%s) ORDER BY {order}", [ids])
        names = [column.name for column in self.env.cr.description]
        return [dict(zip(names, row, strict=True)) for row in self.env.cr.fetchall()]

    def _snapshot(self, lines):
        """Every stored column of the lines' three tables, ids replaced by positions.

        The columns come from the database; columns pointing to the new rows
        (``move_id``, ``statement_line_id``, ...) are replaced by the position
        of the row they point to, and ``internal_index`` by its date and
        sequence part after checking that it ends with the line's own id.
        """
        lines = lines.sorted("finsync_import_id")
        moves = lines.move_id
        amls = moves.line_ids.sorted(
            lambda aml: (aml.move_id.statement_line_id.finsync_import_id, aml.id)
        )
        position = {
            "account_bank_statement_line": {line.id: i for i, line in enumerate(lines)},
            "account_move": {move.id: i for i, move in enumerate(lines.move_id)},
            "account_move_line": {aml.id: i for i, aml in enumerate(amls)},
        }
        targets = {}
        for table, model in (
            ("account_bank_statement_line", "account.bank.statement.line"),
            ("account_move", "account.move"),
            ("account_move_line", "account.move.line"),
        ):
            for name, field in self.env[model]._fields.items():
                if field.type == "many2one" and field.store:
                    comodel = self.env[field.comodel_name]._table
                    if comodel in position:
                        targets[table, name] = comodel
        snapshot = {}
        for table, records in (
            ("account_bank_statement_line", lines),
            ("account_move", moves),
            ("account_move_line", amls),
        ):
            rows = {row["id"]: row for row in self._rows(table, records.ids)}
            ordered = []
            for record in records:
                row = dict(rows[record.id])
                for column in list(row):
                    if column in SKIPPED:
                        row.pop(column)
                    elif (table, column) in targets and row[column] is not None:
                        row[column] = ("new", position[targets[table, column]][row[column]])
                if table == "account_bank_statement_line":
                    self.assertTrue(row["internal_index"].endswith(f"{record.id:0>10}"))
                    row["internal_index"] = row["internal_index"][:-10]
                ordered.append(row)
            snapshot[table] = ordered
        return snapshot

    def _statement_state(self, statement):
        statement.invalidate_recordset()
        return {
            "balance_start": statement.balance_start,
            "balance_end": statement.balance_end,
            "balance_end_real": statement.balance_end_real,
            "is_complete": statement.is_complete,
            "is_valid": statement.is_valid,
            "date": statement.date,
            "first_line_index": (statement.first_line_index or "")[:-10],
            "journal_id": statement.journal_id.id,
        }

    def _run_and_roll_back(self, create, vals_list):
        """Create the lines, snapshot them and the statement, and undo everything."""
        result = {}
        with contextlib.suppress(_Rollback), self.env.cr.savepoint():
            lines = create(vals_list)
            result["snapshot"] = self._snapshot(lines)
            result["statement"] = self._statement_state(self.statement)
            result["names"] = sorted(lines.move_id.mapped("name"))
            raise _Rollback
        # Odoo's per-transaction sequence cache does not know about the rollback.
        self.env.cr.precommit.data.pop("sequence.mixin", None)
        self.env.invalidate_all()
        return result

    def _spy_insert(self):
        return patch.object(
            FinsyncStatementLineBulk,
            "_insert_chunk",
            autospec=True,
            side_effect=FinsyncStatementLineBulk._insert_chunk,
        )

    def _assert_balanced(self, moves):
        for move in moves:
            self.assertEqual(
                self.currency.compare_amounts(
                    sum(move.line_ids.mapped("debit")), sum(move.line_ids.mapped("credit"))
                ),
                0,
                move.name,
            )

    # ------------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------------
    def test_bulk_rows_equal_the_orm_rows_column_by_column(self):
        vals_list = self._vals()
        orm = self._run_and_roll_back(self._orm, copy.deepcopy(vals_list))
        with self._spy_insert() as insert:
            bulk = self._run_and_roll_back(self._bulk, copy.deepcopy(vals_list))
        self.assertEqual(insert.call_count, 1, "the bulk path ran")
        for table, orm_rows in orm["snapshot"].items():
            bulk_rows = bulk["snapshot"][table]
            self.assertEqual(len(bulk_rows), len(orm_rows), table)
            self.assertGreater(len(orm_rows[0]), 15, f"{table}: every column is compared")
            for orm_row, bulk_row in zip(orm_rows, bulk_rows, strict=True):
                for column, value in orm_row.items():
                    self.assertEqual(bulk_row[column], value, f"{table}.{column}")
        self.assertEqual(bulk["statement"], orm["statement"])
        self.assertTrue(bulk["statement"]["is_complete"])
        self.assertTrue(bulk["statement"]["is_valid"])
        code = self.journal.code
        self.assertEqual(bulk["names"], orm["names"])
        self.assertEqual(
            bulk["names"],
            sorted(
                [f"{code}/2025/00001", f"{code}/2025/00002"]
                + [f"{code}/2026/0000{n}" for n in range(1, 5)]
            ),
        )

    def test_names_continue_the_journal_sequence_both_ways(self):
        code = self.journal.code
        self.assertFalse(self.statement.line_ids, "read into the ORM cache before posting")
        first = self._orm(self._vals("a", dates=DATES[:1], amounts=AMOUNTS[:1]))
        self.assertEqual(first.move_id.name, f"{code}/2026/00001")
        bulk = self._bulk(self._vals("b"))
        self.assertEqual(
            sorted(bulk.move_id.filtered(lambda m: m.date.year == 2026).mapped("name")),
            [f"{code}/2026/0000{n}" for n in range(2, 6)],
        )
        after = self._orm(self._vals("c", dates=DATES[:2], amounts=AMOUNTS[:2]))
        self.assertEqual(
            sorted(after.move_id.mapped("name")), [f"{code}/2025/00003", f"{code}/2026/00006"]
        )
        # The ORM cache knows the new lines without being told.
        self.assertEqual(self.statement.line_ids, first | bulk | after)
        self.assertEqual(
            self.currency.compare_amounts(
                self.statement.balance_end, 1000.0 + sum(AMOUNTS) + AMOUNTS[0] * 2 + AMOUNTS[1]
            ),
            0,
        )
        moves = (first | bulk | after).move_id
        self.assertEqual(len(set(moves.mapped("name"))), len(moves), "no number twice")
        self.assertFalse(any(moves.mapped("made_sequence_gap")), "no gap")
        self.assertEqual(set(moves.mapped("state")), {"posted"})
        self._assert_balanced(moves)

    def test_second_run_posts_nothing_twice(self):
        spec = StatementSpec(
            account=IBAN,
            currency=self.currency.name,
            opening_balance=Decimal("1000.00"),
            start=datetime.date(2026, 2, 1),
            end=datetime.date(2026, 2, 27),
            lines=sample_lines(7, start=datetime.date(2026, 2, 1), prefix="R"),
        )
        with self._spy_insert() as insert:
            wizard = self._import(("feb.xml", camt053(spec)))
        self.assertEqual(insert.call_count, 1, "posted by the bulk path")
        transactions = wizard.event_ids.transaction_ids
        lines = transactions.statement_line_id
        self.assertEqual(len(lines), 7)
        self.assertEqual(
            {tx.statement_line_id.finsync_import_id for tx in transactions},
            set(transactions.mapped("external_id")),
        )
        self.assertEqual(lines.finsync_transaction_ids, transactions, "the link both ways")
        self.assertTrue(wizard.statement_ids.is_complete)
        self._assert_balanced(lines.move_id)
        count = self.env["account.move"].search_count([("journal_id", "=", self.journal.id)])
        self.assertEqual(transactions._post_statement_lines(), "Nothing to post")
        again = self._import(("feb.xml", camt053(spec)))
        self.assertIn("0 new", again.message)
        self.assertEqual(
            self.env["account.move"].search_count([("journal_id", "=", self.journal.id)]), count
        )

    def test_large_files_are_ingested_in_slices_with_every_history(self):
        spec = StatementSpec(
            account=IBAN,
            currency=self.currency.name,
            opening_balance=Decimal("1000.00"),
            start=datetime.date(2026, 3, 1),
            end=datetime.date(2026, 3, 27),
            lines=sample_lines(5, start=datetime.date(2026, 3, 1), prefix="S"),
        )
        with patch.object(transaction_module, "INGEST_SLICE", 2):
            wizard = self._import(("mar.xml", camt053(spec)))
        transactions = wizard.event_ids.transaction_ids
        self.assertEqual(len(transactions), 5)
        self.assertEqual(len(set(transactions.mapped("external_id"))), 5)
        self.assertEqual(len(transactions.transition_ids), 5, "one history line each")
        self.assertEqual(len(transactions.statement_line_id), 5)
        self.assertTrue(wizard.statement_ids.is_complete)

    def test_reconcile_and_undo_on_bulk_posted_lines(self):
        invoice = self.init_invoice(
            "out_invoice", partner=self.partner_a, amounts=[125.5], post=True
        )
        line = self._bulk(self._vals("r", dates=DATES[:1], amounts=[invoice.amount_total]))
        receivable = invoice.line_ids.filtered(
            lambda aml: aml.account_id.account_type == "asset_receivable"
        )
        _liquidity, suspense, _other = line._seek_for_lines()
        line.move_id.with_context(force_delete=True, skip_readonly_check=True).write(
            {
                "line_ids": [
                    Command.delete(suspense.id),
                    Command.create(
                        {
                            "name": line.payment_ref,
                            "account_id": receivable.account_id.id,
                            "partner_id": self.partner_a.id,
                            "balance": -receivable.amount_residual,
                            "amount_currency": -receivable.amount_residual_currency,
                            "currency_id": receivable.currency_id.id,
                        }
                    ),
                ]
            }
        )
        counterpart = line.move_id.line_ids.filtered(
            lambda aml: aml.account_id == receivable.account_id
        )
        self.env["account.move.line"]._reconcile_plan([receivable | counterpart])
        self.assertTrue(line.is_reconciled)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        line.action_undo_reconciliation()
        self.assertFalse(line.is_reconciled)
        self.assertEqual(invoice.payment_state, "not_paid")
        _liquidity, suspense, other = line._seek_for_lines()
        self.assertEqual(suspense.account_id, self.journal.suspense_account_id)
        self.assertFalse(other)
        self._assert_balanced(line.move_id)

    def test_cases_the_bulk_path_leaves_to_the_orm(self):
        """Foreign currency, hashed journal, lock date: the ORM's result."""
        Bulk = self.env["finsync.statement.line.bulk"]
        vals = self._vals("f", dates=DATES[:1], amounts=AMOUNTS[:1])
        self.assertIsNone(Bulk._bulk_refusal(self.journal, vals))
        other_currency = self.other_currency
        self.assertIn(
            "values it does not handle",
            Bulk._bulk_refusal(
                self.journal,
                [dict(vals[0], foreign_currency_id=other_currency.id, amount_currency=10.0)],
            ),
        )
        foreign = (
            self.env["account.journal"]
            .sudo()
            .create(
                {
                    "name": "Foreign bank",
                    "code": "FORB",
                    "type": "bank",
                    "currency_id": other_currency.id,
                }
            )
        )
        self.assertEqual(
            Bulk._bulk_refusal(
                foreign,
                self._vals("g", journal=foreign, statement=self.env["account.bank.statement"]),
            ),
            "journal in a foreign currency",
        )
        with patch.object(
            FinsyncStatementLineBulk, "_insert_chunk", autospec=True, side_effect=AssertionError
        ):
            usd = self._bulk(
                self._vals("g", journal=foreign, statement=self.env["account.bank.statement"])
            )
            self.assertEqual(set(usd.move_id.mapped("state")), {"posted"})
            self._assert_balanced(usd.move_id)
            self.env.company.sudo().fiscalyear_lock_date = datetime.date(2025, 6, 30)
            locked = self._bulk(self._vals("l", dates=[datetime.date(2025, 6, 15)], amounts=[7.0]))
            self.assertGreater(
                locked.move_id.date, datetime.date(2025, 6, 30), "moved past the lock date by Odoo"
            )
        self.journal.sudo().restrict_mode_hash_table = True
        self.assertEqual(Bulk._bulk_refusal(self.journal, vals), "journal with hashed entries")

    @mute_logger("odoo.sql_db")
    def test_a_numbering_conflict_retries_the_job_or_uses_the_orm(self):
        """Numbers taken meanwhile: a job is retried, a request posts through the ORM."""
        existing = self._orm(self._vals("e", dates=DATES[:1], amounts=AMOUNTS[:1]))
        taken = existing.move_id.name
        original = FinsyncStatementLineBulk._sequence_names

        def clash(service, journal, vals_list, move_ids):
            # As if another transaction had committed this name after our snapshot.
            names, cache = original(service, journal, vals_list, move_ids)
            names[move_ids[0]] = dict(names[move_ids[0]], name=taken)
            return names, cache

        with patch.object(
            FinsyncStatementLineBulk, "_sequence_names", autospec=True, side_effect=clash
        ):
            with self.assertRaises(RetryableJobError):
                self.env["finsync.statement.line.bulk"].with_context(
                    job_uuid="test"
                )._create_posted(self._vals("j", dates=DATES[:2], amounts=AMOUNTS[:2]))
            self.assertFalse(
                self.env["account.bank.statement.line"].search(
                    [("finsync_import_id", "like", "j-%")]
                ),
                "the job's chunk left nothing behind",
            )
            lines = self._bulk(self._vals("k", dates=DATES[:2], amounts=AMOUNTS[:2]))
        self.assertEqual(len(lines), 2)
        self.assertEqual(set(lines.move_id.mapped("state")), {"posted"})
        moves = (existing | lines).move_id
        self.assertEqual(len(set(moves.mapped("name"))), 3, "no number twice")
        self._assert_balanced(moves)

    def test_a_failing_row_is_reported_without_its_label_or_account(self):
        """A row the database refuses is named by code, table and column, never its values."""
        vals_list = self._vals("n")
        vals_list[0].update(payment_ref="Rent Jane Payer", account_number="NL91ABNA0417164300")
        Bulk = type(self.env["finsync.statement.line.bulk"])
        st_line_row = Bulk._st_line_row

        def without_move(bulk, line, vals, ctx):
            return {**st_line_row(bulk, line, vals, ctx), "move_id": None}

        with (
            patch.object(Bulk, "_st_line_row", without_move),
            self.assertLogs("odoo", "WARNING") as logs,
            self.assertRaises(UserError) as caught,
            self.env.cr.savepoint(),
        ):
            self._bulk(vals_list)
        told = "\n".join([*logs.output, str(caught.exception)])
        self.assertIn("move_id", told)
        self.assertNotIn("Jane Payer", told)
        self.assertNotIn("0417164300", told)

    @mute_logger("odoo.sql_db")
    def test_a_failing_chunk_writes_nothing(self):
        """All or nothing: a line that cannot be inserted takes its whole chunk with it."""
        vals_list = self._vals("z")
        vals_list[-1]["finsync_import_id"] = vals_list[0]["finsync_import_id"]
        moves_before = self.env["account.move"].search_count([("journal_id", "=", self.journal.id)])
        with self.assertRaises(psycopg2.errors.UniqueViolation), self.env.cr.savepoint():
            self._bulk(vals_list)
        self.env.invalidate_all()
        self.assertEqual(
            self.env["account.move"].search_count([("journal_id", "=", self.journal.id)]),
            moves_before,
        )
