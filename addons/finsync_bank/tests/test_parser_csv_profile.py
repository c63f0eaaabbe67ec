import datetime
import io
import zipfile
from decimal import Decimal
from unittest.mock import patch

import openpyxl

from odoo.tests import BaseCase, tagged

from ..parsers import csv_profile, parse_file
from ..parsers.base import ParseError
from .corpus import corpus_file, corpus_files

# The OCA demo mapping ``sample_statement_map`` that the upstream tests start from.
OCA_BASE = {
    "delimiter": ",",
    "quotechar": '"',
    "date_column": "Date",
    "date_format": "%m/%d/%Y",
    "thousands_separator": ",",
    "decimal_separator": ".",
    "amount_column": "Amount",
    "original_currency_column": "Currency",
    "original_amount_column": "Amount Currency",
    "description_columns": ["Label"],
    "partner_name_column": "Partner Name",
    "bank_account_column": "Bank Account",
    "currency": "USD",  # the test journal's currency
}
NO_ORIGINAL = {"original_currency_column": None, "original_amount_column": None}
# OCA's distinct_credit_debit reads the Debit column as money in: the inverse of ours.
OCA_DEBIT_CREDIT = {
    "amount_column": None,
    "debit_column": "Debit",
    "credit_column": "Credit",
    "amount_inverse_sign": True,
}
# Per-test overrides of the upstream tests, translated into profile keys.
OCA_PROFILES = {
    "oca18__sample_statement_en.csv": {},
    "oca18__original_currency.csv": {},
    "oca18__empty_statement_en.csv": {},
    "oca18__balance.csv": {"balance_column": "Balance", **NO_ORIGINAL},
    "oca18__multi_currency.csv": {"original_amount_column": None},
    "oca18__debit_credit_amount.csv": {
        "balance_column": "Balance",
        **NO_ORIGINAL,
        **OCA_DEBIT_CREDIT,
    },
    "oca18__meta_data_separated_credit_debit.csv": {
        "skip_lines_before_header": 4,  # OCA's header_lines_skip_count 5 counts the header
        "skip_footer_lines": 1,
        "partner_name_column": None,
        "bank_account_column": None,
        "thousands_separator": "",
        "decimal_separator": ",",
        "date_format": "%m/%d/%y",
        **NO_ORIGINAL,
        **OCA_DEBIT_CREDIT,
    },
}
SIMPLE = {
    "date_column": "Date",
    "date_format": "%d.%m.%Y",
    "amount_column": "Amount",
    "decimal_separator": ",",
    "thousands_separator": ".",
    "currency": "EUR",
    "description_columns": ["Text"],
    "delimiter": ";",
}
SIMPLE_CSV = "Date;Text;Amount\n01.02.2026;Rent;-1.200,00\n02.02.2026;Salary;2.500,50\n"


def _parse(name):
    return csv_profile.parse(corpus_file(f"csv/{name}"), profile=OCA_BASE | OCA_PROFILES[name])


@tagged("post_install", "-at_install")
class TestCsvProfileParser(BaseCase):
    def assertParseError(self, data, profile, code, line, column=None):
        with self.assertRaises(ParseError) as caught:
            csv_profile.parse(data, profile=profile)
        err = caught.exception
        self.assertEqual((err.code, err.line), (code, line), err.message)
        if column:
            self.assertEqual(err.element, column)
        return err

    # -- conformance ----------------------------------------------------------------------

    def test_every_corpus_file_has_a_profile_and_parses(self):
        for name in corpus_files("csv"):
            with self.subTest(file=name):
                data = corpus_file(f"csv/{name}")
                self.assertTrue(csv_profile.sniff(data))
                if name == "oca18__empty_statement_en.csv":
                    self.assertParseError(data, OCA_BASE, "no_rows", 1)
                    continue
                result = _parse(name)
                self.assertEqual(result.format, "csv")
                (statement,) = result.statements
                self.assertEqual(statement.currency, "USD")
                self.assertTrue(all(tx.unique_id for tx in statement.transactions))

    def test_sample_statement(self):
        (statement,) = _parse("oca18__sample_statement_en.csv").statements
        first, second = statement.transactions
        self.assertEqual(first.amount, Decimal("-33.50"))
        self.assertEqual(first.booking_date, datetime.date(2018, 12, 15))
        self.assertEqual(first.remittance, "Your best supplier on 12/15/2018")
        self.assertEqual(first.counterparty_name, "John Doe")
        self.assertEqual(first.counterparty_account, "123456789")
        self.assertNotIn("original_currency", first.extra)
        self.assertEqual(second.amount, Decimal("1525.00"))
        self.assertEqual(second.extra["original_amount"], Decimal("1000.00"))
        self.assertEqual(second.extra["original_currency"], "EUR")
        self.assertIsNone(statement.account)  # the account column varies: counterparties

    def test_original_currency(self):
        (statement,) = _parse("oca18__original_currency.csv").statements
        (tx,) = statement.transactions
        self.assertEqual((tx.amount, tx.currency), (Decimal("1525.00"), "USD"))
        self.assertEqual(tx.extra["original_currency"], "EUR")
        self.assertEqual(tx.extra["original_amount"], Decimal("1000.00"))

    def test_balance(self):
        (statement,) = _parse("oca18__balance.csv").statements
        self.assertEqual(len(statement.transactions), 2)
        self.assertEqual(statement.opening_balance, Decimal("10.00"))
        self.assertEqual(statement.closing_balance, Decimal("1510.00"))
        self.assertEqual(
            statement.opening_balance + sum(tx.amount for tx in statement.transactions),
            statement.closing_balance,
        )
        self.assertEqual(statement.warnings, [])

    def test_debit_credit_amount(self):
        (statement,) = _parse("oca18__debit_credit_amount.csv").statements
        self.assertEqual(
            [tx.amount for tx in statement.transactions],
            [Decimal("-20.00"), Decimal("-13.50"), Decimal("33.50"), Decimal("1500.00")],
        )
        self.assertEqual(statement.opening_balance, Decimal("10.00"))
        self.assertEqual(statement.closing_balance, Decimal("1510.00"))
        self.assertEqual(statement.warnings, [])

    def test_metadata_lines_and_footer(self):
        (statement,) = _parse("oca18__meta_data_separated_credit_debit.csv").statements
        self.assertEqual(len(statement.transactions), 4)
        by_label = {tx.remittance: tx for tx in statement.transactions}
        self.assertEqual(by_label["LABEL 1"].amount, Decimal("50"))
        self.assertEqual(by_label["LABEL 4"].amount, Decimal("-1300"))
        self.assertEqual(by_label["LABEL 1"].extra["line"], 6)

    def test_multi_currency(self):
        (statement,) = _parse("oca18__multi_currency.csv").statements
        (tx,) = statement.transactions
        self.assertEqual(tx.amount, Decimal("-33.50"))
        self.assertNotIn("original_currency", tx.extra)
        self.assertEqual([(w.code, w.line) for w in statement.warnings], [("other_currency", 3)])

    def test_empty_statement(self):
        data = corpus_file("csv/oca18__empty_statement_en.csv")
        self.assertParseError(data, OCA_BASE, "no_rows", 1)

    # -- synthetic files ------------------------------------------------------------------

    def test_locale_profile_and_constant_account(self):
        data = ("Account;" + SIMPLE_CSV.replace("\n0", "\nDE12;0")).encode()
        statement = csv_profile.parse(data, profile=SIMPLE | {"bank_account_column": "Account"})
        statement = statement.statements[0]
        self.assertEqual(statement.account, "DE12")
        self.assertEqual(
            [tx.amount for tx in statement.transactions], [Decimal("-1200.00"), Decimal("2500.50")]
        )
        self.assertIsNone(statement.transactions[0].counterparty_account)

    def test_no_header_debit_credit_marker_and_newest_first(self):
        data = b"02/01/2026,5.00,C,150.00\n01/01/2026,10.00,D,145.00\n"
        profile = {
            "has_header": False,
            "date_column": 0,
            "date_format": "%m/%d/%Y",
            "amount_column": 1,
            "debit_credit_column": 2,
            "debit_value": "D",
            "credit_value": "C",
            "balance_column": 3,
        }
        statement = csv_profile.parse(data, profile=profile).statements[0]
        self.assertEqual(
            [tx.amount for tx in statement.transactions], [Decimal("-10.00"), Decimal("5.00")]
        )
        self.assertEqual(
            (statement.opening_balance, statement.closing_balance),
            (Decimal("155.00"), Decimal("150.00")),
        )
        self.assertEqual(statement.opening_date, datetime.date(2026, 1, 1))

    def test_balance_that_does_not_follow_is_a_warning(self):
        data = b"Date,Amount,Balance\n01/01/2026,10,110\n01/02/2026,5,999\n"
        profile = {
            "date_column": "Date",
            "date_format": "%m/%d/%Y",
            "amount_column": "Amount",
            "balance_column": "Balance",
        }
        statement = csv_profile.parse(data, profile=profile).statements[0]
        self.assertEqual([(w.code, w.line) for w in statement.warnings], [("balance_mismatch", 3)])

    def test_xlsx(self):
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(["Bank export"])
        sheet.append(["Date", "Text", "Amount"])
        sheet.append([datetime.datetime(2026, 2, 1), "Rent", -1200.5])
        sheet.append(["02.02.2026", "Salary", "2.500,50"])
        buffer = io.BytesIO()
        workbook.save(buffer)
        data = buffer.getvalue()
        self.assertTrue(csv_profile.sniff(data))
        profile = SIMPLE | {"skip_lines_before_header": 1}
        result = csv_profile.parse(data, profile=profile)
        self.assertEqual(result.format, "xlsx")
        first, second = result.statements[0].transactions
        self.assertEqual(
            (first.booking_date, first.amount), (datetime.date(2026, 2, 1), Decimal("-1200.5"))
        )
        self.assertEqual((second.amount, second.extra["line"]), (Decimal("2500.50"), 4))
        preview = csv_profile.preview(data, profile)
        self.assertEqual(preview["header"], ["Date", "Text", "Amount"])
        self.assertEqual(preview["rows"][0], ["2026-02-01", "Rent", "-1200.5"])

    def test_preview_reports_each_rows_error(self):
        data = (SIMPLE_CSV + "31.02.2026;Bad;1,00\nxx;;\n").encode()
        preview = csv_profile.preview(data, SIMPLE, rows=3)
        self.assertEqual(preview["header"], ["Date", "Text", "Amount"])
        self.assertEqual(preview["rows"][0], ["01.02.2026", "Rent", "-1.200,00"])
        self.assertEqual(preview["lines"], [2, 3, 4])
        self.assertEqual(preview["errors"][:2], [None, None])
        self.assertEqual(preview["errors"][2]["code"], "date")
        self.assertEqual(preview["errors"][2]["column"], "Date")

    def test_validate_profile(self):
        self.assertEqual(csv_profile.validate_profile(SIMPLE)["quotechar"], '"')
        bad = {
            "date_colum": SIMPLE | {"date_colum": "Date"},
            "date_format": {k: v for k, v in SIMPLE.items() if k != "date_format"},
            "amount_column": SIMPLE | {"amount_column": None},
            "credit_column": SIMPLE | {"amount_column": None, "debit_column": "Debit"},
            "delimiter": SIMPLE | {"delimiter": ";;"},
            "debit_value": SIMPLE | {"debit_credit_column": "DC", "credit_value": "C"},
            "date_column": SIMPLE | {"has_header": False},
            "skip_footer_lines": SIMPLE | {"skip_footer_lines": -1},
        }
        for key, profile in bad.items():
            with self.subTest(key=key), self.assertRaises(ParseError) as caught:
                csv_profile.validate_profile(profile)
            self.assertEqual((caught.exception.code, caught.exception.value), ("profile", key))

    # -- bad input ------------------------------------------------------------------------

    def test_empty_file(self):
        self.assertParseError(b"", SIMPLE, "empty", 1)
        self.assertParseError(b"Date;Text;Amount\n", SIMPLE, "no_rows", 1)

    def test_truncated_file(self):
        self.assertParseError(b'Date;Text;Amount\n01.02.2026;"Rent', SIMPLE, "csv", 2)
        self.assertParseError(b"Date;Text;Amount\n01.02.2026;Rent", SIMPLE, "missing", 2, "Amount")

    def test_wrong_encoding(self):
        data = (SIMPLE_CSV + "03.02.2026;Caf\xe9;1,00\n").encode("latin-1")
        self.assertParseError(data, SIMPLE, "encoding", 4)
        result = csv_profile.parse(data, profile=SIMPLE | {"encoding": "latin-1"})
        self.assertEqual(result.statements[0].transactions[-1].remittance, "Caf\xe9")

    def test_impossible_dates(self):
        data = (SIMPLE_CSV + "30.02.2026;Never;1,00\n").encode()
        err = self.assertParseError(data, SIMPLE, "date", 4, "Date")
        self.assertEqual(err.value, "30.02.2026")
        self.assertParseError(b"Date;Text;Amount\n2026-02-01;X;1,00\n", SIMPLE, "date", 2)

    def test_amounts_in_the_wrong_locale(self):
        locale = SIMPLE | {"thousands_separator": ""}
        err = self.assertParseError(
            b"Date;Text;Amount\n01.02.2026;X;12.50\n", locale, "amount_locale", 2, "Amount"
        )
        self.assertEqual(err.value, "12.50")
        self.assertParseError(b"Date;Text;Amount\n01.02.2026;X;EUR 5\n", SIMPLE, "amount", 2)

    def test_garbage_and_missing_columns(self):
        self.assertFalse(csv_profile.sniff(b"\x00\x01\x02"))
        self.assertParseError(b"\x89PNG\r\n\x1a\n\x00\x00garbage", SIMPLE, "encoding", 1)
        self.assertParseError(b"lorem ipsum\ndolor sit\n", SIMPLE, "column", 1, "Date")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("xl/workbook.xml", "not a workbook")
        self.assertTrue(csv_profile.sniff(buffer.getvalue()))
        self.assertParseError(buffer.getvalue(), SIMPLE, "xlsx", 1)

    def test_nul_character_after_the_sniffed_head_names_its_line(self):
        rows = "".join(f"0{1 + i % 9}.02.2026;Payment {i};1,00\n" for i in range(300))
        data = (SIMPLE_CSV + rows + "03.03.2026;Bad\x00text;1,00\n").encode()
        self.assertGreater(data.index(b"\x00"), 4096)
        self.assertTrue(csv_profile.sniff(data), "the head looks like CSV")
        self.assertParseError(data, SIMPLE, "nul", 304)
        utf16 = SIMPLE | {"encoding": "utf-16"}
        self.assertEqual(
            len(csv_profile.parse(SIMPLE_CSV.encode("utf-16"), profile=utf16).statements),
            1,
            "NUL bytes of a UTF-16 file are no NUL characters",
        )
        mt940 = b":20:STMT\r\n:25:NL91ABNA0417164300\r\n:28C:1\r\n:86:x\x00y\r\n"
        with self.assertRaises(ParseError) as caught:
            parse_file(mt940, "nul.sta")
        self.assertEqual((caught.exception.code, caught.exception.line), ("nul", 4))

    def _workbook(self, rows):
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.append(["Date", "Text", "Amount"])
        for index in range(rows):
            sheet.append([datetime.datetime(2026, 2, 1), f"Line {index}", 1.5])
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()

    def test_xlsx_is_bounded_in_expanded_size_and_rows(self):
        data = self._workbook(5)
        self.assertEqual(len(csv_profile.parse(data, profile=SIMPLE).statements[0].transactions), 5)
        # A small file whose members expand past the limit is refused before reading.
        bomb = io.BytesIO()
        with (
            zipfile.ZipFile(io.BytesIO(data)) as source,
            zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target,
        ):
            for member in source.infolist():
                target.writestr(member, source.read(member))
            target.writestr("xl/padding.xml", b" " * (3 * 1024 * 1024))
        self.assertLess(len(bomb.getvalue()), 64 * 1024)
        with self.assertRaises(ParseError) as caught:
            csv_profile.parse(bomb.getvalue(), profile=SIMPLE, max_bytes=2 * 1024 * 1024)
        self.assertEqual(caught.exception.code, "too_large")
        self.assertIn(str(2 * 1024 * 1024), caught.exception.message)
        with self.assertRaises(ParseError) as caught:
            parse_file(bomb.getvalue(), "bomb.xlsx", profile=SIMPLE, max_bytes=2 * 1024 * 1024)
        self.assertEqual(caught.exception.code, "too_large")
        with patch.object(csv_profile, "MAX_XLSX_ROWS", 4):
            self.assertParseError(data, SIMPLE, "too_large", 5)
            result = csv_profile.parse(self._workbook(3), profile=SIMPLE)
            self.assertEqual(len(result.statements[0].transactions), 3)

    def test_bad_row_anywhere_fails_the_whole_parse(self):
        data = (SIMPLE_CSV + "\n" * 3 + "03.02.2026;Late;\n").encode()
        self.assertParseError(data, SIMPLE, "missing", 7, "Amount")
        self.assertParseError(
            b"Date;Text;Amount\n\n01.02.2026;X;1\n",
            SIMPLE | {"skip_empty_lines": False},
            "missing",
            2,
            "Date",
        )
        self.assertParseError(
            b"Date;Amount;DC\n01.02.2026;1;X\n",
            SIMPLE | {"debit_credit_column": "DC", "debit_value": "D", "credit_value": "C"},
            "debit_credit",
            2,
            "DC",
        )
