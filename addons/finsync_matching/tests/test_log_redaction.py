import contextlib
from unittest.mock import patch

import psycopg2.errors

from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_wizards import WizardCommon

LOGGER = "odoo.addons.finsync_matching"


@tagged("post_install", "-at_install")
class TestMatchingLogsNoLabel(WizardCommon):
    """Matching logs ids, counts and error classes, never a bank line's label."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule.write({"amount_tolerance": 5.0, "writeoff_account_id": cls.writeoff_account.id})
        cls.env.company.finsync_writeoff_threshold = 1.0

    def test_a_refused_write_off_request_is_logged_without_the_label(self):
        Request = type(self.env["finsync.writeoff.request"])

        def refuse(request, st_line, *args, **kwargs):
            # Like "The items pay the whole bank line <label>": the error quotes it.
            raise UserError(
                request.env._("nothing to write off on %(label)s", label=st_line.payment_ref)
            )

        with (
            patch.object(Request, "_request", refuse),
            self.assertLogs(LOGGER, "WARNING") as logs,
        ):
            [tx] = self._import_lines(
                self._line("76.00", f"{self.invoice_b.name} Jane Payer", "L1")
            )
        self.assertIn("Jane Payer", tx.statement_line_id.payment_ref)
        output = "\n".join(logs.output)
        self.assertIn("no write-off request for statement line", output)
        self.assertIn("UserError", output)
        self.assertNotIn("Jane Payer", output)

    def test_a_failed_batch_is_logged_without_the_labels(self):
        [tx] = self._import_lines(self._line("10.00", "misc Jane Payer", "L2"))
        st_line = tx.statement_line_id
        Matching = type(self.env["finsync.matching"])

        def fail(matching, entries):
            raise UserError(
                matching.env._(
                    "cannot reconcile %(label)s", label=entries[0]["st_line"].payment_ref
                )
            )

        with (
            patch.object(Matching, "_reconcile_entries", fail),
            self.assertLogs(LOGGER, "WARNING") as logs,
        ):
            failed = self.env["finsync.matching"]._reconcile_decisions(
                [(st_line, None, None, {"st_line": st_line})]
            )
        self.assertEqual(len(failed), 1)
        output = "\n".join(logs.output)
        self.assertIn("a batch of 1 lines failed (UserError)", output)
        self.assertNotIn("Jane Payer", output)

    def _payers_in_a_failed_transaction(self, st_line):
        """``_payers`` run after an error: its query fails (the transaction is aborted)."""
        st_line.read(["account_number", "partner_name", "company_id"])
        with (
            self.assertRaises(psycopg2.errors.InFailedSqlTransaction),
            self.env.cr.savepoint(),
        ):
            with contextlib.suppress(psycopg2.errors.DivisionByZero):
                self.env.cr.execute("SELECT 1 / 0", log_exceptions=False)
            self.env["finsync.matching"]._payers(st_line)

    def test_a_failed_payer_lookup_logs_no_account_number_or_name(self):
        [tx] = self._import_lines(self._line("10.00", "misc", "L3"))
        st_line = tx.statement_line_id.sudo()
        st_line.write({"account_number": "NL91ABNA0417164300", "partner_name": "Jane Payer"})
        with self.assertNoLogs("odoo.sql_db", "ERROR"):
            self._payers_in_a_failed_transaction(st_line)
        st_line.write({"account_number": False})
        with self.assertNoLogs("odoo.sql_db", "ERROR"):
            self._payers_in_a_failed_transaction(st_line)
