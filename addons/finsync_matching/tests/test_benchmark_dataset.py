import csv
import importlib.util
import os
import tempfile
from pathlib import Path
from unittest import SkipTest

from odoo.tests import tagged

from odoo.addons.finsync_base.tests.common import FinsyncCommon
from odoo.addons.finsync_testing.tools.benchmark import read_dataset, score, write_matches

FIXTURE = Path(__file__).parent / "data" / "match_fixture"
BENCH = Path(__file__).resolve().parents[3] / "setup" / "bench_match.py"


def load_bench():
    """setup/bench_match.py of this repository (the tests run what the benchmark runs)."""
    if not BENCH.exists():
        raise SkipTest(f"{BENCH} not found: these tests run from a FinSync repository")
    spec = importlib.util.spec_from_file_location("finsync_bench_match", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestBenchmarkDataset(FinsyncCommon):
    """``setup/bench match --dataset`` on the committed fixture: load, post with
    matching, collect each line's outcome, write matches.csv and score it."""

    def test_fixture_is_matched_as_labelled(self):
        bench = load_bench()
        invoices, lines = read_dataset(FIXTURE)
        self.assertEqual(len(invoices), 11)
        self.assertEqual(len(lines), 11)
        bench.bench_rule(self.env)
        bench.load_invoices(self.env, invoices)
        transactions = bench.import_statement(self.env, lines)
        # Posting queues the journal's matching job, which runs at once here.
        transactions.with_context(queue_job__no_delay=True)._post_statement_lines()
        st_line_ids = transactions.statement_line_id.ids
        outcomes = bench.finsync_outcomes(self.env, st_line_ids)
        scored = score(lines, outcomes)
        self.assertEqual(scored["wrong"], [])
        self.assertEqual((scored["precision"], scored["recall"]), (1.0, 1.0))
        self.assertEqual((scored["expected"], scored["auto"]), (8, 8))
        self.assertEqual(outcomes["FX02"]["auto"], {"INV/2026/00102", "RINV/2026/00011"})
        self.assertEqual(outcomes["FX08"]["exception"], "ambiguous")
        self.assertEqual(outcomes["FX11"]["exception"], "unmatched")
        self.assertEqual(bench.ledger_checks(self.env, st_line_ids), (0, 0))

        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "matches.csv")
            write_matches(path, lines, outcomes)
            with open(path, newline="") as handle:
                rows = {row["line_id"]: row for row in csv.DictReader(handle)}
        self.assertEqual(rows["FX06"]["auto_reconciled"], "INV/2026/00105;INV/2026/00106")
        self.assertEqual(rows["FX08"]["auto_reconciled"], "")
        self.assertEqual(rows["FX08"]["exception"], "ambiguous")

    def test_cloned_invoices_are_the_orms_and_match_as_labelled(self):
        """The bench's SQL loader (``--clone``): 3 invoices through the ORM, 8 cloned;
        the loader itself compares a clone with the ORM's invoice column by column
        (and stops otherwise); the clones are open, balanced, numbered on, and
        matching reconciles them as labelled."""
        bench = load_bench()
        bench.ORM_SEED = 3
        clone = bench._clone_module()
        invoices, lines = read_dataset(FIXTURE)
        bench.bench_rule(self.env)
        moves = bench.load_invoices(self.env, invoices, clone=True)
        self.assertEqual(len(moves), 11)
        by_ref = {move.ref: move for move in moves}
        self.assertEqual(set(by_ref), {row["number"] for row in invoices})
        self.assertEqual(set(moves.mapped("state")), {"posted"})
        self.assertEqual(set(moves.mapped("payment_state")), {"not_paid"})
        self.assertEqual(len(set(moves.mapped("name"))), 11)
        for row in invoices:
            move = by_ref[row["number"]]
            self.assertEqual(move.partner_id.name, row["partner"])
            self.assertEqual(move.payment_reference, row["payment_reference"])
            self.assertEqual(move.invoice_date_due, row["due_date"])
            self.assertEqual(
                move.currency_id.compare_amounts(
                    move.amount_residual_signed, float(row["amount_total"])
                ),
                0,
                row["number"],
            )
        self.assertEqual(clone.unbalanced_moves(self.env, moves.ids), 0)
        # Clones continue the ORM's names, without gaps (the credit note has its own).
        invoices_only = moves.filtered(lambda m: m.move_type == "out_invoice")
        self.assertEqual(len(set(invoices_only.mapped("sequence_prefix"))), 1)
        numbers = sorted(invoices_only.mapped("sequence_number"))
        self.assertEqual(numbers, list(range(numbers[0], numbers[0] + 10)))

        transactions = bench.import_statement(self.env, lines)
        transactions.with_context(queue_job__no_delay=True)._post_statement_lines()
        st_line_ids = transactions.statement_line_id.ids
        scored = score(lines, bench.finsync_outcomes(self.env, st_line_ids))
        self.assertEqual((scored["precision"], scored["recall"]), (1.0, 1.0))
        self.assertEqual((scored["expected"], scored["auto"]), (8, 8))
        self.assertEqual(bench.ledger_checks(self.env, st_line_ids), (0, 0))
        self.assertEqual(by_ref["INV/2026/00104"].payment_state, "paid")

    def test_clone_checks_catch_a_wrong_row(self):
        """The loader's checks are not blind: a clone whose residual differs from
        the ORM's, and an entry that does not balance, are reported."""
        bench = load_bench()
        bench.ORM_SEED = 3
        clone = bench._clone_module()
        invoices, _lines = read_dataset(FIXTURE)
        moves = bench.load_invoices(self.env, invoices, clone=True)
        partners, journal = bench._partners_and_journal(self.env, invoices)
        row = invoices[-1]
        move = moves.filtered(lambda m: m.ref == row["number"])
        self.env.flush_all()
        self.env.cr.execute(
            """UPDATE account_move_line SET amount_residual = amount_residual + 1
                WHERE move_id = %s AND display_type = 'payment_term'""",
            [move.id],
        )
        differences = clone.compare_with_orm(
            self.env,
            lambda: bench._orm_invoices(self.env, [row], partners, journal, {}),
            move,
        )
        self.assertEqual(
            [(table, kind, column) for table, kind, column, _clone, _orm in differences],
            [("account_move_line", "payment_term", "amount_residual")],
        )
        self.assertEqual(clone.unbalanced_moves(self.env, moves.ids), 0)
        self.env.cr.execute(
            """UPDATE account_move_line SET balance = balance + 1, debit = debit + 1
                WHERE move_id = %s AND display_type = 'payment_term'""",
            [move.id],
        )
        self.assertEqual(clone.unbalanced_moves(self.env, moves.ids), 1)

    def test_a_wrong_automatic_match_costs_precision(self):
        _invoices, lines = read_dataset(FIXTURE)
        outcomes = {
            "FX01": {"auto": {"INV/2026/00101"}},
            "FX08": {"auto": {"INV/2026/00107"}},  # a guess between twins
            "FX09": {"proposed": {"INV/2026/00109"}, "exception": "amount_mismatch"},
        }
        scored = score(lines, outcomes)
        self.assertEqual(scored["auto"], 2)
        self.assertEqual(scored["precision"], 0.5)
        self.assertEqual(scored["recall"], 0.125)
        self.assertEqual(scored["wrong"], ["FX08"])
        self.assertEqual((scored["proposals"], scored["exceptions"]), (1, 1))

    def test_unreadable_dataset_says_where(self):
        with tempfile.TemporaryDirectory() as directory:
            for name in ("invoices.csv", "statement.csv"):
                with open(FIXTURE / name) as src, open(os.path.join(directory, name), "w") as dst:
                    dst.write(src.read())
            with open(os.path.join(directory, "statement.csv"), "a") as handle:
                handle.write("FX12,2026-02-30,1.00,,X,,y,,\n")
            with self.assertRaisesRegex(ValueError, "statement.csv line 13: date '2026-02-30'"):
                read_dataset(directory)
