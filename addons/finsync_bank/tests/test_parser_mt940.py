"""Tests of the SWIFT MT940/MT942 parser: the shared corpus and synthetic bad input.

Expected values come from /work/shared/corpus/MANIFEST.md ("### mt940") and the
WoLpH/mt940 ``.expected.yml`` sidecars (per-transaction dates, amounts, codes and
references; WoLpH cuts references at 16 characters, the full values are asserted here).
"""

import datetime
from decimal import Decimal

from odoo.tests import BaseCase, tagged

from ..parsers import mt940
from ..parsers.base import ParseError
from .corpus import corpus_file, corpus_files

D = Decimal


def _date(text):
    return datetime.date.fromisoformat(text)


# file -> [(value date, amount, bank transaction code, bank reference)], in file order,
# from the .expected.yml sidecars.
WOLPH_TRANSACTIONS = {
    "wolph__jejik__abnamro.sta": [
        ("2011-05-24", "-9", "N192", None),
        ("2011-05-21", "-11.59", "N426", None),
        ("2011-05-23", "-11.63", "N426", None),
        ("2011-05-22", "-11.8", "N426", None),
        ("2011-05-21", "-13.45", "N426", None),
        ("2011-05-21", "-15.49", "N426", None),
        ("2011-05-21", "-107", "N426", None),
        ("2011-05-22", "-141.48", "N426", None),
        ("2011-05-24", "-9.49", "N426", None),
        ("2011-05-24", "-15", "N426", None),
    ],
    "wolph__jejik__triodos.sta": [
        ("2011-01-01", "-15.70", "N000", None),
        ("2011-01-25", "-700.00", "N000", None),
    ],
    "wolph__jejik__knab.sta": [
        ("2014-05-07", "500", "NTRF", "B4E07XM00J000023"),
        ("2014-07-29", "-7260", "NTRF", "B4G29PGCVO7Q06US"),
        ("2014-07-29", "500", "NTRF", "B4G29PGDCK1QFV3E"),
    ],
    "wolph__mBank__mt940.sta": [
        ("2017-01-19", "0.01", "NTRF", "MB170119012058"),
        ("2017-01-19", "0.01", "NTRF", "MB170119012085"),
        ("2017-01-19", "0.01", "NTRF", "MB170119012121"),
    ],
    "wolph__self-provided__raiffeisen-cmi.sta": [
        ("2018-04-17", "2066637.00", "N527", None),
        ("2018-04-17", "-14790.00", "N031", None),
        ("2018-04-17", "-3051800.00", "N061", None),
        ("2018-04-17", "-3892.77", "N077", None),
        ("2018-04-17", "-789.24", "N077", None),
        ("2018-04-17", "-1578.49", "N077", None),
        ("2018-04-17", "-6000.00", "N077", None),
    ],
    "wolph__betterplace__sepa_snippet.sta": [
        ("2007-09-07", "50990.05", "NTRF", "0724710333343453"),
        ("2007-09-07", "154551.93", "NTRF", "0724710324647450"),
        ("2007-09-07", "154551.93", "NTRF", "0724710324661090"),
        ("2007-09-04", "-1500.00", "NTRF", "536D80EFEC56ACF8"),
        ("2007-09-04", "-0.08", "NTRF", "0724710345316116"),
        ("2007-09-04", "335.33", "NTRF", "0724710351063401"),
        ("2007-09-04", "15000", "NTRF", "0724710345316110"),
        ("2007-09-04", "15000.05", "NTRF", "0724710290659857"),
        ("2007-09-04", "125004.88", "NTRF", "0724710290624796"),
        ("2007-09-04", "915311.55", "NTRF", "R724710351063405"),
        ("2007-09-04", "-3572569.03", "NMSC", None),
    ],
    "wolph__self-provided__mt942.sta": [
        ("2016-10-30", "-0.42", "MCI0", "055001022000001"),
    ],
    "wolph__self-provided__malformed_details.sta": [
        ("2017-09-14", "-233.15", "NMSC", None),
    ],
    "wolph__cmxl__mt940.sta": [
        ("2013-10-17", "-6800", "NCHK", None),
        ("2013-10-17", "-620.3", "NSTO", None),
        ("2013-10-17", "18500", "NCLR", None),
        ("2013-10-15", "-14220", "NBOE", None),
        ("2013-10-17", "-1507", "NTRF", None),
        ("2013-10-24", "4200", "NMSC", None),
        ("2013-10-17", "-19900", "NTRF", None),
        ("2013-10-17", "-400", "NTRF", None),
        ("2013-10-18", "3656.74", "NMSC", None),
        ("2013-10-19", "23040", "NMSC", None),
        ("2013-10-27", "-5862.14", "NCHK", None),
        ("2002-11-01", "-800", "NSTO", "55555"),
        ("2002-11-02", "3000", "NTRF", "55555"),
        ("2003-10-20", "20000.00", "FMSC", "8327000090031789"),
        ("2003-10-20", "-10000.00", "FTRF", "8327000090031790"),
        ("2003-10-20", "40.00", "FTRF", "8327000090031791"),
    ],
    "wolph__jejik__rabobank.sta": [
        ("2011-05-27", "-1213.28", "N044", None),
        ("2011-06-17", "-44.95", "N060", None),
        ("2011-07-21", "-236.56", "N030", None),
        ("2012-08-29", "-88.10", "N060", None),
        ("2012-08-29", "-6.20", "NMSC", None),
    ],
}

# file -> (account of the last statement, statement_id, statement number, currency,
# last opening balance and date, last closing balance and date), from the sidecars.
WOLPH_STATEMENTS = {
    "wolph__jejik__abnamro.sta": (
        "517852257", "ABN AMRO BANK NV", "19322/1", "EUR",
        "2876.84", "2011-05-23", "1849.75", "2011-05-24",
    ),
    "wolph__jejik__triodos.sta": (
        "0390123456", "1308728725026/1", "1", "EUR",
        "4975.09", "2011-01-01", "4370.79", "2011-02-01",
    ),
    "wolph__jejik__knab.sta": (
        "123456789", "B4G30MS9D00A003D", "999/1", "EUR",
        "3058.98", "2014-07-29", "798.98", "2014-07-30",
    ),
    "wolph__mBank__mt940.sta": (
        "PL29114010810000267002001002", "ST170119CYC/1", "1/1", "PLN",
        "0.40", "2017-01-19", "0.43", "2017-01-19",
    ),
    "wolph__self-provided__raiffeisen-cmi.sta": (
        "123456789150ABCDEF002", "STARTUMS", "0072", "HUF",
        "25170637.10", "2018-04-17", "25281687.60", "2018-04-17",
    ),
    "wolph__betterplace__sepa_snippet.sta": (
        "0194791600888", "T089414096000001", "00004/00001", "EUR",
        "-1970431.87", "2007-09-03", "-4472049.09", "2007-09-04",
    ),
    "wolph__self-provided__malformed_details.sta": (
        "1020304050", "STARTUMS", "0", "EUR",
        "12345.12", "2017-09-14", "12345.98", "2017-09-14",
    ),
    "wolph__cmxl__mt940.sta": (
        "320000546101", "TELEWIZORY S.A.", "00084/001", "PLN",
        "40000.00", "2003-10-02", "50040.00", "2002-03-25",
    ),
    "wolph__jejik__rabobank.sta": (
        "1526.89.184", "940A120829", "00000/00", "EUR",
        "4196.12", "2012-08-28", "4101.82", "2012-08-29",
    ),
}  # fmt: skip

HEADER = ":20:STMT1\n:25:NL91ABNA0417164300\n:28C:1/1\n:60F:C240101EUR100,00\n"


def _mt940(body, header=HEADER, closing=":62F:C240102EUR90,00\n-\n"):
    return (header + body + closing).encode()


def _transactions(result):
    return [tx for statement in result.statements for tx in statement.transactions]


@tagged("post_install", "-at_install")
class TestMt940Corpus(BaseCase):
    """Every corpus file, against the MANIFEST and the WoLpH sidecars."""

    def _parse(self, name):
        data = corpus_file(f"mt940/{name}")
        self.assertTrue(mt940.sniff(data), name)
        return mt940.parse(data, filename=name)

    def test_every_file_parses(self):
        names = corpus_files("mt940")
        self.assertEqual(len(names), 15)
        for name in names:
            with self.subTest(file=name):
                result = self._parse(name)
                self.assertTrue(result.statements)
                for statement in result.statements:
                    self.assertTrue(statement.account)
                    self.assertTrue(statement.currency)
                    ids = [tx.unique_id for tx in statement.transactions]
                    self.assertEqual(len(ids), len(set(ids)))
                    self.assertNotIn(None, ids)

    def test_wolph_transactions(self):
        for name, expected in WOLPH_TRANSACTIONS.items():
            with self.subTest(file=name):
                transactions = _transactions(self._parse(name))
                got = [
                    (
                        tx.value_date.isoformat(),
                        tx.amount,
                        tx.bank_transaction_code,
                        tx.bank_reference,
                    )
                    for tx in transactions
                ]
                want = [(date, D(amount), code, ref) for date, amount, code, ref in expected]
                self.assertEqual(got, want)

    def test_wolph_statements(self):
        for name, expected in WOLPH_STATEMENTS.items():
            account, ref, number, currency, opening, opened, closing, closed = expected
            with self.subTest(file=name):
                last = self._parse(name).statements[-1]
                # ``bank/account`` identifications stay whole; the account part is apart.
                self.assertEqual(last.extra.get("account_number", last.account), account)
                self.assertTrue(last.account.endswith(account))
                self.assertEqual(last.statement_id, ref)
                self.assertEqual(last.extra["statement_number"], number)
                self.assertEqual(last.currency, currency)
                self.assertEqual(last.opening_balance, D(opening))
                self.assertEqual(last.opening_date, _date(opened))
                self.assertEqual(last.closing_balance, D(closing))
                self.assertEqual(last.closing_date, _date(closed))

    def test_wolph_transaction_sums(self):
        sums = {
            "wolph__jejik__abnamro.sta": "-345.93",
            "wolph__jejik__triodos.sta": "-715.70",
            "wolph__jejik__knab.sta": "-6260",
            "wolph__mBank__mt940.sta": "0.03",
            "wolph__self-provided__raiffeisen-cmi.sta": "-1012213.50",
            "wolph__betterplace__sepa_snippet.sta": "-2143323.39",
            "wolph__self-provided__mt942.sta": "-0.42",
            "wolph__self-provided__malformed_details.sta": "-233.15",
            "wolph__cmxl__mt940.sta": "12327.30",
            "wolph__jejik__rabobank.sta": "-1589.09",
        }
        for name, total in sums.items():
            with self.subTest(file=name):
                transactions = _transactions(self._parse(name))
                self.assertEqual(sum(tx.amount for tx in transactions), D(total))

    def test_ing_netherlands(self):
        result = self._parse("oca10__nl_ing__test-ing.940")
        (statement,) = result.statements
        self.assertEqual(statement.account, "NL77INGB0574908765")
        self.assertEqual(statement.opening_balance, D("662.23"))
        self.assertEqual(statement.closing_balance, D("564.35"))
        self.assertEqual(statement.closing_date, datetime.date(2014, 2, 20))
        self.assertEqual(statement.warnings, [])
        dates = {tx.value_date for tx in statement.transactions}
        self.assertEqual(dates, {datetime.date(2014, 2, 20)})
        line = next(tx for tx in statement.transactions if tx.amount == D("1.56"))
        self.assertEqual(line.counterparty_account, "NL32INGB0000012345")
        self.assertEqual(line.end_to_end_id, "EV12341REP1231456T1234")
        self.assertEqual(line.counterparty_name, "ING BANK NV INZAKE WEB")
        self.assertEqual(line.remittance, "EV10001REP1000000T1000")
        self.assertEqual(line.extra["details_dialect"], "slash_keyed")
        # Wrapped across lines with a lone "-" that is text, not the message end.
        debit = next(tx for tx in statement.transactions if tx.amount == D("-1.14"))
        self.assertEqual(debit.extra["mandate_reference"], "MND-EV01")
        self.assertEqual(debit.counterparty_name, "ING Bank N.V. inzake WeB")
        structured = next(tx for tx in statement.transactions if tx.amount == D("32.00"))
        self.assertEqual(structured.structured_reference, "9001123412341234")
        # "PREF" in :61: points at the :86: key; it is no end-to-end id.
        pref = next(tx for tx in statement.transactions if tx.amount == D("-1.57"))
        self.assertIsNone(pref.end_to_end_id)
        self.assertEqual(pref.extra["payment_information_id"], "M000000003333333")

    def test_rabobank_swi(self):
        statements = self._parse("oca10__nl_rabo__test-rabo.swi").statements
        self.assertEqual(len(statements), 4)
        self.assertEqual({s.account for s in statements}, {"NL34RABO0142623393"})
        self.assertEqual(statements[0].opening_balance, D("4433.52"))
        self.assertEqual(statements[-1].closing_balance, D("4798.91"))
        self.assertEqual(statements[-1].closing_date, datetime.date(2014, 1, 7))
        line = statements[0].transactions[0]
        self.assertEqual(line.counterparty_account, "NL66RABO0160878799")
        self.assertEqual(line.amount, D("400.00"))
        self.assertEqual(line.value_date, datetime.date(2014, 1, 2))
        self.assertEqual(line.extra["customer_reference"], "NONREF")
        self.assertIsNone(line.end_to_end_id)
        self.assertEqual(line.counterparty_name, "R. SMITH")
        self.assertEqual(line.remittance, "Test money paid by other partner:")

    def test_sns_blocks(self):
        statements = self._parse("oca11__test-sns.940").statements
        self.assertEqual(len(statements), 3)
        for statement in statements:
            for tx in statement.transactions:
                self.assertEqual(tx.value_date, statement.opening_date)
        # The last message is closed by "-}" but has no :62F:: a warning, not an error.
        self.assertIsNone(statements[-1].closing_balance)
        self.assertIn("missing_balance", [w.code for w in statements[-1].warnings])
        first = statements[0].transactions[0]
        self.assertEqual(first.counterparty_account, "NL49RABO0166416932")
        self.assertEqual(first.counterparty_name, "gerrits glas en schilderwerk")
        self.assertEqual(first.remittance, "Factuur 17227/248/20")
        self.assertIsNone(first.end_to_end_id)

    def test_brd_romania(self):
        (statement,) = self._parse("ro__brd__test_brd_940.txt").statements
        self.assertEqual(statement.currency, "RON")
        self.assertEqual(statement.account, "RO56BRDE360SV52474653600")
        self.assertEqual(statement.extra["statement_number"], "00138/1")
        self.assertEqual(statement.opening_balance, D("1000.00"))
        self.assertEqual(statement.closing_balance, D("1998.00"))
        self.assertEqual(len(statement.transactions), 2)
        payment = statement.transactions[0]
        self.assertEqual(payment.amount, D("1000.00"))
        self.assertEqual(payment.counterparty_name, "NEXTERP ROMANIA SRL")
        self.assertEqual(payment.counterparty_account, "RO89RZBR0000060003480121")
        self.assertEqual(payment.booking_date, datetime.date(2016, 5, 17))
        # The sample's :62F: is in EUR while :60F: is in RON.
        self.assertIn("currency_mismatch", [w.code for w in statement.warnings])

    def test_ing_romania(self):
        (statement,) = self._parse("ro__ing__test_ing_940n.txt").statements
        self.assertEqual(statement.account, "RO19INGB0000999904621843")
        (line,) = statement.transactions
        self.assertEqual(line.booking_date, datetime.date(2020, 2, 11))
        self.assertEqual(line.amount, D("1000.00"))
        self.assertEqual(line.counterparty_name, "NEXTERP ROMANIA SRL")
        self.assertEqual(line.counterparty_account, "RO25INGB0014000031948911")
        self.assertEqual(line.bank_reference, "RE20200211-7523")
        self.assertEqual(line.remittance, "AMT RCD RON 1000,00 CVF 2020/0060 . 344944869")
        self.assertIn("NEXTERP ROMANIA S.R.L.", statement.extra["information"])

    def test_german_sepa_subfields(self):
        result = self._parse("wolph__betterplace__sepa_snippet.sta")
        first, last = result.statements
        self.assertEqual(first.account, "50880050/0194787400888")
        self.assertEqual(first.extra["account_number"], "0194787400888")
        self.assertEqual(first.extra["bank_id"], "50880050")
        line = first.transactions[0]
        self.assertEqual(line.booking_date, datetime.date(2007, 9, 4))
        self.assertEqual(line.end_to_end_id, "EndToEndId TFNR 22 004 00001")
        self.assertEqual(line.remittance, "Verw CTSc-01 BC-PPP TFNr 22 004")
        self.assertEqual(line.counterparty_account, "DE14508800500194785000")
        self.assertEqual(line.counterparty_name, "KARL KAUFMANN")
        self.assertEqual(line.extra["funds_code"], "R")
        self.assertEqual(line.extra["booking_text"], "GUTSCHRIFT")
        self.assertEqual(last.extra["available_balance"]["amount"], D("-4472049.09"))

    def test_malformed_details(self):
        (statement,) = self._parse("wolph__self-provided__malformed_details.sta").statements
        (line,) = statement.transactions
        self.assertEqual(line.counterparty_name, "Finanzamt Muenchen Abteilung Erhebung")
        self.assertEqual(line.counterparty_account, "DE99700500000000012345")
        self.assertEqual(line.extra["mandate_reference"], "BYA12345678901")
        self.assertTrue(line.remittance.startswith("STEUERNR 123/123/12345"))

    def test_mbank(self):
        (statement,) = self._parse("wolph__mBank__mt940.sta").statements
        self.assertEqual(statement.extra["available_balance"]["amount"], D("0.43"))
        line = statement.transactions[0]
        self.assertEqual(line.extra["details_dialect"], "mbank")
        self.assertEqual(line.counterparty_account, "56114010810000267002001001")
        self.assertEqual(line.remittance, "PRZELEW SRODKOW")
        self.assertTrue(line.counterparty_name.startswith("JAN NOWAK"))

    def test_mt942(self):
        result = self._parse("wolph__self-provided__mt942.sta")
        self.assertEqual(result.format, "mt942")
        (statement,) = result.statements
        self.assertEqual(statement.account, "GJB0291077111")
        self.assertEqual(statement.currency, "EUR")
        self.assertIsNone(statement.opening_balance)
        self.assertEqual(statement.extra["sum_debit_entries"]["amount"], D("-2.30"))
        self.assertEqual(
            statement.extra["report_datetime"],
            datetime.datetime(2016, 10, 30, 17, 30, tzinfo=datetime.timezone.utc),
        )
        (line,) = statement.transactions
        self.assertEqual(line.extra["status"], "pending")
        self.assertEqual(line.booking_date, datetime.date(2016, 10, 31))
        self.assertEqual(line.extra["supplementary_details"], "YAY MT942 CHG")
        # :90D: announces 2,30 of debits, the line is 0,42.
        self.assertIn("control_total_mismatch", [w.code for w in statement.warnings])

    def test_raiffeisen_cp852(self):
        (statement,) = self._parse("wolph__self-provided__raiffeisen-cmi.sta").statements
        self.assertEqual(statement.extra["encoding"], "cp852")
        self.assertEqual(statement.extra["bank_id"], "UBRTHUHB")
        first = statement.transactions[0]
        self.assertEqual(first.extra["supplementary_details"], "Csoportos átutalás jóváírása")
        forward = statement.extra["forward_available_balances"]
        self.assertEqual(forward[-1]["date"], datetime.date(2018, 4, 20))

    def test_rabobank_legacy(self):
        statements = self._parse("wolph__jejik__rabobank.sta").statements
        self.assertEqual(len(statements), 4)
        line = statements[0].transactions[0]
        self.assertEqual(line.counterparty_account, "0121470966")
        self.assertEqual(line.counterparty_name, "W.P. Jansen")
        self.assertIsNone(line.end_to_end_id)
        self.assertTrue(line.remittance.startswith("Terugboeking NIET AKKOORD"))

    def test_abnamro_intermediate_balances(self):
        first, second = self._parse("wolph__jejik__abnamro.sta").statements
        self.assertEqual(second.extra["opening_balance_type"], "intermediate")
        self.assertEqual(first.transactions[1].booking_date, datetime.date(2011, 5, 23))
        # The anonymised sample's lines do not add up: warned, still parsed.
        self.assertIn("balance_mismatch", [w.code for w in first.warnings])

    def test_unique_ids_are_stable(self):
        data = corpus_file("mt940/wolph__jejik__abnamro.sta")
        ids = [tx.unique_id for tx in _transactions(mt940.parse(data))]
        self.assertEqual(ids, [tx.unique_id for tx in _transactions(mt940.parse(data))])


@tagged("post_install", "-at_install")
class TestMt940Synthetic(BaseCase):
    """Small hand-written inputs: reversals, dates, encodings, blocks, bad input."""

    def assertParseError(self, data, code, line):
        with self.assertRaises(ParseError) as caught:
            mt940.parse(data)
        self.assertEqual((caught.exception.code, caught.exception.line), (code, line))
        return caught.exception

    def test_reversal_signs(self):
        body = ":61:240102RD5,00NTRFNONREF\n:61:240102RC15,00NTRFNONREF\n"
        result = mt940.parse(_mt940(body))
        credit, debit = result.statements[0].transactions
        self.assertEqual((credit.amount, debit.amount), (D("5.00"), D("-15.00")))
        self.assertTrue(credit.extra["reversal"] and debit.extra["reversal"])
        self.assertEqual(result.statements[0].warnings, [])

    def test_funds_code_and_reversals(self):
        """A funds code after D/C/RD/RC is no part of the amount; reversals keep their mark."""
        body = (
            ":61:2401020102DF2402,00S   X\n:NS:01 fee note\n"  # padded type code, funds F
            ":61:2401020102RCK15,00NTRFNONREF//REV1\n"  # reversal of a credit: money out
            ":61:2401020102RDF7,50NCHGNONREF\n"  # reversal of a debit: money back
        )
        header = HEADER.replace("100,00", "2500,00")
        (statement,) = mt940.parse(_mt940(body, header, ":62F:C240102EUR90,50\n-\n")).statements
        funds, out, back = statement.transactions
        self.assertEqual(statement.warnings, [])
        self.assertEqual(
            [(tx.amount, tx.extra.get("funds_code")) for tx in statement.transactions],
            [(D("-2402.00"), "F"), (D("-15.00"), "K"), (D("7.50"), "F")],
        )
        self.assertEqual((funds.bank_transaction_code, funds.end_to_end_id), ("S", "X"))
        self.assertNotIn("reversal", funds.extra)
        self.assertEqual((out.extra["reversal"], out.bank_reference), (True, "REV1"))
        self.assertEqual((back.extra["reversal"], back.bank_transaction_code), (True, "NCHG"))

    def test_bank_code_and_account_identification(self):
        """``:25:51230800/0000007304`` stays whole; the account part is kept apart."""
        header = HEADER.replace("NL91ABNA0417164300", "51230800/0000007304")
        body = ":61:2401020102D10,00NTRFNONREF//B1\n"
        (statement,) = mt940.parse(_mt940(body, header)).statements
        self.assertEqual(statement.account, "51230800/0000007304")
        self.assertEqual(statement.extra["account_number"], "0000007304")
        self.assertEqual(statement.extra["bank_id"], "51230800")
        # Line ids are built on the account number, as they were before.
        self.assertEqual(statement.transactions[0].unique_id, "0000007304:B1:2024-01-02:-10")
        with_currency = header.replace("0000007304", "0000007304EUR")
        (statement,) = mt940.parse(_mt940(body, with_currency)).statements
        self.assertEqual(statement.account, "51230800/0000007304")

    def test_entry_date_year_turnover(self):
        header = ":20:S\n:25:NL91ABNA0417164300\n:60F:C231231EUR0,\n"
        body = ":61:2312310102C1,NTRFNONREF\n:61:2401021231D1,NTRFNONREF\n"
        result = mt940.parse(_mt940(body, header, ":62F:C240102EUR0,\n"))
        late, early = result.statements[0].transactions
        self.assertEqual(late.booking_date, datetime.date(2024, 1, 2))
        self.assertEqual(early.booking_date, datetime.date(2023, 12, 31))

    def test_customer_reference_and_details(self):
        body = (
            ":61:2401020102D10,00NDDTMYREF123//BANKREF9\nSUPPLEMENTARY\n"
            ":86:/EREF/E2E-1//IBAN/DE89370400440532013000//BIC/COBADEFFXXX"
            "//NAME/Acme GmbH//REMI/STRD/CUR/RF18539007547034/\n"
        )
        (tx,) = mt940.parse(_mt940(body)).statements[0].transactions
        self.assertEqual(tx.extra["customer_reference"], "MYREF123")
        self.assertEqual(tx.bank_reference, "BANKREF9")
        self.assertEqual(tx.extra["supplementary_details"], "SUPPLEMENTARY")
        self.assertEqual(tx.end_to_end_id, "E2E-1")
        self.assertEqual(tx.counterparty_account, "DE89370400440532013000")
        self.assertEqual(tx.counterparty_name, "Acme GmbH")
        self.assertEqual(tx.extra["counterparty_bic"], "COBADEFFXXX")
        self.assertEqual(tx.structured_reference, "RF18539007547034")
        self.assertEqual(tx.bank_transaction_code, "NDDT")

    def test_customer_reference_is_end_to_end_id_without_eref(self):
        body = ":61:2401020102D10,00NTRFINV-42\n:86:Invoice 42\n"
        (tx,) = mt940.parse(_mt940(body)).statements[0].transactions
        self.assertEqual(tx.end_to_end_id, "INV-42")
        self.assertEqual(tx.remittance, "Invoice 42")

    def test_postfinance_labels(self):
        body = (
            ":61:2401020102D10,00NTRFNONREF\n:86:GIRO AUS KONTO AUFTRAGGEBER: MUSTER AG\n"
            "8000 ZUERICH MITTEILUNGEN: RECHNUNG 123\n"
        )
        (tx,) = mt940.parse(_mt940(body)).statements[0].transactions
        self.assertEqual(tx.extra["details_dialect"], "postfinance")
        self.assertEqual(tx.counterparty_name, "MUSTER AG 8000 ZUERICH")
        self.assertEqual(tx.remittance, "RECHNUNG 123")
        self.assertEqual(tx.extra["booking_text"], "GIRO AUS KONTO")

    def test_swift_blocks_and_control_bytes(self):
        data = (
            b"\x01{1:F01BANKBEBBAXXX0000000000}{2:O9401200BANKBEBBAXXX}{3:{108:REF}}{4:\r\n"
            + _mt940(":61:2401020102D10,00NTRFNONREF\r:86:coffee\x00\r\n").replace(b"\n", b"\r\n")
            + b"}\x03\x1a"
        )
        result = mt940.parse(data)
        (statement,) = result.statements
        self.assertEqual(statement.extra["message_type"], "940")
        self.assertEqual(statement.transactions[0].remittance, "coffee")
        self.assertEqual(statement.transactions[0].extra["line"], 6)

    def test_cp1252_and_iso_8859_2(self):
        body = ":61:2401020102D10,00NTRFNONREF\n:86:M\u00fcller Stra\u00dfe \u20ac\n"
        (statement,) = mt940.parse(_mt940(body).decode().encode("cp1252")).statements
        self.assertEqual(statement.extra["encoding"], "cp1252")
        self.assertEqual(statement.transactions[0].remittance, "M\u00fcller Stra\u00dfe \u20ac")
        polish = ":61:2401020102D10,00NTRFNONREF\n:86:Zap\u0142ata za \u015bwiadczenie\n"
        (statement,) = mt940.parse(_mt940(polish).decode().encode("iso-8859-2")).statements
        self.assertEqual(statement.extra["encoding"], "iso-8859-2")
        self.assertEqual(statement.transactions[0].remittance, "Zap\u0142ata za \u015bwiadczenie")

    def test_thirtieth_of_february_is_a_warning(self):
        body = ":61:240230D10,00NTRFNONREF\n"
        (statement,) = mt940.parse(_mt940(body)).statements
        self.assertEqual(statement.transactions[0].value_date, datetime.date(2024, 2, 29))
        (warning,) = [w for w in statement.warnings if w.code == "date_adjusted"]
        self.assertEqual(warning.line, 5)

    def test_balance_mismatch_is_a_warning(self):
        body = ":61:240102D5,00NTRFNONREF\n"
        (statement,) = mt940.parse(_mt940(body)).statements
        (warning,) = statement.warnings
        self.assertEqual(warning.code, "balance_mismatch")
        self.assertEqual(len(statement.transactions), 1)

    def test_sniff(self):
        self.assertTrue(mt940.sniff(_mt940("")))
        self.assertFalse(mt940.sniff(b"<?xml version='1.0'?><Document/>"))
        self.assertFalse(mt940.sniff(b"date,amount\n2024-01-01,10.00\n"))

    # -- bad input ----------------------------------------------------------------------

    def test_empty_file(self):
        self.assertParseError(b"", "empty", 1)
        self.assertParseError(b"\r\n \x00\x1a", "empty", 1)

    def test_garbage(self):
        self.assertParseError(b"\x89PNG\r\n\x1a\n\x00\x00garbage\xff\xfe", "not_mt940", 1)
        self.assertParseError(b"hello world\nthis is no statement\n", "not_mt940", 1)

    def test_files_quoting_mt940_tags_are_refused(self):
        """Wrong files with some MT940 tags are refused as not MT940, not read as a statement."""
        statement = ":20:S1\n:25:NL91ABNA0417164300\n:60F:C240101EUR0,\n:62F:C240101EUR0,\n-\n"
        cases = {
            # a reference and details, no account, balance nor line
            "only a reference": (b":20:REF-2024-001\n:86:see attached\n", 1),
            "reference and account": (b":20:REF\n:25:NL91ABNA0417164300\n-\n", 1),
            "letter with colons": (
                b"Dear Sir,\n\nRe: statement\n:20: is the reference we quote\nRegards\n",
                1,
            ),
            "tags inside a letter": (b":20: our reference\n:25: your account\n", 1),
            "csv quoting a :61: line": (
                b"date;amount;text\n" + statement.encode() + b":61:240102D1,NTRF\n",
                1,
            ),
            "camt quoting tags": (
                b"<?xml version='1.0'?>\n<Document><AddtlNtryInf>\n"
                + statement.encode()
                + b"</AddtlNtryInf></Document>\n",
                1,
            ),
            "prose under a balance": (
                statement.replace("-\n", "Please call us about this balance.\n").encode(),
                5,
            ),
        }
        for name, (data, line) in cases.items():
            with self.subTest(file=name):
                self.assertParseError(data, "not_mt940", line)

    def test_truncated_file(self):
        data = _mt940(":61:240102D10,00NTRFNONREF\n:86:half a li", closing="")
        self.assertParseError(data, "truncated", 6)
        self.assertParseError(data + b"\r\n\r\n", "truncated", 6)

    def test_impossible_month(self):
        error = self.assertParseError(_mt940(":61:241302D10,00NTRFNONREF\n"), "date", 5)
        self.assertIn("2024-13-02", error.message)

    def test_impossible_balance_date(self):
        header = ":20:S\n:25:NL91ABNA0417164300\n:60F:C241301EUR100,00\n"
        self.assertParseError(_mt940("", header), "date", 3)

    def test_amount_with_dot(self):
        error = self.assertParseError(_mt940(":61:240102D10.00NTRFNONREF\n"), "amount", 5)
        self.assertEqual(error.value, "10.00")
        header = HEADER.replace("100,00", "100.00")
        self.assertParseError(_mt940("", header), "amount", 4)

    def test_missing_account(self):
        header = ":20:STMT1\n:28C:1/1\n:60F:C240101EUR100,00\n"
        self.assertParseError(_mt940("", header), "missing_account", 1)

    def test_unreadable_statement_line(self):
        self.assertParseError(_mt940(":61:not a line\n"), "statement_line", 5)

    def test_unreadable_balance(self):
        self.assertParseError(_mt940("", closing=":62F:EUR90,00\n"), "balance", 5)
