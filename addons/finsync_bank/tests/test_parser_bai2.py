import datetime
from decimal import Decimal

from odoo.tests import BaseCase, tagged

from ..parsers import bai2
from ..parsers.base import ParseError
from .corpus import corpus_file, corpus_files

HEADER = "01,SENDER,RECEIVER,260105,0800,42,,,2/\n02,RECEIVER,BANK,1,260104,2400,USD,2/\n"
ACCOUNT = "03,123456,USD,010,100000,,,015,90000,,/\n"
DETAIL = "16,475,10000,0,REF1,CHK9,CHECK PAID/\n"
TRAILERS = "49,200000,3/\n98,200000,1,5/\n99,200000,1,7/\n"


def _file(*records):
    return "".join(records).encode()


@tagged("post_install", "-at_install")
class TestBai2Parser(BaseCase):
    def assertParseError(self, data, code, line):
        with self.assertRaises(ParseError) as caught:
            bai2.parse(data)
        self.assertEqual((caught.exception.code, caught.exception.line), (code, line))
        return caught.exception

    def _mismatches(self, result):
        warnings = result.warnings + [w for st in result.statements for w in st.warnings]
        return [w for w in warnings if w.code == "totals_mismatch"]

    # -- conformance ----------------------------------------------------------------------

    def test_every_corpus_file_parses_or_fails_as_expected(self):
        for name in corpus_files("bai2"):
            with self.subTest(file=name):
                data = corpus_file(f"bai2/{name}")
                if "errors" in name:
                    self.assertParseError(data, "record_type", 1)
                    continue
                self.assertTrue(bai2.sniff(data))
                result = bai2.parse(data)
                self.assertEqual(result.format, "bai2")
                self.assertTrue(result.statements)
                for statement in result.statements:
                    ids = [tx.unique_id for tx in statement.transactions]
                    self.assertEqual(len(ids), len(set(ids)))
                    self.assertNotIn(None, ids)

    def test_moov_sample1(self):
        result = bai2.parse(corpus_file("bai2/moov__sample1.txt"))
        self.assertEqual(self._mismatches(result), [])
        self.assertEqual(len(result.statements), 2)
        first, second = result.statements
        self.assertEqual((first.account, first.currency), ("10200123456", "CAD"))
        self.assertEqual(first.extra["sender"], "0004")
        self.assertEqual(first.extra["file_id"], "001")
        self.assertEqual(first.extra["originator"], "0004")
        self.assertEqual(first.opening_date, datetime.date(2006, 3, 17))
        self.assertEqual(first.extra["summaries"]["040"], Decimal("0.00"))
        self.assertEqual(first.extra["summaries"]["100"], Decimal("2085.00"))
        self.assertEqual(first.extra["summaries"]["400"], Decimal("2085.00"))
        self.assertIsNone(first.opening_balance)  # no 010/015 summary in the file
        self.assertEqual([w.code for w in first.warnings], ["missing_balance"] * 2)
        self.assertEqual((len(first.transactions), len(second.transactions)), (11, 6))
        returned = first.transactions[0]
        self.assertEqual(returned.amount, Decimal("-25.00"))
        self.assertEqual(returned.bank_transaction_code, "409")
        self.assertEqual(returned.value_date, datetime.date(2006, 3, 16))
        self.assertEqual(returned.remittance, "RETURNED CHEQUE")
        self.assertEqual(first.transactions[3].amount, Decimal("2035.00"))
        self.assertEqual(sum(tx.amount for tx in first.transactions), Decimal("0.00"))

    def test_moov_sample3_records_on_one_line(self):
        result = bai2.parse(corpus_file("bai2/moov__sample3.txt"))
        self.assertEqual(self._mismatches(result), [])
        self.assertEqual(len(result.statements), 15)
        first = result.statements[0]
        self.assertEqual((first.account, first.currency), ("1111111", "USD"))
        self.assertEqual(first.opening_balance, Decimal("-35.00"))
        self.assertEqual(first.closing_balance, Decimal("-36.00"))
        self.assertEqual(len(first.transactions), 6)
        self.assertEqual(first.transactions[1].remittance, "TRANSFER MSPBNA BANK PPD")
        self.assertEqual(first.transactions[3].amount, Decimal("-25.00"))
        wrapped = result.statements[7].transactions[0]
        self.assertEqual(
            wrapped.remittance, "111111 ACH_SETL 1111111111 111111111111111 1111111111"
        )

    def test_moov_sample4_continuations(self):
        result = bai2.parse(corpus_file("bai2/moov__sample4-continuations-newline-delimited.txt"))
        statements = result.statements
        self.assertEqual(len(statements), 5)
        self.assertEqual([len(st.transactions) for st in statements], [0, 3, 14, 0, 0])
        self.assertEqual((statements[0].account, statements[0].currency), ("107049924", "USD"))
        self.assertEqual(statements[0].extra["sender"], "GSBI")
        self.assertEqual(statements[0].extra["originator"], "026015079")
        self.assertEqual(statements[0].extra["as_of_time"], "2000")
        self.assertEqual(statements[0].closing_date, datetime.date(2023, 9, 6))
        payment = statements[1].transactions[0]
        self.assertEqual(payment.amount, Decimal("-600.00"))
        self.assertEqual(payment.bank_reference, "SPB2322984714570")
        self.assertEqual(payment.extra["customer_reference"], "1111")
        self.assertTrue(payment.remittance.startswith("ACH Credit Payment,Entry Description"))
        self.assertTrue(
            payment.remittance.endswith("EREF: 1111 DBNM: TEST INC CACT: ACHCONTROLOUTUSD01")
        )
        # The sample's trailers are inconsistent (the 98 says 4 accounts for 5):
        # warnings, not errors.
        codes = {(w.line, w.message.split(":")[1].split()[0]) for w in self._mismatches(result)}
        self.assertIn((115, "accounts"), codes)

    def test_citi_example(self):
        result = bai2.parse(corpus_file("bai2/bai2py__citi_example.bai2"))
        self.assertEqual(self._mismatches(result), [])
        (statement,) = result.statements
        self.assertEqual((statement.account, statement.currency), ("77777777", "GBP"))
        self.assertEqual(statement.opening_balance, Decimal("100.00"))
        self.assertEqual(statement.closing_balance, Decimal("100.00"))
        (tx,) = statement.transactions
        self.assertEqual(tx.amount, Decimal("0.01"))
        self.assertEqual(tx.bank_reference, "1234567890")
        self.assertEqual(tx.extra["customer_reference"], "RP12312312312312")
        self.assertEqual(tx.value_date, datetime.date(2015, 7, 15))
        self.assertIn("A1234BC 22/03/66 BI:22222222", tx.remittance)
        self.assertEqual(tx.unique_id, "77777777:1234567890:2015-07-15:0.01")

    def test_account_trailer_amount_blank(self):
        result = bai2.parse(corpus_file("bai2/bai2py__account_trailer_amount_blank_example.bai2"))
        self.assertEqual(self._mismatches(result), [])
        self.assertEqual([st.account for st in result.statements], ["12345", "54321"])
        self.assertIsNone(result.statements[0].currency)
        self.assertIsNone(result.statements[0].closing_balance)

    def test_svb_two_groups(self):
        result = bai2.parse(corpus_file("bai2/bai2py__svb_us_example.bai2"))
        self.assertEqual(self._mismatches(result), [])
        first, second = result.statements
        self.assertEqual(first.account, second.account)
        self.assertEqual(first.opening_date, datetime.date(2022, 2, 1))
        self.assertEqual(second.opening_date, datetime.date(2022, 2, 2))
        self.assertEqual(first.opening_balance, Decimal("347269.79"))
        self.assertEqual(first.closing_balance, Decimal("352171.75"))
        self.assertEqual(first.extra["summaries"]["040"], Decimal("327425.37"))
        self.assertEqual(first.transactions[0].amount, Decimal("4901.96"))
        self.assertEqual(first.transactions[0].remittance, "SOME PAYMENT ACH OFFSET")
        self.assertEqual(second.closing_balance, Decimal("361229.75"))

    # -- synthetic files ------------------------------------------------------------------

    def test_synthetic_file_and_fixed_length_blocks(self):
        lines = (HEADER + ACCOUNT + DETAIL + TRAILERS).splitlines()
        for data in (
            _file(HEADER, ACCOUNT, DETAIL, TRAILERS),
            "".join(line.ljust(80) for line in lines).encode(),
        ):
            with self.subTest(blocks=b"\n" not in data):
                result = bai2.parse(data)
                self.assertEqual(self._mismatches(result), [])
                (tx,) = result.statements[0].transactions
                self.assertEqual(tx.amount, Decimal("-100.00"))
                self.assertEqual(tx.booking_date, datetime.date(2026, 1, 4))
                self.assertEqual(tx.extra["line"], 4)

    def test_currency_decimals_and_funds_types(self):
        data = _file(
            HEADER,
            "03,123456,JPY,010,5000,,,015,5600,,/\n",
            "16,195,300,S,100,100,100,R1,,SPLIT/\n",
            "16,195,300,D,2,0,150,1,150,R2,,DISTRIBUTED/\n",
            "49,11200,4/\n98,11200,1,6/\n99,11200,1,8/\n",
        )
        statement = bai2.parse(data).statements[0]
        self.assertEqual(statement.closing_balance, Decimal("5600"))
        first, second = statement.transactions
        self.assertEqual(first.amount, Decimal("300"))
        self.assertEqual(first.extra["availability"], [Decimal(100)] * 3)
        self.assertEqual(second.bank_reference, "R2")
        self.assertEqual(second.remittance, "DISTRIBUTED")

    def test_control_totals_that_disagree_are_warnings(self):
        data = _file(HEADER, ACCOUNT, DETAIL, "49,999,3/\n98,999,2,5/\n99,200000,1,9/\n")
        result = bai2.parse(data)
        (account_warning,) = result.statements[0].warnings
        self.assertEqual((account_warning.code, account_warning.line), ("totals_mismatch", 5))
        self.assertEqual(
            [(w.code, w.line) for w in result.warnings],
            [("totals_mismatch", 6), ("totals_mismatch", 7), ("totals_mismatch", 7)],
        )

    # -- bad input ------------------------------------------------------------------------

    def test_empty_file(self):
        self.assertParseError(b"", "empty", 1)
        self.assertParseError(b"  \n", "empty", 1)

    def test_garbage(self):
        self.assertFalse(bai2.sniff(b"\x89PNG\r\n"))
        self.assertParseError(b"hello world\n", "not_bai2", 1)
        self.assertParseError(_file(HEADER, "77,1,2/\n"), "record_type", 3)

    def test_truncated_file(self):
        self.assertParseError(_file(HEADER, ACCOUNT, "16,475,100"), "truncated", 4)

    def test_wrong_encoding(self):
        err = self.assertParseError(
            _file(HEADER, ACCOUNT).replace(b"RECEIVER,BANK", b"RECEIVER,B\xe9NK"), "encoding", 2
        )
        self.assertEqual(err.value, "utf-8")
        self.assertParseError(_file(HEADER).decode().encode("utf-16"), "encoding", 1)
        latin = _file(HEADER, ACCOUNT, "16,475,10000,0,,,CAF\xc9/\n", TRAILERS)
        latin = latin.decode().encode("latin-1")
        tx = bai2.parse(latin, encoding="latin-1").statements[0].transactions[0]
        self.assertEqual(tx.remittance, "CAF\xc9")

    def test_impossible_dates(self):
        bad_month = _file(HEADER.replace("260104", "261304"), ACCOUNT, TRAILERS)
        self.assertParseError(bad_month, "date", 2)
        self.assertParseError(_file(HEADER.replace("260104", "26JAN4")), "date", 2)
        feb30 = _file(HEADER, ACCOUNT, "16,475,10000,V,260230,,R,,X/\n", TRAILERS)
        statement = bai2.parse(feb30).statements[0]
        self.assertEqual(statement.transactions[0].value_date, datetime.date(2026, 2, 28))
        self.assertEqual(statement.warnings[0].code, "date_adjusted")

    def test_amounts_in_the_wrong_locale(self):
        self.assertParseError(_file(HEADER, ACCOUNT, "16,475,100.00,0,,,X/\n"), "amount_locale", 4)
        self.assertParseError(_file(HEADER, ACCOUNT, "16,475,1O0,0,,,X/\n"), "amount", 4)
        self.assertParseError(_file(HEADER, ACCOUNT, "16,475,,0,,,X/\n"), "missing", 4)

    def test_detail_before_any_account(self):
        self.assertParseError(_file(HEADER, DETAIL), "structure", 3)

    def test_records_out_of_place(self):
        self.assertParseError(_file(ACCOUNT), "structure", 1)
        self.assertParseError(_file(HEADER, ACCOUNT, ACCOUNT), "structure", 4)
        self.assertParseError(_file(HEADER, ACCOUNT, TRAILERS, "02,X/\n"), "structure", 7)
        self.assertParseError(_file(HEADER, ACCOUNT, "16,475,100,X,,,X/\n"), "funds_type", 4)
        self.assertParseError(_file(HEADER, ACCOUNT, "16,ABC,100,0,,,X/\n"), "type_code", 4)
