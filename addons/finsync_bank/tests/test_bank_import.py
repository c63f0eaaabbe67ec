import base64
import datetime
from decimal import Decimal
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.finsync_testing.tools.generate import (
    Line,
    StatementSpec,
    camt053,
    ofx,
    sample_lines,
)
from odoo.addons.queue_job.job import Job

from .common import IBAN, BankImportCommon


@tagged("post_install", "-at_install")
class TestBankImport(BankImportCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(user=cls.accountant_user)

    def _spec(self, count=3, opening="1000.00", start=datetime.date(2026, 1, 1), **kwargs):
        return StatementSpec(
            account=IBAN,
            currency=self.currency.name,
            opening_balance=Decimal(opening),
            start=start,
            end=start + datetime.timedelta(days=27),
            lines=sample_lines(count, start=start),
            **kwargs,
        )

    def _lines(self):
        return self.env["account.bank.statement.line"].search(
            [("journal_id", "=", self.journal.id)]
        )

    def test_camt_file_becomes_transactions_and_statement_lines(self):
        spec = self._spec(count=4)
        wizard = self._import(("jan.xml", camt053(spec)))
        self.assertEqual(wizard.state, "done", wizard.message)
        self.assertTrue(wizard.message.startswith("4 new, 0 already imported."), wizard.message)
        statement = wizard.statement_ids
        self.assertEqual(statement.journal_id, self.journal)
        self.assertEqual(len(statement.line_ids), 4)
        self.assertEqual(self.currency.compare_amounts(statement.balance_start, 1000.0), 0)
        self.assertEqual(
            self.currency.compare_amounts(statement.balance_end_real, float(spec.closing)), 0
        )
        self.assertTrue(statement.is_complete)
        transactions = statement.line_ids.finsync_transaction_ids
        self.assertEqual(len(transactions), 4)
        self.assertEqual(set(transactions.mapped("state")), {"settled"})
        first = transactions.filtered(lambda t: t.end_to_end_id == "E2E-L-1")
        self.assertEqual(first.remittance, "INV/2026/00001")
        self.assertEqual(first.event_id, wizard.event_ids)
        self.assertEqual(wizard.event_ids.state, "done")
        self.assertEqual(wizard.event_ids.lines_new, 4)
        # Every posted entry balances.
        for move in statement.line_ids.move_id:
            self.assertEqual(
                self.currency.compare_amounts(
                    sum(move.line_ids.mapped("debit")), sum(move.line_ids.mapped("credit"))
                ),
                0,
            )

    def test_same_or_overlapping_file_imports_nothing_twice(self):
        spec = self._spec(count=3)
        self._import(("jan.ofx", ofx(spec)))
        again = self._import(("jan-copy.ofx", ofx(spec)))
        self.assertTrue(again.message.startswith("0 new, 3 already imported."), again.message)
        spec.lines.append(
            Line(Decimal("55.10"), datetime.date(2026, 1, 28), remittance="late", reference="L-X")
        )
        overlap = self._import(("jan-full.ofx", ofx(spec)))
        self.assertTrue(overlap.message.startswith("1 new, 3 already imported."), overlap.message)
        self.assertEqual(len(self._lines()), 4)
        self.assertEqual(
            self.env["finsync.transaction"].search_count(
                [("event_id.backend_id.backend_type", "=", "bank_file")]
            ),
            4,
        )

    def test_unknown_account_is_named_and_nothing_is_written(self):
        spec = self._spec()
        spec.account = "DE89370400440532013000"
        wizard = self._wizard(("other.xml", camt053(spec)))
        wizard.action_preview()
        self.assertEqual(wizard.state, "error")
        self.assertIn("DE89370400440532013000", wizard.message)
        self.assertIn("other.xml", wizard.message)
        wizard.action_import()
        self.assertEqual(wizard.state, "error")
        self.assertFalse(self._lines())
        self.assertFalse(self.env["finsync.transaction"].search([("external_id", "like", "L0")]))
        event = self.env["finsync.event"].search([("payload_filename", "=", "other.xml")])
        self.assertEqual(event.state, "failed", "the raw file is kept for replay")

    def test_bad_file_names_file_and_line_and_writes_nothing(self):
        good = ("good.xml", camt053(self._spec()))
        truncated = ("cut.xml", camt053(self._spec(start=datetime.date(2026, 2, 1)))[:700])
        wizard = self._wizard(good, truncated)
        wizard.action_import()
        self.assertEqual(wizard.state, "error")
        self.assertIn("cut.xml", wizard.message)
        self.assertIn("line", wizard.message)
        self.assertFalse(self._lines(), "the good file is not half-imported either")

    def test_xml_with_external_entity_is_refused(self):
        evil = (
            b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>'
        )
        wizard = self._wizard(("evil.xml", evil))
        wizard.action_import()
        self.assertEqual(wizard.state, "error")
        self.assertNotIn("root:", wizard.message)
        self.assertFalse(self._lines())

    def test_continuity_gap_and_totals_open_exceptions(self):
        self._import(("jan.xml", camt053(self._spec(opening="1000.00"))))
        february = self._spec(opening="5.00", start=datetime.date(2026, 2, 1))
        february.statement_id = "STMT-2"
        wizard = self._import(("feb.xml", camt053(february)))
        self.assertEqual(wizard.exception_ids.exception_type, "statement_gap")
        self.assertIn("5.00", wizard.exception_ids.description)
        march = self._spec(opening="0", start=datetime.date(2026, 3, 1))
        march.statement_id = "STMT-3"
        march.opening_balance = february.closing
        march.closing_balance = Decimal("1.00")
        wizard = self._import(("mar.xml", camt053(march)))
        self.assertIn("balance_mismatch", wizard.exception_ids.mapped("exception_type"))

    def test_dropping_files_on_the_bank_journal_opens_the_import(self):
        attachment = self.env["ir.attachment"].create(
            {"name": "drop.ofx", "datas": base64.b64encode(ofx(self._spec()))}
        )
        action = self.journal.create_document_from_attachment(attachment.ids)
        self.assertEqual(action["res_model"], "finsync.bank.import")
        wizard = self.env["finsync.bank.import"].with_context(**action["context"]).create({})
        self.assertEqual(wizard.journal_id, self.journal)
        self.assertEqual(wizard.attachment_ids, attachment)
        wizard.action_preview()
        self.assertEqual(wizard.preview_ids.new_count, 3)
        self.assertEqual(wizard.preview_ids.journal_id, self.journal)

    def test_replay_of_an_imported_file_duplicates_nothing(self):
        wizard = self._import(("jan.xml", camt053(self._spec(count=5))))
        event = wizard.event_ids
        event.with_user(self.manager_user).with_context(finsync_process_now=True).action_replay()
        self.assertEqual(event.state, "done")
        self.assertEqual(event.lines_new, 0)
        self.assertEqual(event.lines_duplicate, 5)
        self.assertEqual(len(self._lines()), 5)

    def test_bad_files_are_refused_with_file_and_place_and_nothing_is_written(self):
        good = camt053(self._spec())
        laughs = (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Document>&b;</Document>'
        )
        mt940 = (
            b":20:STMT\r\n:25:NL91ABNA0417164300\r\n:28C:1\r\n"
            b":60F:C260101EUR100,00\r\n:61:2613010101C10,00NTRFNONREF\r\n"
        )
        cases = {
            "truncated.xml": (good[: len(good) // 2], "line"),
            "garbage.bin": (b"\x00\x01\x02 not a bank file", None),
            "utf16.ofx": (ofx(self._spec()).decode("cp1252").encode("utf-16"), None),
            "laughs.xml": (laughs, None),
            "bad-date.sta": (mt940, "line"),
            "wrong-locale.xml": (good.replace(b">100.", b">100,", 1), "element"),
            "empty.ofx": (b"", None),
        }
        self.backend_files = self.env["finsync.backend"]._get_bank_file_backend(self.env.company)
        for name, (data, place) in cases.items():
            with self.subTest(file=name):
                wizard = self._wizard((name, data))
                wizard.action_import()
                self.assertEqual(wizard.state, "error")
                self.assertIn(name, wizard.message)
                if place:
                    self.assertIn(place, wizard.message)
        self.assertFalse(self._lines())
        self.assertFalse(
            self.env["finsync.transaction"].search([("backend_id", "=", self.backend_files.id)])
        )
        self.assertFalse(
            self.env["account.bank.statement"].search([("journal_id", "=", self.journal.id)])
        )

    def test_files_over_the_size_limit_are_refused_before_reading(self):
        backend = self.env["finsync.backend"]._get_bank_file_backend(self.env.company)
        backend.sudo().max_file_size_mb = 1
        big = camt053(self._spec(count=4000))
        self.assertGreater(len(big), 1024 * 1024)
        wizard = self._wizard(("big.xml", big))
        wizard.action_preview()
        self.assertEqual(wizard.state, "error")
        self.assertIn("big.xml", wizard.message)
        self.assertIn("limit", wizard.message)

    def test_csv_through_a_saved_profile(self):
        profile = (
            self.env["finsync.bank.profile"]
            .sudo()
            .create(
                {
                    "name": "Test bank CSV",
                    "delimiter": ";",
                    "date_column": "Date",
                    "date_format": "%d/%m/%Y",
                    "decimal_separator": ",",
                    "thousands_separator": ".",
                    "amount_column": "Amount",
                    "balance_column": "Balance",
                    "description_columns": "Description",
                    "partner_name_column": "Counterparty",
                    "currency": self.currency.name,
                }
            )
        )
        csv = (
            b"Date;Description;Counterparty;Amount;Balance\n"
            b"02/03/2026;INV/2026/00011;Deco Addict;1.250,00;2.250,00\n"
            b"03/03/2026;Office rent;Wood Corner;-800,50;1.449,50\n"
        )
        wizard = self._wizard(("march.csv", csv), journal=self.journal)
        wizard.profile_id = profile
        wizard.action_preview()
        self.assertEqual(wizard.state, "preview", wizard.message)
        self.assertEqual(wizard.preview_ids.line_count, 2)
        self.assertIn("Deco Addict", wizard.preview_ids.sample)
        wizard.action_import()
        self.assertTrue(wizard.message.startswith("2 new, 0 already imported."), wizard.message)
        lines = self._lines().sorted("date")
        self.assertEqual(lines.mapped("payment_ref"), ["INV/2026/00011", "Office rent"])
        self.assertEqual(self.currency.compare_amounts(lines[1].amount, -800.5), 0)
        statement = wizard.statement_ids
        self.assertEqual(self.currency.compare_amounts(statement.balance_start, 1000.0), 0)
        self.assertEqual(self.currency.compare_amounts(statement.balance_end_real, 1449.5), 0)

    def test_csv_with_a_bad_row_names_its_line(self):
        profile = (
            self.env["finsync.bank.profile"]
            .sudo()
            .create(
                {
                    "name": "Strict CSV",
                    "date_column": "Date",
                    "date_format": "%Y-%m-%d",
                    "amount_column": "Amount",
                    "currency": self.currency.name,
                }
            )
        )
        csv = b"Date,Amount\n2026-03-01,10.00\n2026-02-30x,11.00\n"
        wizard = self._wizard(("bad.csv", csv), journal=self.journal)
        wizard.profile_id = profile
        wizard.action_preview()
        self.assertEqual(wizard.state, "error")
        self.assertIn("bad.csv", wizard.message)
        self.assertIn("line 3", wizard.message)

    def test_trailer_totals_that_disagree_parse_with_a_warning_and_open_an_exception(self):
        data = camt053(self._spec(count=3)).replace(
            b"      <Ntry>",
            b"      <TxsSummry><TtlNtries><NbOfNtries>7</NbOfNtries></TtlNtries></TxsSummry>\n"
            b"      <Ntry>",
            1,
        )
        wizard = self._wizard(("totals.xml", data))
        wizard.action_preview()
        self.assertEqual(wizard.state, "preview", wizard.message)
        self.assertTrue(wizard.preview_ids.warnings)
        wizard.action_import()
        self.assertTrue(wizard.message.startswith("3 new, 0 already imported."), wizard.message)
        self.assertEqual(wizard.exception_ids.exception_type, "balance_mismatch")
        self.assertEqual(wizard.exception_ids.event_id, wizard.event_ids)

    def test_large_files_are_posted_by_jobs(self):
        wizard = self._wizard(("big.xml", camt053(self._spec(count=5))))
        wizard = wizard.with_context(finsync_sync_posting_limit=2)
        wizard.action_preview()
        wizard.action_import()
        self.assertIn("5 new, 0 already imported.", wizard.message)
        self.assertIn("background job", wizard.message)
        transactions = wizard.event_ids.transaction_ids
        self.assertEqual(len(transactions), 5, "visible in FinSync at once")
        self.assertFalse(transactions.statement_line_id, "posted later")
        jobs = (
            self.env["queue.job"]
            .sudo()
            .search([("method_name", "=", "_post_statement_lines"), ("state", "=", "pending")])
        )
        self.assertEqual(len(jobs), 1)
        Job.load(self.env, jobs.uuid).perform()
        self.assertEqual(len(transactions.statement_line_id), 5)
        self.assertTrue(wizard.statement_ids.is_complete)
        # A job run twice posts nothing twice.
        Job.load(self.env, jobs.uuid).perform()
        self.assertEqual(len(self._lines()), 5)

    # -- bad input and stable ids --------------------------------------------------------

    def _csv_profile(self):
        return (
            self.env["finsync.bank.profile"]
            .sudo()
            .create(
                {
                    "name": "Plain CSV",
                    "date_column": "Date",
                    "date_format": "%Y-%m-%d",
                    "amount_column": "Amount",
                    "description_columns": "Text",
                    "currency": self.currency.name,
                }
            )
        )

    def _assert_kept_failed(self, wizard, filename):
        """The wizard says what failed in one line; the file is in the inbox, failed, with
        its exception; nothing else was written."""
        self.assertEqual(wizard.state, "error")
        self.assertIn(filename, wizard.message)
        self.assertNotIn("\n", wizard.message)
        event = self.env["finsync.event"].search([("payload_filename", "=", filename)])
        self.assertEqual(event.state, "failed", "the raw file is kept for replay")
        self.assertEqual(event.last_error, wizard.message)
        exception = self.env["finsync.exception"].search([("event_id", "=", event.id)])
        self.assertEqual(exception.exception_type, "sync_failed")
        self.assertFalse(self.env["finsync.transaction"].search([("event_id", "=", event.id)]))
        self.assertFalse(self._lines())
        return event

    def test_csv_with_a_nul_byte_past_the_sniffed_head_names_its_line(self):
        rows = b"".join(b"2026-03-01,10.00,payment %d\n" % i for i in range(300))
        data = b"Date,Amount,Text\n" + rows + b"2026-03-02,11.00,bad\x00text\n"
        self.assertGreater(data.index(b"\x00"), 4096)
        wizard = self._wizard(("nul.csv", data), journal=self.journal)
        wizard.profile_id = self._csv_profile()
        wizard.action_import()
        self._assert_kept_failed(wizard, "nul.csv")
        self.assertIn("line 302", wizard.message)

    def test_an_unforeseen_error_is_named_and_the_file_kept(self):
        """A database or parser error no one worded: one line naming the file, the file kept."""
        importer = type(self.env["finsync.bank.importer"])
        cases = {
            "_import_statements": ValueError(
                "A string literal cannot contain NUL (0x00) characters.\nDETAIL: secret"
            ),
            "_parse_file": None,
        }
        for method, error in cases.items():
            name = f"{method}.xml"
            with self.subTest(method), self.assertLogs("odoo.addons", "WARNING"):
                if error is None:
                    error = RecursionError("maximum recursion depth")
                    patcher = patch(
                        "odoo.addons.finsync_bank.models.finsync_bank_importer.parse_file",
                        side_effect=error,
                    )
                else:
                    patcher = patch.object(importer, method, side_effect=error)
                with patcher:
                    wizard = self._wizard((name, camt053(self._spec(statement_id=method))))
                    wizard.action_import()
                self._assert_kept_failed(wizard, name)
                self.assertIn(str(error).splitlines()[0], wizard.message)
                self.assertNotIn("secret", wizard.message)

    def test_intraday_then_end_of_day_imports_each_entry_once(self):
        """A reference repeated in the end-of-day file does not change its entries' ids."""
        day = datetime.date(2026, 4, 2)

        def spec(statement_id, *lines):
            return StatementSpec(
                account=IBAN,
                currency=self.currency.name,
                opening_balance=Decimal("1000.00"),
                start=day,
                end=day,
                statement_id=statement_id,
                lines=[
                    Line(Decimal(amount), day, remittance=f"INV {ref} {amount}", reference=ref)
                    for ref, amount in lines
                ],
            )

        intraday = (
            camt053(spec("INTRADAY", ("R-1", "10.00"), ("R-2", "20.00")))
            .replace(b"camt.053.001.", b"camt.052.001.")
            .replace(b"BkToCstmrStmt", b"BkToCstmrAcctRpt")
            .replace(b"<Stmt>", b"<Rpt>")
            .replace(b"</Stmt>", b"</Rpt>")
        )
        end_of_day = camt053(spec("EOD", ("R-1", "10.00"), ("R-2", "20.00"), ("R-2", "30.00")))
        first = self._import(("intraday.xml", intraday))
        self.assertEqual(first.event_ids.state, "done", first.message)
        self.assertTrue(first.message.startswith("2 new, 0 already imported."), first.message)
        second = self._import(("eod.xml", end_of_day))
        self.assertTrue(second.message.startswith("1 new, 2 already imported."), second.message)
        transactions = self.env["finsync.transaction"].search(
            [("event_id", "in", (first.event_ids | second.event_ids).ids)]
        )
        self.assertEqual(sorted(transactions.mapped("amount")), [10.0, 20.0, 30.0])

    def test_mt940_bank_code_and_account_finds_the_journal_by_either(self):
        """``:25:51230800/0000007304`` is shown whole and finds the journal of either form."""
        currency = self.currency.name
        data = (
            f":20:BLZ-1\n:25:51230800/0000007304\n:28C:1/1\n:60F:C260105{currency}100,00\n"
            f":61:2601050105C25,00NTRFNONREF//BLZ-REF-1\n:86:Invoice 7304\n"
            f":62F:C260105{currency}125,00\n-\n"
        ).encode()
        for number in ("0000007304", "51230800/0000007304"):
            with self.subTest(journal_account=number):
                self.journal.bank_account_id.sudo().acc_number = number  # setup only
                wizard = self._wizard((f"blz-{len(number)}.sta", data))
                wizard.action_preview()
                self.assertEqual(wizard.state, "preview", wizard.message)
                self.assertEqual(wizard.preview_ids.account, "51230800/0000007304")
                self.assertEqual(wizard.preview_ids.journal_id, self.journal)
        wizard.action_import()
        self.assertEqual(wizard.statement_ids.journal_id, self.journal)
        self.assertEqual(len(wizard.statement_ids.line_ids), 1)
