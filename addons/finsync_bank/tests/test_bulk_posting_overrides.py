import contextlib
import datetime
from unittest.mock import patch

from odoo.tests import tagged

from ..models import statement_line_bulk as bulk_module
from ..models.statement_line_bulk import FinsyncStatementLineBulk
from .common import BankImportCommon


@tagged("post_install", "-at_install")
class TestBulkPostingOverrides(BankImportCommon):
    """Another module's code on entries or statement lines is never skipped by the fast path."""

    def _vals(self, prefix, count=3):
        return [
            {
                "journal_id": self.journal.id,
                "date": datetime.date(2026, 1, 5),
                "payment_ref": f"Line {i} {prefix}",
                "amount": 10.0 + i,
                "finsync_import_id": f"{prefix}-{i}",
            }
            for i in range(count)
        ]

    def _post(self, vals_list):
        """Post through the service; the bulk INSERT must not be reached."""
        with patch.object(
            FinsyncStatementLineBulk, "_insert_chunk", autospec=True, side_effect=AssertionError
        ):
            return self.env["finsync.statement.line.bulk"]._create_posted(vals_list)

    @contextlib.contextmanager
    def _override(self, model, method):
        """Define ``method`` on the registry's class of ``model``, as a module would
        (here, this test module of finsync_bank); yields the list of its calls."""
        cls = type(self.env[model])
        original = getattr(cls, method)
        calls = []

        def override(records, *args, **kwargs):
            calls.append(records._name)
            return original(records, *args, **kwargs)

        with patch.object(cls, method, override, create=True):
            yield calls

    def test_an_override_of_posting_sends_the_lines_through_the_orm(self):
        Bulk = self.env["finsync.statement.line.bulk"]
        self.assertIsNone(Bulk._bulk_refusal(self.journal, self._vals("n")))
        with self._override("account.move", "_post") as calls:
            self.assertIn(
                "finsync_bank: account.move._post",
                Bulk._bulk_refusal(self.journal, self._vals("p")) or "",
            )
            with patch.object(bulk_module._logger, "info", wraps=bulk_module._logger.info) as log:
                lines = self._post(self._vals("p"))
        self.assertEqual(len(lines), 3)
        self.assertEqual(set(lines.move_id.mapped("state")), {"posted"})
        self.assertIn("account.move", calls, "the other module's _post ran")
        logged = [call.args[0] % call.args[1:] for call in log.call_args_list]
        self.assertTrue(any("finsync_bank: account.move._post" in line for line in logged), logged)

    def test_overrides_of_create_and_write_are_seen_and_run(self):
        Bulk = self.env["finsync.statement.line.bulk"]
        for model, method in (
            ("account.bank.statement.line", "create"),
            ("account.move.line", "create"),
            ("account.move", "write"),
        ):
            with self.subTest(model=model, method=method), self._override(model, method) as calls:
                refusal = Bulk._bulk_refusal(self.journal, self._vals("o"))
                self.assertIn(f"finsync_bank: {model}.{method}", refusal or "")
                self._post(self._vals(f"o-{model}-{method}"))
                self.assertTrue(calls, f"{model}.{method} of the other module ran")
        self.assertIsNone(Bulk._bulk_refusal(self.journal, self._vals("r")), "all restored")

    def test_the_company_can_turn_the_fast_path_off(self):
        Bulk = self.env["finsync.statement.line.bulk"]
        self.env.company.finsync_bulk_posting = False
        self.assertEqual(
            Bulk._bulk_refusal(self.journal, self._vals("c")),
            "fast posting turned off for the company",
        )
        lines = self._post(self._vals("c"))
        self.assertEqual(set(lines.move_id.mapped("state")), {"posted"})
