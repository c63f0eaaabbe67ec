import contextlib
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..models.finsync_ledger_fast import FinsyncLedger
from .common import BankImportCommon

# Columns that hold ids or the moment of writing, not values a user sees.
SKIPPED = {"id", "create_uid", "create_date", "write_uid", "write_date"}


class _Rollback(Exception):
    pass


@tagged("post_install", "-at_install")
class TestLedgerFastPath(BankImportCommon):
    """The ledger's set-based path leaves the rows Odoo's reconciliation leaves."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_currency = cls.setup_other_currency(
            "EUR" if cls.currency.name != "EUR" else "USD"
        )
        cls.env = cls.env(user=cls.accountant_user)
        cls.journal = cls.journal.with_env(cls.env)
        cls.fee_account = cls.company_data["default_account_expense"].with_env(cls.env)

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _invoice(self, move_type, amount, currency=None, partner=None):
        invoice = self.init_invoice(
            move_type,
            partner=partner or self.partner_a,
            amounts=[amount],
            currency=currency,
            invoice_date="2026-01-10",
            post=True,
        )
        return invoice.with_env(self.env)

    def _item(self, invoice):
        return invoice.line_ids.filtered(
            lambda aml: aml.account_id.account_type in ("asset_receivable", "liability_payable")
        )

    def _st_line(self, amount, label):
        return self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.journal.id,
                "date": "2026-01-20",
                "payment_ref": label,
                "amount": amount,
            }
        )

    def _situations(self):
        """Entries covering the cases: three the fast path takes, four it leaves."""
        paid = self._invoice("out_invoice", 100.0)
        bill = self._invoice("in_invoice", 250.0)
        fee = self._invoice("out_invoice", 80.0)
        partial = self._invoice("out_invoice", 300.0)
        foreign = self._invoice("out_invoice", 200.0, currency=self.other_currency)
        several = self._invoice("out_invoice", 30.0) | self._invoice("out_invoice", 20.0)
        # Partner B pays in two instalments (30% in advance): one item of two is paid.
        instalment = self._item(self._invoice("out_invoice", 100.0, partner=self.partner_b))
        advance = instalment.sorted("balance")[0]
        entries = [
            (self._st_line(100.0, "INV paid"), [(self._item(paid), None)], None),
            (self._st_line(-250.0, "BILL paid"), [(self._item(bill), 250.0)], None),
            (self._st_line(77.5, "INV less fee"), [(self._item(fee), None)], self.fee_account),
            (self._st_line(120.0, "INV part"), [(self._item(partial), 120.0)], None),
            (
                self._st_line(self._item(foreign).balance, "INV foreign"),
                [(self._item(foreign), None)],
                None,
            ),
            (self._st_line(advance.balance, "INV advance"), [(advance, None)], None),
            (self._st_line(50.0, "INV two"), [(item, None) for item in self._item(several)], None),
        ]
        return [
            {
                "st_line": st_line,
                "allocations": allocations,
                "writeoff_account": writeoff,
                "explanation": "test",
            }
            for st_line, allocations, writeoff in entries
        ]

    def _rows(self, table, ids):
        self.env.flush_all()
        self.env.cr.execute(f"SELECT * FROM {table} WHERE id = ANY(%s) ORDER BY id", [ids])
        names = [column.name for column in self.env.cr.description]
        return [dict(zip(names, row, strict=True)) for row in self.env.cr.fetchall()]

    def _snapshot(self, entries):
        """Every stored column of the entries' moves, their items, partials and full
        reconciles; ids of rows that differ between the paths replaced by keys."""
        st_lines = self.env["account.bank.statement.line"].union(*(e["st_line"] for e in entries))
        invoices = (
            self.env["account.move.line"]
            .union(*(item for e in entries for item, _amount in e["allocations"]))
            .move_id
        )
        moves = st_lines.move_id | invoices
        self.env.invalidate_all()
        lines = moves.line_ids
        partials = lines.matched_debit_ids | lines.matched_credit_ids
        exchange = partials.exchange_move_id | partials.full_reconcile_id.exchange_move_id
        lines |= exchange.line_ids
        line_key = {
            row["id"]: (row["move_id"], row["account_id"], row["balance"], row["name"])
            for row in self._rows("account_move_line", lines.ids)
        }
        fulls = sorted(
            partials.full_reconcile_id,
            key=lambda full: min(line_key[line.id] for line in full.reconciled_line_ids),
        )
        full_key = {full.id: ("full", i) for i, full in enumerate(fulls)}
        partial_key = {
            partial.id: ("partial", line_key[partial.debit_move_id.id]) for partial in partials
        }

        def clean(row, table):
            row = {k: v for k, v in row.items() if k not in SKIPPED}
            if table == "account_move_line":
                if row["full_reconcile_id"]:
                    self.assertEqual(row["matching_number"], str(row["full_reconcile_id"]))
                    row["matching_number"] = full_key[row["full_reconcile_id"]]
                elif row["matching_number"]:
                    self.assertTrue(row["matching_number"].startswith("P"))
                    row["matching_number"] = partial_key[int(row["matching_number"][1:])]
            for column in ("debit_move_id", "credit_move_id"):
                if column in row:
                    row[column] = line_key[row[column]]
            if row.get("full_reconcile_id"):
                row["full_reconcile_id"] = full_key[row["full_reconcile_id"]]
            return row

        return {
            "account_move": [
                clean(r, "account_move") for r in self._rows("account_move", moves.ids)
            ],
            "account_move_line": sorted(
                (clean(r, "account_move_line") for r in self._rows("account_move_line", lines.ids)),
                key=lambda row: (row["move_id"], row["account_id"], row["balance"], row["name"]),
            ),
            "account_partial_reconcile": sorted(
                (
                    clean(r, "account_partial_reconcile")
                    for r in self._rows("account_partial_reconcile", partials.ids)
                ),
                key=lambda row: row["debit_move_id"],
            ),
            "account_full_reconcile": [
                clean(r, "account_full_reconcile")
                for r in self._rows("account_full_reconcile", [f.id for f in fulls])
            ],
            "account_bank_statement_line": [
                clean(r, "account_bank_statement_line")
                for r in self._rows("account_bank_statement_line", st_lines.ids)
            ],
            "exchange_moves": len(exchange),
        }

    def _reconcile_and_roll_back(self, entries, orm):
        """Reconcile the entries (through the ORM only when ``orm``), snapshot, undo."""
        ledger = self.env["finsync.ledger"]
        if orm:
            ledger = ledger.with_context(finsync_ledger_orm=True)
        result = {}
        with contextlib.suppress(_Rollback), self.env.cr.savepoint():
            with self._spy_fast() as fast:
                ledger._reconcile_entries([dict(entry) for entry in entries])
            result["fast"] = sum(len(call.args[1]) for call in fast.call_args_list)
            result["snapshot"] = self._snapshot(entries)
            raise _Rollback
        self.env.invalidate_all()
        return result

    def _spy_fast(self):
        return patch.object(
            FinsyncLedger,
            "_reconcile_fast",
            autospec=True,
            side_effect=FinsyncLedger._reconcile_fast,
        )

    # ------------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------------
    def test_fast_rows_equal_the_orm_rows_column_by_column(self):
        entries = self._situations()
        orm = self._reconcile_and_roll_back(entries, orm=True)
        fast = self._reconcile_and_roll_back(entries, orm=False)
        self.assertEqual(orm["fast"], 0)
        # Full payment of an invoice, of a bill and of an instalment; the fee, the
        # part, the foreign currency and the two invoices go through the ORM.
        self.assertEqual(fast["fast"], 3)
        for table, rows in orm["snapshot"].items():
            self.assertEqual(fast["snapshot"][table], rows, table)
        # The situations are what they say.
        payment_states = [row["payment_state"] for row in fast["snapshot"]["account_move"]]
        self.assertIn("partial", payment_states)
        self.assertIn("paid", payment_states)

    def test_fast_path_reconciles_and_undoes_as_odoo(self):
        invoice = self._invoice("out_invoice", 100.0)
        st_line = self._st_line(100.0, "INV paid")
        with self._spy_fast() as fast:
            self.env["finsync.ledger"]._reconcile_entries(
                [{"st_line": st_line, "allocations": [(self._item(invoice), None)]}]
            )
        self.assertEqual(fast.call_count, 1)
        self.assertTrue(st_line.is_reconciled)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(invoice.amount_residual, 0.0)
        st_line.action_undo_reconciliation()
        self.assertFalse(st_line.is_reconciled)
        self.assertEqual(invoice.payment_state, "not_paid")
        self.assertEqual(invoice.amount_residual, 100.0)
        _liquidity, suspense, other = st_line._seek_for_lines()
        self.assertEqual(suspense.account_id, self.journal.suspense_account_id)
        self.assertFalse(other)

    def test_item_reconciled_meanwhile_is_refused_and_nothing_written(self):
        """The item's row is written only while it is still open with the residual
        read: one reconciled by someone else is refused, nothing written."""
        invoice = self._invoice("out_invoice", 100.0)
        item = self._item(invoice)
        st_line = self._st_line(100.0, "INV paid")
        other_line = self._st_line(100.0, "INV paid elsewhere")
        entry = {"st_line": st_line, "allocations": [(item, None)]}
        ledger = self.env["finsync.ledger"]
        ledger._prefetch_entries([entry])
        fast, _other = ledger._fast_entries([entry])
        self.assertEqual(len(fast), 1)
        ledger._reconcile_entries([{"st_line": other_line, "allocations": [(item, None)]}])
        with self.assertRaises(UserError), self.env.cr.savepoint():
            ledger._reconcile_fast(fast)
        self.env.invalidate_all()
        self.assertFalse(st_line.is_reconciled)
        _liquidity, suspense, _other = st_line._seek_for_lines()
        self.assertEqual(suspense.account_id, self.journal.suspense_account_id)
        self.assertEqual(len(item.matched_credit_ids), 1)

    def test_fast_path_runs_odoo_checks_on_the_counterpart(self):
        """A journal restricted to other accounts refuses the counterpart, as Odoo's
        create does."""
        invoice = self._invoice("out_invoice", 100.0)
        st_line = self._st_line(100.0, "INV paid")
        self.journal.sudo().account_control_ids = self.fee_account | (
            self.journal.default_account_id | self.journal.suspense_account_id
        )
        with self.assertRaises(UserError), self.env.cr.savepoint():
            self.env["finsync.ledger"]._reconcile_entries(
                [{"st_line": st_line, "allocations": [(self._item(invoice), None)]}]
            )
        self.env.invalidate_all()
        self.assertFalse(st_line.is_reconciled)
        self.assertEqual(invoice.payment_state, "not_paid")

    def test_overrides_of_other_modules_send_the_entries_to_the_orm(self):
        ledger = self.env["finsync.ledger"]
        self.assertFalse(ledger._fast_foreign_overrides())
        with patch.object(type(ledger), "_fast_foreign_overrides", return_value={"other"}):
            self.assertTrue(ledger._fast_refusal([{"st_line": self._st_line(1.0, "x")}]))
