"""Tests of the OFX / QFX parser: the shared corpus, then synthetic bad input."""

import codecs
import datetime
from decimal import Decimal

from odoo.tests import BaseCase, tagged

from ..parsers import ofx
from ..parsers.base import ParseError
from .corpus import corpus_file, corpus_files

# Corpus files that the MANIFEST describes as unreadable, with the error expected.
MALFORMED = {
    "ofxparse__fail_nice__date_missing.ofx": "date_missing",
    "ofxparse__error_message.ofx": "server_error",
}

SGML_HEADER = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
    "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
)
SGML_BODY = """<OFX>
<SIGNONMSGSRSV1><SONRS>
<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<DTSERVER>20240201120000<LANGUAGE>ENG
</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS>
<TRNUID>1
<STATUS><CODE>{code}<SEVERITY>{severity}<MESSAGE>{message}</STATUS>
<STMTRS>
<CURDEF>EUR
<BANKACCTFROM><BANKID>30004<BRANCHID>00123<ACCTID>{account}<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20240101<DTEND>20240131
{transactions}
</BANKTRANLIST>
{ledger}
</STMTRS>
</STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""
TRANSACTION = (
    "<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>{posted}<TRNAMT>{amount}<FITID>{fitid}"
    "<NAME>Bakery &amp; Co<MEMO>Card payment{more}</STMTTRN>"
)
LEDGER = "<LEDGERBAL><BALAMT>{balance}<DTASOF>20240131</LEDGERBAL>"
XML_HEADER = (
    '<?xml version="1.0" encoding="{encoding}"?>\n'
    '<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>\n'
)


def transaction(posted="20240115", amount="-12.50", fitid="F1", more=""):
    return TRANSACTION.format(posted=posted, amount=amount, fitid=fitid, more=more)


def sgml(transactions=None, ledger=None, header=SGML_HEADER, **status):
    """A small OFX 1.0.2 statement, one debit of 12.50 and a closing balance of 100."""
    body = SGML_BODY.format(
        transactions=transaction() if transactions is None else transactions,
        ledger=LEDGER.format(balance="100.00") if ledger is None else ledger,
        account=status.pop("account", "0001234567"),
        **{"code": "0", "severity": "INFO", "message": "OK", **status},
    )
    return (header + body).encode("cp1252")


def line_of(data, marker):
    """1-based line of the first ``marker`` in ``data``."""
    return data[: data.index(marker)].count(b"\n") + 1


@tagged("post_install", "-at_install")
class TestOfxCorpus(BaseCase):
    """The EXPECTED values of corpus/MANIFEST.md, section "ofx"."""

    def parse(self, name):
        return ofx.parse(corpus_file(f"ofx/{name}"), filename=name)

    def test_every_file_is_sniffed_and_parses_or_fails_as_expected(self):
        for name in corpus_files("ofx"):
            with self.subTest(file=name):
                data = corpus_file(f"ofx/{name}")
                self.assertTrue(ofx.sniff(data))
                if name in MALFORMED:
                    with self.assertRaises(ParseError) as caught:
                        ofx.parse(data, filename=name)
                    self.assertEqual(caught.exception.code, MALFORMED[name])
                    continue
                result = ofx.parse(data, filename=name)
                self.assertEqual(result.format, "ofx")
                self.assertTrue(result.statements)
                for statement in result.statements:
                    self.assertTrue(statement.account)
                    ids = [tx.unique_id for tx in statement.transactions]
                    self.assertEqual(len(set(ids)), len(ids))
                    self.assertTrue(all(ids))

    def test_oca_test_ofx_bank_and_credit_card(self):
        bank, card = self.parse("oca18__test_ofx.ofx").statements
        self.assertEqual((bank.account, bank.currency), ("123456", "USD"))
        self.assertEqual(bank.closing_balance, Decimal("2156.56"))
        # OCA's balance_start: 2156.56 - (-80 - 90 - 100 - 90), derived and flagged so.
        self.assertEqual(bank.opening_balance, Decimal("2516.56"))
        self.assertIs(bank.extra["opening_balance_derived"], True)
        self.assertEqual(
            [tx.amount for tx in bank.transactions],
            [Decimal("-80"), Decimal("-90"), Decimal("-100"), Decimal("-90")],
        )
        agrolait = next(tx for tx in bank.transactions if tx.counterparty_name == "Agrolait")
        self.assertEqual(agrolait.booking_date, datetime.date(2013, 8, 24))
        self.assertEqual(agrolait.bank_reference, "219378")
        self.assertEqual(agrolait.unique_id, "123456:219378:2013-08-24:-80")
        self.assertEqual(agrolait.bank_transaction_code, "POS")
        # DTEND 20130831165153.000[-8:PST] is still 31 August at the bank.
        self.assertEqual(bank.opening_date, datetime.date(2013, 8, 1))
        self.assertEqual(bank.closing_date, datetime.date(2013, 8, 31))
        self.assertEqual(bank.extra["bank_id"], "000000123")
        self.assertEqual((card.account, card.currency), ("123412341234", "USD"))
        self.assertEqual(card.closing_balance, Decimal("-562.00"))
        self.assertEqual(card.transactions, [])

    def test_oca_test_ofx_iban_rib_parts(self):
        bank, card = self.parse("oca18__test_ofx_iban.ofx").statements
        self.assertEqual(bank.account, "12345678901")
        self.assertEqual((bank.extra["bank_id"], bank.extra["branch_id"]), ("30001", "00794"))
        # The journal's IBAN is FR76 + bank + branch + account + RIB key 85 (not in the file).
        rib = bank.extra["bank_id"] + bank.extra["branch_id"] + bank.account
        self.assertEqual(f"FR76{rib}85", "FR7630001007941234567890185")
        self.assertEqual(bank.opening_balance, Decimal("2516.56"))
        self.assertEqual(len(bank.transactions), 4)
        self.assertEqual(card.account, "123412341234")

    def test_ofxparse_bank_medium(self):
        (statement,) = self.parse("ofxparse__bank_medium.ofx").statements
        self.assertEqual(statement.account, "12300 000012345678")
        self.assertEqual(statement.currency, "CAD")
        self.assertEqual(statement.extra["bank_id"], "160000100")
        self.assertEqual(statement.extra["branch_id"], "00")
        self.assertEqual(statement.extra["account_type"], "CHECKING")
        self.assertEqual(statement.extra["ofx_version"], "102")
        self.assertEqual(statement.closing_balance, Decimal("382.34"))
        self.assertEqual(statement.closing_date, datetime.date(2009, 5, 23))
        self.assertEqual(statement.extra["available_balance"], Decimal("682.34"))
        self.assertEqual(statement.extra["available_balance_date"], datetime.date(2009, 5, 23))
        self.assertEqual(statement.opening_date, datetime.date(2009, 4, 1))
        self.assertEqual(len(statement.transactions), 3)
        first, check, _third = statement.transactions
        self.assertEqual(first.counterparty_name, "MCDONALD'S #112")
        self.assertEqual(first.bank_transaction_code, "POS")
        self.assertEqual(first.amount, Decimal("-6.60"))
        self.assertEqual(first.remittance, "POS MERCHANDISE;MCDONALD'S #112")
        self.assertEqual(first.booking_date, datetime.date(2009, 4, 1))
        self.assertEqual(check.extra["check_number"], "0")
        self.assertEqual(statement.opening_balance, Decimal("382.34") + Decimal("345.27"))

    def test_ofxparse_multiple_accounts(self):
        statements = self.parse("ofxparse__multiple_accounts2.ofx").statements
        self.assertEqual([s.account for s in statements], ["9100", "9200"])
        self.assertEqual([s.extra["bank_id"] for s in statements], ["123", "123"])
        self.assertEqual([s.extra["account_type"] for s in statements], ["CHECKING", "SAVINGS"])
        self.assertEqual([s.closing_balance for s in statements], [Decimal("111"), Decimal("222")])
        # Balance-only answers (no BANKTRANLIST): no opening balance is guessed.
        self.assertEqual([s.opening_balance for s in statements], [None, None])

    def test_ofxparse_anz_credit_card(self):
        (statement,) = self.parse("ofxparse__anzcc.ofx").statements
        self.assertEqual(statement.account, "1234123412341234")
        self.assertEqual(statement.currency, "AUD")
        self.assertEqual(statement.closing_balance, Decimal("-123.45"))
        (tx,) = statement.transactions
        self.assertEqual(tx.amount, Decimal("-5.50"))
        self.assertEqual(tx.value_date, datetime.date(2017, 5, 8))
        self.assertEqual(tx.remittance, "SOME MEMO")

    def test_ofxparse_empty_tags(self):
        (statement,) = self.parse("ofxparse__ofx-v102-empty-tags.ofx").statements
        self.assertEqual(statement.account, "12345678")
        self.assertEqual(statement.extra["bank_id"], "NPBS")
        self.assertNotIn("branch_id", statement.extra)
        self.assertNotIn("account_type", statement.extra)
        self.assertIsNone(statement.currency)
        self.assertIsNone(statement.closing_balance)
        codes = [warning.code for warning in statement.warnings]
        self.assertEqual(codes, ["currency_missing", "balance_missing"])
        (tx,) = statement.transactions
        self.assertEqual(tx.amount, Decimal("12.34"))
        self.assertIsNone(tx.bank_reference)
        self.assertIsNone(tx.counterparty_name)
        self.assertEqual((tx.currency, tx.extra["currency_rate"]), ("AUD", Decimal("1.0000")))
        self.assertTrue(tx.unique_id)

    def test_ofxparse_date_missing_is_refused_where_it_is(self):
        with self.assertRaises(ParseError) as caught:
            self.parse("ofxparse__fail_nice__date_missing.ofx")
        self.assertEqual(caught.exception.code, "date_missing")
        self.assertEqual(caught.exception.line, 33)

    def test_ofxparse_empty_balance(self):
        (statement,) = self.parse("ofxparse__fail_nice__empty_balance.ofx").statements
        self.assertEqual(len(statement.transactions), 1)
        self.assertEqual(statement.transactions[0].amount, Decimal("120"))
        self.assertIsNone(statement.closing_balance)
        self.assertIsNone(statement.opening_balance)
        self.assertNotIn("available_balance", statement.extra)
        self.assertEqual(statement.warnings[0].code, "balance_missing")

    def test_ofxparse_server_error(self):
        with self.assertRaises(ParseError) as caught:
            self.parse("ofxparse__error_message.ofx")
        self.assertEqual(caught.exception.code, "server_error")
        self.assertEqual(caught.exception.value, "2000")
        self.assertIn("General Server Error", caught.exception.message)
        self.assertEqual(caught.exception.line, 22)

    def test_django_ledger_qfx_with_intu_bid(self):
        (statement,) = self.parse("djl__v1_with_intu_bid.qfx").statements
        self.assertEqual(statement.closing_balance, Decimal("123456.49"))
        self.assertEqual(statement.extra["intu_bid"], "00123")
        self.assertNotIn("fi_id", statement.extra)
        self.assertEqual(statement.currency, "GBP")
        self.assertEqual(statement.transactions[0].amount, Decimal("100000.00"))

    def test_ofxparse_account_listing(self):
        statements = self.parse("ofxparse__account_listing_aggregation.ofx").statements
        self.assertEqual(
            [(s.account, s.extra.get("account_type"), s.extra["description"]) for s in statements],
            [
                ("0000000001", "SAVINGS", "USAA SAVINGS"),
                ("0000000002", "CHECKING", "FOUR STAR CHECKING"),
                ("00000000000003", "CREDITLINE", "LINE OF CREDIT"),
                ("4111111111111111", None, "MY CREDIT CARD"),
            ],
        )
        self.assertEqual(statements[0].extra["bank_id"], "314074269")
        self.assertEqual(statements[0].extra["fi_org"], "USAA")
        for statement in statements:
            self.assertEqual(statement.transactions, [])
            self.assertIsNone(statement.closing_balance)
            self.assertEqual(statement.warnings[0].code, "account_listing")


@tagged("post_install", "-at_install")
class TestOfxSynthetic(BaseCase):
    """Small files built here: dialect details and every kind of bad input."""

    def assertParseError(self, data, code, line=None):
        with self.assertRaises(ParseError) as caught:
            ofx.parse(data)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        if line is not None:
            self.assertEqual(caught.exception.line, line)
        return caught.exception

    def test_sgml_statement(self):
        (statement,) = ofx.parse(sgml()).statements
        self.assertEqual(statement.account, "0001234567")
        self.assertEqual(statement.currency, "EUR")
        self.assertEqual(statement.opening_balance, Decimal("112.50"))
        (tx,) = statement.transactions
        self.assertEqual(tx.counterparty_name, "Bakery & Co")
        self.assertEqual(tx.extra["line"], line_of(sgml(), b"<STMTTRN>"))

    def test_xml_version_2_with_payee_and_foreign_currency(self):
        more = (
            "<PAYEE><NAME>Hotel Zürich</NAME></PAYEE><BANKACCTTO><BANKID>1<ACCTID>CH93 0076"
            "</BANKACCTTO><ORIGCURRENCY><CURRATE>1.05</CURRATE><CURSYM>CHF</CURSYM>"
            "</ORIGCURRENCY><CHECKNUM>1042</CHECKNUM><DTUSER>20240114000000.000[+1:CET]"
        )
        tx_text = transaction(more=more).replace("<NAME>Bakery &amp; Co", "")
        body = sgml(transactions=tx_text, header="").decode("cp1252")
        data = (XML_HEADER.format(encoding="UTF-8") + body).encode("utf-8")
        (statement,) = ofx.parse(data).statements
        self.assertEqual(statement.extra["ofx_version"], "211")
        (tx,) = statement.transactions
        self.assertEqual(tx.counterparty_name, "Hotel Zürich")
        self.assertEqual(tx.counterparty_account, "CH93 0076")
        self.assertEqual(tx.currency, "EUR")
        self.assertEqual(tx.extra["original_currency"], "CHF")
        self.assertEqual(tx.extra["currency_rate"], Decimal("1.05"))
        self.assertEqual(tx.extra["check_number"], "1042")
        self.assertEqual(tx.value_date, datetime.date(2024, 1, 14))

    def test_xml_us_ascii_crlf_with_cdata_values(self):
        """OFX 2 as some banks write it: us-ascii, CRLF line ends, values in CDATA."""
        xml_body = (
            "<OFX>\n<BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STMTRS><CURDEF>AUD</CURDEF>\n"
            "<BANKACCTFROM><BANKID>BANK</BANKID><ACCTID>998877</ACCTID></BANKACCTFROM>\n"
            "<BANKTRANLIST><DTSTART>20240101</DTSTART><DTEND>20240131</DTEND>\n"
            "<STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20240115</DTPOSTED>\n"
            "<TRNAMT>-16.85</TRNAMT><FITID>1</FITID>\n"
            "<NAME><![CDATA[CORNER SHOP & <CO>  ]]></NAME>\n"
            "<MEMO><![CDATA[CARD 1234   TOWN &amp; AU]]></MEMO></STMTTRN>\n"
            "<STMTTRN><TRNTYPE>CREDIT</TRNTYPE><DTPOSTED>20240116</DTPOSTED>\n"
            "<TRNAMT>{amount}</TRNAMT><FITID>2</FITID></STMTTRN>\n"
            "</BANKTRANLIST><LEDGERBAL><BALAMT>1234.12</BALAMT><DTASOF>20240131</DTASOF>"
            "</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1>\n</OFX>"
        )

        def crlf(amount):
            text = XML_HEADER.format(encoding="us-ascii") + xml_body.format(amount=amount)
            return text.replace("\n", "\r\n").encode("ascii")

        (statement,) = ofx.parse(crlf("20.00")).statements
        self.assertEqual((statement.account, statement.currency), ("998877", "AUD"))
        self.assertEqual(statement.closing_balance, Decimal("1234.12"))
        debit, credit = statement.transactions
        self.assertEqual(debit.amount, Decimal("-16.85"))
        # CDATA is verbatim: markup and entity-like text inside it are the value's characters.
        self.assertEqual(debit.counterparty_name, "CORNER SHOP & <CO>")
        self.assertEqual(debit.remittance, "CARD 1234   TOWN &amp; AU")
        self.assertEqual(credit.amount, Decimal("20.00"))
        # Lines still count as the file has them, after the CDATA and with CRLF ends.
        data = crlf("twenty")
        self.assertParseError(data, "amount", line=line_of(data, b"<TRNAMT>twenty"))

    def test_investment_statement_is_refused_saying_so(self):
        data = (
            SGML_HEADER + "<OFX><INVSTMTMSGSRSV1><INVSTMTTRNRS><TRNUID>1\n<INVSTMTRS>"
            "<DTASOF>20240131<CURDEF>USD<INVACCTFROM><BROKERID>b.com<ACCTID>42</INVACCTFROM>"
            "</INVSTMTRS></INVSTMTTRNRS></INVSTMTMSGSRSV1></OFX>"
        ).encode()
        error = self.assertParseError(data, "no_statement", line=line_of(data, b"<INVSTMTRS>"))
        self.assertIn("investment statement (INVSTMTRS)", error.message)
        # Beside a bank statement, the investment one is not read either, and each
        # statement read says so.
        investment = data[data.index(b"<INVSTMTMSGSRSV1>") : data.index(b"</OFX>")]
        mixed = sgml().replace(b"</BANKMSGSRSV1>", b"</BANKMSGSRSV1>" + investment)
        (statement,) = ofx.parse(mixed).statements
        (warning,) = statement.warnings
        self.assertEqual(warning.code, "investment_skipped")
        self.assertEqual(warning.line, line_of(mixed, b"<INVSTMTRS>"))

    def test_dates_stay_in_the_banks_time_zone(self):
        data = sgml(transactions=transaction(posted="20240131233000.000[-8:PST]"))
        (tx,) = ofx.parse(data).statements[0].transactions
        self.assertEqual(tx.booking_date, datetime.date(2024, 1, 31))

    def test_repeated_fitid_falls_back_to_hashed_unique_ids(self):
        data = sgml(transactions=transaction() + "\n" + transaction())
        ids = [tx.unique_id for tx in ofx.parse(data).statements[0].transactions]
        self.assertEqual(len(set(ids)), 2)
        self.assertNotIn("0001234567:F1", ids)

    def test_decimal_comma_is_allowed_by_ofx(self):
        (tx,) = (
            ofx.parse(sgml(transactions=transaction(amount="-12,50"))).statements[0].transactions
        )
        self.assertEqual(tx.amount, Decimal("-12.50"))

    def test_missing_ledger_balance_is_a_warning(self):
        (statement,) = ofx.parse(sgml(ledger="")).statements
        self.assertIsNone(statement.closing_balance)
        self.assertIsNone(statement.opening_balance)
        self.assertEqual(statement.closing_date, datetime.date(2024, 1, 31))
        self.assertEqual(statement.warnings[0].code, "balance_missing")

    def test_impossible_value_date_is_the_months_last_day(self):
        data = sgml(transactions=transaction(more="<DTUSER>20230230"))
        (statement,) = ofx.parse(data).statements
        self.assertEqual(statement.transactions[0].value_date, datetime.date(2023, 2, 28))
        self.assertEqual(statement.warnings[0].code, "date_adjusted")
        self.assertEqual(statement.warnings[0].line, line_of(data, b"<DTUSER>"))

    def test_warning_status_is_kept(self):
        result = ofx.parse(sgml(code="2", severity="WARN", message="Partial"))
        self.assertEqual(result.warnings[0].code, "server_status")
        self.assertIn("Partial", result.warnings[0].message)

    # Bad input -------------------------------------------------------------

    def test_empty_file(self):
        self.assertParseError(b"", "empty")
        self.assertParseError(b" \r\n\t", "empty")

    def test_truncated_file(self):
        data = sgml()
        cut = data[: data.index(b"<LEDGERBAL>")]
        # Reported at the last line that has content: where the file stops.
        self.assertParseError(cut, "truncated", line=cut.rstrip().count(b"\n") + 1)
        inside_a_tag = data[: data.index(b"<LEDGERBAL>") + 4]
        self.assertParseError(inside_a_tag, "truncated", line=line_of(data, b"<LEDGERBAL>"))

    def test_not_ofx_at_all(self):
        self.assertParseError(b"Date;Amount\n2024-01-15;-12,50\n", "not_ofx")
        self.assertParseError(b"<html><body><p>Statement</p></body></html>", "not_ofx")
        self.assertParseError(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "encoding")

    def test_garbage_in_header_or_body(self):
        data = sgml(header="OFXHEADER:100\nthis is no header\n\n")
        self.assertParseError(data, "header", line=2)
        data = sgml(transactions="<STMTTRN><TRNAMT>1</STMTTRNX>")
        self.assertParseError(data, "syntax", line=line_of(data, b"<STMTTRN>"))
        data = sgml(transactions="<STMTTRN><TRNAMT a=1>2</STMTTRN>")
        self.assertParseError(data, "syntax", line=line_of(data, b"<STMTTRN>"))

    def test_date_that_does_not_exist(self):
        data = sgml(transactions=transaction(posted="20230230"))
        error = self.assertParseError(data, "date", line=line_of(data, b"<DTPOSTED>"))
        self.assertEqual(
            error.element, "OFX/BANKMSGSRSV1/STMTTRNRS/STMTRS/BANKTRANLIST/STMTTRN/DTPOSTED"
        )
        data = sgml(transactions=transaction(posted="15/01/2024"))
        self.assertParseError(data, "date", line=line_of(data, b"<DTPOSTED>"))

    def test_non_numeric_amount(self):
        data = sgml(transactions=transaction(amount="12.5O"))
        error = self.assertParseError(data, "amount", line=line_of(data, b"<TRNAMT>"))
        self.assertEqual(error.value, "12.5O")
        data = sgml(transactions="<STMTTRN><DTPOSTED>20240115<FITID>X</STMTTRN>")
        self.assertParseError(data, "amount_missing", line=line_of(data, b"<STMTTRN>"))
        data = sgml(ledger=LEDGER.format(balance="n/a"))
        self.assertParseError(data, "amount", line=line_of(data, b"<LEDGERBAL>"))

    def test_amount_in_the_wrong_locale(self):
        for amount in ("1.234,56", "1,234.56"):
            with self.subTest(amount=amount):
                data = sgml(transactions=transaction(amount=amount))
                self.assertParseError(data, "amount", line=line_of(data, b"<TRNAMT>"))

    def test_wrong_encoding(self):
        self.assertParseError(sgml().decode("cp1252").encode("utf-16"), "encoding", line=1)
        self.assertParseError(codecs.BOM_UTF16_BE + sgml().decode().encode("utf-16-be"), "encoding")
        body = sgml(header="").decode("cp1252").replace("Card payment", "Caf\xe9")
        data = (XML_HEADER.format(encoding="UTF-8") + body).encode("latin-1")
        self.assertParseError(data, "encoding", line=line_of(data, b"Caf"))
        self.assertParseError(sgml(header=SGML_HEADER.replace("1252", "9999")), "encoding")

    def test_xml_entities_are_refused_before_parsing(self):
        doctype = '<!DOCTYPE OFX [<!ENTITY lol "lol">]>\n'
        body = sgml(header="").decode().replace("Card payment", "&lol;")
        data = (XML_HEADER.format(encoding="UTF-8") + doctype + body).encode()
        self.assertParseError(data, "xml_entities", line=3)

    def test_server_error_at_sign_on(self):
        data = sgml().replace(
            b"<CODE>0<SEVERITY>INFO</STATUS>",
            b"<CODE>15500<SEVERITY>ERROR<MESSAGE>Signon invalid</STATUS>",
            1,
        )
        error = self.assertParseError(data, "server_error", line=line_of(data, b"<CODE>15500"))
        self.assertIn("Signon invalid", error.message)

    def test_statement_without_account(self):
        data = sgml(account="")
        self.assertParseError(data, "account_missing", line=line_of(data, b"<STMTRS>"))

    def test_ofx_without_statement(self):
        data = (
            SGML_HEADER + "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO"
            "</STATUS></SONRS></SIGNONMSGSRSV1></OFX>"
        ).encode()
        error = self.assertParseError(data, "no_statement")
        self.assertIn("only the bank's sign-on answer", error.message)

    def test_sniff(self):
        self.assertTrue(ofx.sniff(sgml()))
        self.assertTrue(ofx.sniff(sgml(header="")))
        self.assertFalse(ofx.sniff(b"Date;Amount\n2024-01-15;-12,50\n"))
        self.assertFalse(ofx.sniff(b""))
