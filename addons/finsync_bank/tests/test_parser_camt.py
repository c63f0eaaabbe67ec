"""Tests of the ISO 20022 CAMT parser (camt.052 / camt.053 / camt.054, zip archives).

Corpus files are read in place (see ``corpus.py``); the expected values are
those MANIFEST.md lists, plus the genkgo ``.expected.json`` dumps (amounts in
minor units). Bad inputs are small synthetic documents built here.
"""

import datetime
import http.server
import io
import json
import os
import tempfile
import threading
import zipfile
from decimal import Decimal

from lxml import etree

from odoo.tests import BaseCase, tagged

from ..parsers import camt
from ..parsers.base import ParseError
from .corpus import corpus_file, corpus_files

D = Decimal
IBAN = "NL91ABNA0417164300"
NS = "urn:iso:std:iso:20022:tech:xsd:"


def balance(code, amount, indicator="CRDT", date="2026-01-05", currency="EUR"):
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
        f"<Dt><Dt>{date}</Dt></Dt></Bal>"
    )


OPEN_CLOSE = balance("OPBD", "100.00") + balance("CLBD", "110.00", date="2026-01-06")


def entry(amount="10.00", indicator="CRDT", details="", head="", tail="", booked="2026-01-05"):
    amount_xml = f'<Amt Ccy="EUR">{amount}</Amt>' if amount is not None else ""
    return (
        f"<Ntry>{amount_xml}<CdtDbtInd>{indicator}</CdtDbtInd>{head}<Sts>BOOK</Sts>"
        f"<BookgDt><Dt>{booked}</Dt></BookgDt><ValDt><Dt>2026-01-05</Dt></ValDt>"
        f"{tail}<NtryDtls>{details}</NtryDtls></Ntry>"
    )


def document(entries="", balances=OPEN_CLOSE, message="camt.053.001.02", summary=""):
    kind = message[:8]
    root, record = {
        "camt.053": ("BkToCstmrStmt", "Stmt"),
        "camt.052": ("BkToCstmrAcctRpt", "Rpt"),
        "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
    }[kind]
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS}{message}">\n'
        f"<{root}><GrpHdr><MsgId>MSG-1</MsgId></GrpHdr>\n<{record}><Id>ST-1</Id>"
        f"<Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        f"{balances}\n{summary}\n{entries}\n</{record}></{root}></Document>\n"
    ).encode()


def make_zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def genkgo_entries(relative):
    """(amount, currency, status, servicer reference, booking date) per genkgo entry."""
    dump = json.loads(corpus_file(relative + ".expected.json"))
    rows = []
    for item in dump["getEntries"]:
        money = item["getAmount"]
        currency = money["getCurrency"]["getCode"]
        amount = D(money["getAmount"]).scaleb(0 if currency == "JPY" else -2)
        booked = item["getBookingDate"]["0"][:10]
        status = {"BOOK": "booked", "PDNG": "pending"}[item["getStatus"]]
        rows.append((amount, currency, status, item["getAccountServicerReference"], booked))
    return rows


def genkgo_balances(relative):
    """Sorted (amount, date) of the balances of the dump's record."""
    dump = json.loads(corpus_file(relative + ".expected.json"))
    record = dump["getEntries"][0]["getRecord"]
    rows = []
    for item in record.get("getBalances") or []:
        currency = item["getAmount"]["getCurrency"]["getCode"]
        amount = D(item["getAmount"]["getAmount"]).scaleb(0 if currency == "JPY" else -2)
        rows.append((amount, item["getDate"]["0"][:10]))
    return sorted(rows)


def all_balances(statement):
    rows = [
        (statement.opening_balance, statement.opening_date),
        (statement.closing_balance, statement.closing_date),
    ]
    rows += [(item["amount"], item["date"]) for item in statement.extra["balances"]]
    return sorted((amount, date.isoformat()) for amount, date in rows if amount is not None)


@tagged("post_install", "-at_install")
class TestCamtCorpus(BaseCase):
    """Conformance: every corpus file gives what MANIFEST.md expects of it."""

    def parse(self, relative):
        return camt.parse(corpus_file(relative), filename=relative)

    def assert_like_genkgo(self, relative, statement):
        """Entries (amount, currency, status, reference, booking date) and balances."""
        ours = [
            (
                tx.amount,
                tx.currency,
                tx.extra["status"],
                tx.bank_reference,
                tx.booking_date.isoformat(),
            )
            for tx in statement.transactions
        ]
        self.assertEqual(ours, genkgo_entries(relative))
        self.assertEqual(all_balances(statement), genkgo_balances(relative))

    def test_every_file_of_the_corpus_parses_or_is_refused_as_expected(self):
        malformed = {"camt053/genkgo__camt053.v2.wrong.xml": "missing"}
        for folder in ("camt052", "camt053", "camt054"):
            for name in corpus_files(folder):
                relative = f"{folder}/{name}"
                with self.subTest(file=relative):
                    data = corpus_file(relative)
                    self.assertTrue(camt.sniff(data))
                    if relative in malformed:
                        with self.assertRaises(ParseError) as caught:
                            camt.parse(data)
                        self.assertEqual(caught.exception.code, malformed[relative])
                        continue
                    result = camt.parse(data)
                    self.assertEqual(result.format, folder.replace("camt", "camt."))
                    for statement in result.statements:
                        ids = [tx.unique_id for tx in statement.transactions]
                        self.assertEqual(len(ids), len(set(ids)))
                        self.assertTrue(all(ids))

    def test_every_corpus_file_has_a_conformance_test(self):
        covered = {
            "genkgo__camt052.v2.xml",
            "genkgo__camt052.v4.xml",
            "genkgo__camt052.v6.Amt-zero.xml",
            "genkgo__camt053.v2.all-balance-types.xml",
            "genkgo__camt053.v2.minimal.xml",
            "genkgo__camt053.v2.multi.statement.xml",
            "genkgo__camt053.v2.wrong.xml",
            "genkgo__camt053.v4.xml",
            "oca18__test-camt053-no-ntry.xml",
            "oca18__test-camt053.xml",
            "oca18__test-camt053.zip",
            "genkgo__camt054.v2.xml",
            "oca18__test-camt054.xml",
        }
        present = set()
        for folder in ("camt052", "camt053", "camt054"):
            present.update(corpus_files(folder))
        self.assertEqual(present, covered)

    # camt.053 ------------------------------------------------------------------------------

    def test_oca_camt053(self):
        result = self.parse("camt053/oca18__test-camt053.xml")
        self.assertEqual(result.format, "camt.053")
        (statement,) = result.statements
        self.assertEqual(
            (statement.account, statement.currency, statement.statement_id),
            ("NL77ABNA0574908765", "EUR", "1234Test/1"),
        )
        self.assertEqual(statement.extra["version"], "camt.053.001.02")
        self.assertEqual(statement.opening_balance, D("15568.27"))
        self.assertEqual(statement.closing_balance, D("15121.12"))
        self.assertEqual(statement.closing_date, datetime.date(2014, 1, 5))
        rows = [
            (
                tx.amount,
                tx.booking_date,
                tx.end_to_end_id,
                tx.counterparty_name,
                tx.counterparty_account,
            )
            for tx in statement.transactions
        ]
        day = datetime.date(2014, 1, 5)
        self.assertEqual(
            rows,
            [
                (
                    D("-754.25"),
                    day,
                    "435005714488-ABNO33052620",
                    "INSURANCE COMPANY TESTX",
                    "NL46ABNA0499998748",
                ),
                (
                    D("-564.05"),
                    day,
                    "TESTBANK/NL/20141229/01206408",
                    "Test Customer",
                    "NL46ABNA0499998748",
                ),
                (
                    D("-100.00"),
                    day,
                    "TESTBANK/NL/20141229/01206407",
                    "Test Customer",
                    "NL46ABNA0499998748",
                ),
                (D("1405.31"), day, "115", "3rd party Media", "NL69ABNA0522123643"),
            ],
        )
        codes = [tx.bank_transaction_code for tx in statement.transactions]
        self.assertEqual(
            codes, ["PMNT/RDDT/ESDD", "PMNT/IDDT/UPDD", "PMNT/IDDT/UPDD", "PMNT/RCDT/ESCT"]
        )
        # The reversed direct debit (a batch of two) keeps the bank's DBIT sign.
        reversal = statement.transactions[1]
        self.assertIs(reversal.extra["reversal"], True)
        self.assertEqual(reversal.extra["entry_amount"], D("-664.05"))
        self.assertEqual(
            statement.transactions[3].remittance, "#RD PARTY MEDIA CUSNO 90782 4210773"
        )
        # The MANIFEST notes the source balances do not reconcile (start - 12.99 != end).
        self.assertIn("balance_mismatch", [w.code for w in statement.warnings])

    def test_oca_camt053_without_entries(self):
        # OCA's importer drops such a statement (golden: no statements); the
        # parser keeps its balances and reports no transaction to import.
        result = self.parse("camt053/oca18__test-camt053-no-ntry.xml")
        (statement,) = result.statements
        self.assertEqual(statement.transactions, [])
        self.assertEqual(statement.extra["version"], "camt.053.001.04")
        self.assertEqual(
            (statement.opening_balance, statement.closing_balance), (D("1520.76"),) * 2
        )

    def test_oca_zip_of_two_statements(self):
        result = self.parse("camt053/oca18__test-camt053.zip")
        self.assertEqual(result.format, "camt.053")
        self.assertEqual([s.statement_id for s in result.statements], ["1234Test/2", "1234Test/3"])
        self.assertEqual(
            [s.extra["file"] for s in result.statements],
            ["test-camt053_02.xml", "test-camt053_03.xml"],
        )
        first = result.statements[0]
        self.assertEqual(len(first.transactions), 3)
        self.assertEqual(
            [tx.amount for tx in first.transactions], [D("-754.25"), D("-594.05"), D("1405.31")]
        )
        self.assertTrue(all(s.transactions for s in result.statements))

    def test_genkgo_multi_statement(self):
        relative = "camt053/genkgo__camt053.v2.multi.statement.xml"
        first, second = self.parse(relative).statements
        self.assertEqual(first.statement_id, "253EURNL26VAYB8060476890")
        self.assertEqual(second.statement_id, "254EURNL26VAYB8060476890")
        self.assertEqual((first.opening_balance, first.closing_balance), (D("18.15"), D("27.00")))
        self.assertEqual((second.opening_balance, second.closing_balance), (D("27.00"), D("20.00")))
        credit, debit = first.transactions + second.transactions
        self.assertEqual(
            (credit.amount, credit.remittance, credit.end_to_end_id),
            (D("8.85"), "Transaction Description 1", "000000001"),
        )
        self.assertEqual(
            (debit.amount, debit.remittance), (D("-7.00"), "Transaction Description 2")
        )
        # A debit's counterparty is the creditor; the credit's file names no debtor.
        self.assertEqual(debit.counterparty_name, "Company Name 2")
        self.assertIsNone(credit.counterparty_name)
        self.assertEqual(second.account, "NL26VAYB8060476890")
        self.assertEqual(debit.value_date, datetime.date(2015, 1, 2))
        self.assert_like_genkgo(relative, second)

    def check_genkgo_minimal_or_v4(self, relative, version, closing_date):
        (statement,) = self.parse(relative).statements
        self.assertEqual(statement.extra["version"], version)
        self.assertEqual(statement.extra["message_id"], "CAMT053RIB000000000001")
        self.assertEqual(statement.statement_id, "253EURNL26VAYB8060476890")
        self.assertEqual((statement.account, statement.currency), ("NL26VAYB8060476890", "EUR"))
        self.assertEqual(statement.opening_balance, D("18.15"))
        self.assertEqual(statement.opening_date, datetime.date(2014, 12, 30))
        self.assertEqual(statement.closing_balance, D("-27.00"))
        self.assertEqual(statement.closing_date, closing_date)
        # Four balances in four currencies: the SEK closing balance is flagged.
        self.assertEqual(len(statement.extra["balances"]), 2)
        self.assertIn("balance_currency", [w.code for w in statement.warnings])
        (tx,) = statement.transactions
        self.assertEqual((tx.amount, tx.currency), (D("8.85"), "EUR"))
        self.assertEqual(tx.booking_date, datetime.date(2014, 12, 31))
        self.assertEqual(tx.value_date, datetime.date(2015, 1, 2))
        self.assertEqual(tx.structured_reference, "4654654654654654")
        self.assertEqual(
            (tx.counterparty_name, tx.counterparty_account), ("NAME NAME", "NL56AGDH9619008421")
        )
        self.assert_like_genkgo(relative, statement)
        return tx

    def test_genkgo_camt053_minimal(self):
        tx = self.check_genkgo_minimal_or_v4(
            "camt053/genkgo__camt053.v2.minimal.xml",
            "camt.053.001.02",
            datetime.date(2014, 12, 31),
        )
        self.assertEqual(tx.bank_transaction_code, "544")

    def test_genkgo_camt053_v4(self):
        tx = self.check_genkgo_minimal_or_v4(
            "camt053/genkgo__camt053.v4.xml", "camt.053.001.04", datetime.date(2014, 12, 30)
        )
        self.assertEqual(tx.bank_reference, "AAAASESS-FP-CN_98765/01")
        self.assertEqual(tx.bank_transaction_code, "PAYM/0001/0005")

    def test_genkgo_all_balance_types(self):
        relative = "camt053/genkgo__camt053.v2.all-balance-types.xml"
        (statement,) = self.parse(relative).statements
        self.assertEqual((statement.account, statement.currency), ("CH2801234000123456789", "EUR"))
        # OPBD wins over PRCD as the opening balance; the 8 others are kept.
        self.assertEqual(
            (statement.opening_balance, statement.closing_balance), (D("1.01"), D("4.04"))
        )
        kinds = [item["type"] for item in statement.extra["balances"]]
        self.assertEqual(kinds, ["PRCD", "OPAV", "CLAV", "FWAV", "INFO", "ITAV", "ITBD", "XPCD"])
        self.assertEqual(statement.extra["balances"][-1]["amount"], D("10.10"))
        self.assert_like_genkgo(relative, statement)

    def test_genkgo_wrong_document_is_refused(self):
        with self.assertRaises(ParseError) as caught:
            self.parse("camt053/genkgo__camt053.v2.wrong.xml")
        self.assertEqual(caught.exception.code, "missing")
        self.assertEqual(caught.exception.element, "BkToCstmrStmt/Stmt")

    # camt.054 ------------------------------------------------------------------------------

    def test_oca_camt054(self):
        result = self.parse("camt054/oca18__test-camt054.xml")
        self.assertEqual(result.format, "camt.054")
        (statement,) = result.statements
        self.assertEqual(
            (statement.account, statement.currency, statement.statement_id),
            ("NL77ABNA0574908765", "EUR", "20220120000000000000000"),
        )
        # Notifications carry no balances (OCA shows 0.0): none, and no warning.
        self.assertIsNone(statement.opening_balance)
        self.assertEqual(statement.warnings, [])
        (tx,) = statement.transactions
        self.assertEqual((tx.amount, tx.booking_date), (D("5.00"), datetime.date(2022, 1, 26)))
        self.assertEqual(tx.structured_reference, "000000000000000000000000003")
        self.assertEqual(
            (tx.counterparty_name, tx.counterparty_account), ("Test Customer", "NL46ABNA0499998748")
        )
        self.assertEqual((tx.end_to_end_id, tx.bank_reference), ("ENDTOENDID-01", "98888208N8"))
        self.assertEqual(tx.bank_transaction_code, "PMNT/RCDT/VCOM")
        self.assertEqual(tx.remittance, "Additional entry info")

    def test_genkgo_camt054(self):
        relative = "camt054/genkgo__camt054.v2.xml"
        (statement,) = self.parse(relative).statements
        self.assertEqual(statement.extra["message_id"], "AAAASESS-FP-ACCR001")
        self.assertEqual(
            (statement.statement_id, statement.account),
            ("AAAASESS-FP-ACCR001", "CH2801234000123456789"),
        )
        # Three TxDtls without amounts of their own: one transaction for the entry.
        (tx,) = statement.transactions
        self.assertEqual((tx.amount, tx.currency), (D("-200000"), "SEK"))
        self.assertEqual(tx.booking_date, datetime.date(2007, 10, 18))
        self.assertEqual(tx.bank_transaction_code, "PMNT/ICDT/DMCT")
        self.assertEqual(tx.end_to_end_id, "MUELL/FINP/RA12345")
        self.assertEqual(tx.structured_reference, "ISR ref number V1")
        self.assertIn("Unstructured Remittance Information V3 block 2", tx.remittance)
        self.assert_like_genkgo(relative, statement)

    # camt.052 ------------------------------------------------------------------------------

    def test_genkgo_camt052_v2(self):
        relative = "camt052/genkgo__camt052.v2.xml"
        result = self.parse(relative)
        self.assertEqual(result.format, "camt.052")
        (statement,) = result.statements
        self.assertEqual(
            (statement.statement_id, statement.account),
            ("AAAASESS-FP-ACCR001", "CH2801234000123456789"),
        )
        self.assertEqual(statement.extra["version"], "camt.052.001.02")
        self.assertEqual(
            [w.code for w in statement.warnings], ["balance_missing", "balance_missing"]
        )
        (tx,) = statement.transactions
        self.assertEqual((tx.amount, tx.currency), (D("-200000"), "SEK"))
        # BookgDt/DtTm: the date as the bank wrote it.
        self.assertEqual(tx.booking_date, datetime.date(2007, 10, 18))
        self.assertEqual(tx.remittance, "Credit")  # AddtlNtryInf, no Ustrd
        self.assertEqual(tx.counterparty_name, "Company Name")
        self.assertEqual(tx.counterparty_account, "NL56AGDH9619008421")
        self.assert_like_genkgo(relative, statement)

    def check_genkgo_camt052_pending(self, relative, version, number):
        (statement,) = self.parse(relative).statements
        self.assertEqual(statement.extra["version"], version)
        self.assertIsNone(statement.opening_balance)
        (interim,) = statement.extra["balances"]
        self.assertEqual((interim["type"], interim["amount"]), ("ITBD", D("10022.15")))
        (tx,) = statement.transactions
        self.assertEqual(tx.extra["status"], "pending")
        self.assertEqual((tx.amount, tx.currency), (D("-200000"), "SEK"))
        self.assertEqual(tx.bank_reference, "ACSR160614165200001")
        self.assertEqual(tx.end_to_end_id, "UXC06140000015PI00001EE00001")
        self.assertEqual(tx.remittance, f"Example Remittance - {number} - V1")
        # The detail says CRDT: its debtor is the other party.
        self.assertEqual(tx.counterparty_name, f"Example Creditor {number} - V1")
        self.assert_like_genkgo(relative, statement)
        return tx

    def test_genkgo_camt052_v4_pending(self):
        tx = self.check_genkgo_camt052_pending(
            "camt052/genkgo__camt052.v4.xml", "camt.052.001.04", 4
        )
        self.assertEqual(tx.extra["charges"], D("0.31"))

    def test_genkgo_camt052_v6_zero_amounts(self):
        tx = self.check_genkgo_camt052_pending(
            "camt052/genkgo__camt052.v6.Amt-zero.xml", "camt.052.001.06", 6
        )
        self.assertEqual(tx.extra["charges"], D("0"))


@tagged("post_install", "-at_install")
class TestCamtReading(BaseCase):
    """Synthetic documents: versions, entries, details, balances and totals."""

    def test_versions_read_from_the_namespace(self):
        for version in ("02", "04", "06", "08", "10"):
            with self.subTest(version=version):
                data = document(entry(), message=f"camt.053.001.{version}")
                (statement,) = camt.parse(data).statements
                self.assertEqual(statement.extra["version"], f"camt.053.001.{version}")
                self.assertEqual(statement.transactions[0].amount, D("10.00"))

    def test_version_01_statement_and_report(self):
        """camt.053.001.01 / camt.052.001.01: ``...V01`` roots and ``Bal/Tp/Cd``."""

        def v01(root, record, status):
            def bal(code, amount, day):
                return (
                    f"<Bal><Tp><Cd>{code}</Cd></Tp><Amt Ccy='EUR'>{amount}</Amt>"
                    f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-{day}</Dt></Dt></Bal>"
                )

            return (
                f"<?xml version='1.0' encoding='UTF-8'?>\n<Document xmlns='{NS}{root[1]}'>"
                f"<{root[0]}><GrpHdr><MsgId>V01-MSG</MsgId>"
                f"<CreDtTm>2026-03-03T18:00:00</CreDtTm></GrpHdr>"
                f"<{record}><Id>V01-1</Id><CreDtTm>2026-03-03T18:00:00</CreDtTm>"
                f"<Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
                + bal("OPBD", "500.00", "02")
                + bal("CLBD", "462.50", "03")
                + "<TxsSummry><TtlNtries><NbOfNtries>2</NbOfNtries><Sum>87.50</Sum>"
                "<TtlNetNtryAmt>37.50</TtlNetNtryAmt><CdtDbtInd>DBIT</CdtDbtInd>"
                "</TtlNtries></TxsSummry>"
                "<Ntry><Amt Ccy='EUR'>62.50</Amt><CdtDbtInd>DBIT</CdtDbtInd>"
                f"<Sts>{status}</Sts><BookgDt><Dt>2026-03-03</Dt></BookgDt>"
                "<ValDt><Dt>2026-03-03</Dt></ValDt><AcctSvcrRef>V01-A</AcctSvcrRef>"
                "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd>"
                "</Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>PAY-77</EndToEndId>"
                "</Refs><RltdPties><Cdtr><Nm>Stationery Ltd</Nm></Cdtr><CdtrAcct><Id>"
                "<IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct></RltdPties>"
                "<RmtInf><Ustrd>Order 77</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
                "<Ntry><Amt Ccy='EUR'>25.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
                f"<Sts>{status}</Sts><BookgDt><Dt>2026-03-03</Dt></BookgDt>"
                "<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Jane Buyer</Nm></Dbtr></RltdPties>"
                "<RmtInf><Ustrd>INV/2026/00012</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
                f"</{record}></{root[0]}></Document>\n"
            ).encode()

        cases = (
            (("BkToCstmrStmtV01", "camt.053.001.01"), "Stmt", "BOOK", "camt.053"),
            (("BkToCstmrAcctRptV01", "camt.052.001.01"), "Rpt", "BOOK", "camt.052"),
        )
        for root, record, status, fmt in cases:
            with self.subTest(message=root[1]):
                data = v01(root, record, status)
                self.assertTrue(camt.sniff(data))
                result = camt.parse(data)
                self.assertEqual(result.format, fmt)
                (statement,) = result.statements
                self.assertEqual(statement.extra["version"], root[1])
                self.assertEqual((statement.account, statement.currency), (IBAN, "EUR"))
                self.assertEqual(statement.opening_balance, D("500.00"))
                self.assertEqual(statement.closing_balance, D("462.50"))
                self.assertEqual(statement.closing_date, datetime.date(2026, 3, 3))
                self.assertEqual(statement.warnings, [])
                paid, received = statement.transactions
                self.assertEqual((paid.amount, received.amount), (D("-62.50"), D("25.00")))
                self.assertEqual(paid.booking_date, datetime.date(2026, 3, 3))
                self.assertEqual(paid.bank_transaction_code, "PMNT/ICDT/ESCT")
                self.assertEqual(paid.end_to_end_id, "PAY-77")
                self.assertEqual(paid.counterparty_name, "Stationery Ltd")
                self.assertEqual(paid.counterparty_account, "DE89370400440532013000")
                self.assertEqual(paid.remittance, "Order 77")
                self.assertEqual(received.counterparty_name, "Jane Buyer")
                self.assertEqual(received.remittance, "INV/2026/00012")

    def test_prefixed_namespace_reads_the_same(self):
        data = document(entry()).replace(b"<", b"<c:").replace(b"<c:/", b"</c:")
        data = data.replace(b"<c:?xml", b"<?xml").replace(b'xmlns="', b'xmlns:c="')
        (statement,) = camt.parse(data).statements
        self.assertEqual((statement.account, statement.transactions[0].amount), (IBAN, D("10.00")))

    def test_document_without_namespace(self):
        data = document(entry()).replace(f' xmlns="{NS}camt.053.001.02"'.encode(), b"")
        (statement,) = camt.parse(data).statements
        self.assertIsNone(statement.extra["version"])
        self.assertEqual(statement.transactions[0].amount, D("10.00"))

    def test_pending_entries_stay_out_of_the_balance_check(self):
        pending = entry("99.00").replace("<Sts>BOOK</Sts>", "<Sts>PDNG</Sts>")
        data = document(entry() + pending, message="camt.052.001.02")
        (statement,) = camt.parse(data).statements
        self.assertEqual(statement.warnings, [])
        self.assertEqual(statement.transactions[1].extra["status"], "pending")

    def test_v8_status_code_and_party_choice(self):
        details = (
            "<TxDtls><RltdPties><Dbtr><Pty><Nm>Alice</Nm></Pty></Dbtr>"
            "<DbtrAcct><Id><Othr><Id>12345678</Id></Othr></Id></DbtrAcct></RltdPties></TxDtls>"
        )
        ntry = entry(details=details).replace("<Sts>BOOK</Sts>", "<Sts><Cd>PDNG</Cd></Sts>")
        (statement,) = camt.parse(document(ntry, message="camt.052.001.08")).statements
        (tx,) = statement.transactions
        self.assertEqual(tx.extra["status"], "pending")
        self.assertEqual((tx.counterparty_name, tx.counterparty_account), ("Alice", "12345678"))

    def test_reversed_credit_booked_as_debit_is_negative(self):
        ntry = entry("25.00", "DBIT", head="<RvslInd>true</RvslInd>")
        (tx,) = camt.parse(document(ntry)).statements[0].transactions
        self.assertEqual(tx.amount, D("-25.00"))
        self.assertIs(tx.extra["reversal"], True)

    def test_batch_gives_one_transaction_per_detail(self):
        details = "".join(
            f"<TxDtls><Refs><EndToEndId>{ref}</EndToEndId></Refs>"
            f'<AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>'
            f"<RltdPties><Cdtr><Nm>{name}</Nm></Cdtr>"
            f"<CdtrAcct><Id><IBAN>{iban}</IBAN></Id></CdtrAcct></RltdPties>"
            f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls>"
            for ref, amount, name, iban, text in (
                ("E1", "30.00", "Bob", "DE89370400440532013000", "Invoice 1"),
                ("NOTPROVIDED", "20.00", "Carol", "FR1420041010050500013M02606", "Invoice 2"),
            )
        )
        ntry = entry("50.00", "DBIT", details=details, tail="<AcctSvcrRef>B-1</AcctSvcrRef>")
        (statement,) = camt.parse(document(ntry)).statements
        first, second = statement.transactions
        self.assertEqual((first.amount, second.amount), (D("-30.00"), D("-20.00")))
        self.assertEqual((first.counterparty_name, second.counterparty_name), ("Bob", "Carol"))
        self.assertEqual(second.counterparty_account, "FR1420041010050500013M02606")
        self.assertEqual((first.end_to_end_id, second.end_to_end_id), ("E1", None))
        self.assertEqual((first.remittance, second.remittance), ("Invoice 1", "Invoice 2"))
        self.assertEqual([tx.extra["batch_index"] for tx in statement.transactions], [1, 2])
        self.assertNotEqual(first.unique_id, second.unique_id)
        self.assertNotIn("batch_mismatch", [w.code for w in statement.warnings])

    def test_batch_that_does_not_add_up_is_flagged(self):
        details = '<TxDtls><Amt Ccy="EUR">1.00</Amt></TxDtls>' * 2
        (statement,) = camt.parse(document(entry("5.00", details=details))).statements
        # The entry stays whole: the bank booked 5.00, not the details' 2.00.
        self.assertEqual([tx.amount for tx in statement.transactions], [D("5.00")])
        (warning,) = [w for w in statement.warnings if w.code == "batch_mismatch"]
        self.assertEqual(warning.element, "Stmt[1]/Ntry[1]/Amt")

    def test_batch_splits_only_when_its_details_add_up_in_the_entry_currency(self):
        def details(*amounts):
            return "".join(
                f"<TxDtls><Refs><EndToEndId>E{index}</EndToEndId></Refs>"
                f'<AmtDtls><TxAmt><Amt Ccy="{currency}">{amount}</Amt></TxAmt></AmtDtls>'
                f"<RmtInf><Ustrd>Item {index}</Ustrd></RmtInf></TxDtls>"
                for index, (amount, currency) in enumerate(amounts, 1)
            )

        cases = {
            "short by 5": ("50.00", details(("30.00", "EUR"), ("15.00", "EUR"))),
            "over by a cent": ("50.00", details(("30.00", "EUR"), ("20.01", "EUR"))),
            "other currency": ("50.00", details(("30.00", "USD"), ("20.00", "USD"))),
            "mixed currencies": ("50.00", details(("30.00", "EUR"), ("20.00", "CHF"))),
        }
        for name, (amount, xml) in cases.items():
            with self.subTest(case=name):
                (statement,) = camt.parse(document(entry(amount, "DBIT", details=xml))).statements
                (tx,) = statement.transactions
                self.assertEqual((tx.amount, tx.currency), (D("-50.00"), "EUR"))
                self.assertNotIn("batch_index", tx.extra)
                self.assertEqual(tx.remittance, "Item 1 Item 2")
                self.assertIn("batch_mismatch", [w.code for w in statement.warnings])
        # Exact decimals: 0.10 + 0.20 is 0.30 (it is not in binary floating point).
        xml = details(("0.10", "EUR"), ("0.20", "EUR"))
        (statement,) = camt.parse(document(entry("0.30", "DBIT", details=xml))).statements
        self.assertEqual([tx.amount for tx in statement.transactions], [D("-0.10"), D("-0.20")])
        self.assertNotIn("batch_mismatch", [w.code for w in statement.warnings])

    def test_remittance_texts(self):
        several = "<TxDtls><RmtInf><Ustrd>Part one</Ustrd><Ustrd>part two</Ustrd></RmtInf></TxDtls>"
        additional = "<TxDtls><AddtlTxInf>From AddtlTxInf</AddtlTxInf></TxDtls>"
        entries = (
            entry(details=several)
            + entry(details=additional)
            + entry(tail="<AddtlNtryInf>From the entry</AddtlNtryInf>")
        )
        statement = camt.parse(document(entries)).statements[0]
        self.assertEqual(
            [tx.remittance for tx in statement.transactions],
            ["Part one part two", "From AddtlTxInf", "From the entry"],
        )

    def test_bank_transaction_code_and_charges(self):
        v2_charges = (
            '<Chrgs><Amt Ccy="EUR">1.50</Amt></Chrgs><Chrgs><Amt Ccy="EUR">0.50</Amt></Chrgs>'
        )
        v8_charges = (
            '<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">2.25</TtlChrgsAndTaxAmt>'
            '<Rcrd><Amt Ccy="EUR">2.25</Amt></Rcrd></Chrgs>'
        )
        proprietary = "<BkTxCd><Prtry><Cd>NTRF</Cd></Prtry></BkTxCd>"
        entries = entry(tail=proprietary + v2_charges) + entry(tail=v8_charges)
        first, second = camt.parse(document(entries)).statements[0].transactions
        self.assertEqual(first.bank_transaction_code, "NTRF")
        self.assertEqual((first.extra["charges"], second.extra["charges"]), (D("2.00"), D("2.25")))

    def test_balances_signs_and_missing_ones(self):
        balances = balance("PRCD", "5.00", "DBIT") + balance("FWAV", "7.00")
        (statement,) = camt.parse(document(entry(), balances=balances)).statements
        self.assertEqual(statement.opening_balance, D("-5.00"))  # PRCD when no OPBD
        self.assertIsNone(statement.closing_balance)
        self.assertIsNone(statement.closing_date)
        self.assertEqual([w.code for w in statement.warnings], ["balance_missing"])
        self.assertEqual(statement.extra["balances"][0]["type"], "FWAV")

    def test_totals_that_disagree_with_the_entries(self):
        summary = (
            "<TxsSummry><TtlNtries><NbOfNtries>3</NbOfNtries><Sum>99.00</Sum>"
            '<TtlNetNtry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>DBIT</CdtDbtInd></TtlNetNtry>'
            "</TtlNtries></TxsSummry>"
        )
        data = document(entry() + entry(), message="camt.053.001.08", summary=summary)
        (statement,) = camt.parse(data).statements
        mismatches = [w.element for w in statement.warnings if w.code == "totals_mismatch"]
        self.assertEqual(
            mismatches,
            [
                "Stmt[1]/TxsSummry/TtlNtries/NbOfNtries",
                "Stmt[1]/TxsSummry/TtlNtries/Sum",
                "Stmt[1]/TxsSummry/TtlNtries/TtlNetNtry",
            ],
        )

    def test_totals_that_agree_give_no_warning(self):
        summary = (
            "<TxsSummry><TtlNtries><NbOfNtries>2</NbOfNtries><Sum>20.00</Sum>"
            "<TtlNetNtryAmt>0</TtlNetNtryAmt><CdtDbtInd>CRDT</CdtDbtInd>"
            "</TtlNtries></TxsSummry>"
        )
        entries = entry() + entry("10.00", "DBIT")
        balances = balance("OPBD", "100.00") + balance("CLBD", "100.00")
        data = document(entries, balances=balances, summary=summary)
        self.assertEqual(camt.parse(data).statements[0].warnings, [])

    def test_thirtieth_of_february_value_date_is_adjusted(self):
        ntry = entry().replace("<ValDt><Dt>2026-01-05</Dt>", "<ValDt><Dt>2026-02-30</Dt>")
        (statement,) = camt.parse(document(ntry)).statements
        self.assertEqual(statement.transactions[0].value_date, datetime.date(2026, 2, 28))
        (warning,) = [w for w in statement.warnings if w.code == "date_adjusted"]
        self.assertEqual(warning.element, "Stmt[1]/Ntry[1]/ValDt")

    def test_unique_ids_are_stable(self):
        data = document(entry() + entry())
        first = [tx.unique_id for tx in camt.parse(data).statements[0].transactions]
        again = [tx.unique_id for tx in camt.parse(data).statements[0].transactions]
        self.assertEqual(first, again)
        self.assertEqual(len(set(first)), 2)

    def test_sniff(self):
        self.assertTrue(camt.sniff(document(entry())))
        self.assertTrue(camt.sniff(make_zip([("a.xml", document(entry()))])))
        self.assertFalse(camt.sniff(b"OFXHEADER:100\nDATA:OFXSGML\n"))
        self.assertFalse(camt.sniff(b":20:STARTUMS\n:25:12345678/1020304050\n"))
        self.assertFalse(camt.sniff(b"PK\x03\x04 not really a zip"))


@tagged("post_install", "-at_install")
class TestCamtBadInput(BaseCase):
    """Bad input: a ParseError with a specific code and where it happened."""

    def assert_refused(self, data, code):
        with self.assertRaises(ParseError) as caught:
            camt.parse(data)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        return caught.exception

    def test_empty_file(self):
        self.assert_refused(b"", "empty")
        self.assert_refused(b" \r\n\t", "empty")

    def test_garbage(self):
        error = self.assert_refused(b"\x00\x01\x02 this is no XML", "xml_syntax")
        self.assertEqual(error.line, 1)
        self.assert_refused(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "xml_syntax")

    def test_truncated_file_reports_the_line(self):
        data = corpus_file("camt053/oca18__test-camt053.xml")
        truncated = data[: len(data) // 2]
        error = self.assert_refused(truncated, "xml_syntax")
        self.assertEqual(error.line, truncated.count(b"\n") + 1)

    def test_wrong_encoding(self):
        data = document(entry(details="<TxDtls><RmtInf><Ustrd>Café</Ustrd></RmtInf></TxDtls>"))
        latin1 = data.decode("utf-8").encode("latin-1")  # still declares UTF-8
        error = self.assert_refused(latin1, "encoding")
        self.assertEqual(error.line, data[: data.index(b"Caf")].count(b"\n") + 1)

    def test_xml_that_is_not_camt(self):
        pain = (
            b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
            b'pain.001.001.03"><CstmrCdtTrfInitn/></Document>'
        )
        self.assertEqual(self.assert_refused(pain, "not_camt").element, "Document")
        self.assert_refused(b"<html><body>statement</body></html>", "not_camt")

    def test_missing_amount_names_the_element(self):
        entries = entry() + entry() + entry(amount=None)
        error = self.assert_refused(document(entries), "missing")
        self.assertEqual(error.element, "Stmt[1]/Ntry[3]/Amt")

    def test_amount_in_the_wrong_locale(self):
        error = self.assert_refused(document(entry("12,50")), "amount")
        self.assertEqual((error.element, error.value), ("Stmt[1]/Ntry[1]/Amt", "12,50"))

    def test_negative_or_empty_amount(self):
        self.assert_refused(document(entry("-12.50")), "amount")
        self.assert_refused(document(entry("")), "amount")

    def test_impossible_date(self):
        error = self.assert_refused(document(entry(booked="2014-13-45")), "date")
        self.assertEqual(error.element, "Stmt[1]/Ntry[1]/BookgDt")
        error = self.assert_refused(document(entry(booked="05.01.2014")), "date")
        self.assertEqual(error.value, "05.01.2014")

    def test_unknown_credit_debit_indicator(self):
        error = self.assert_refused(document(entry(indicator="CREDIT")), "credit_debit")
        self.assertEqual(error.element, "Stmt[1]/Ntry[1]/CdtDbtInd")

    def test_batch_detail_amount_names_the_detail(self):
        details = (
            '<TxDtls><Amt Ccy="EUR">1.00</Amt></TxDtls><TxDtls><Amt Ccy="EUR">x</Amt></TxDtls>'
        )
        error = self.assert_refused(document(entry(details=details)), "amount")
        self.assertEqual(error.element, "Stmt[1]/Ntry[1]/NtryDtls/TxDtls[2]/Amt")


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_GET(self):
        self.requests.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY leak "fetched">')

    def log_message(self, *args):
        pass


@tagged("post_install", "-at_install")
class TestCamtSecurity(BaseCase):
    """Entities, DTDs and archives cannot make the parser read, fetch or blow up."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = http.server.HTTPServer(("127.0.0.1", 0), _RecordingHandler)
        cls.url = f"http://127.0.0.1:{cls.server.server_port}"
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        _RecordingHandler.requests.clear()

    def assert_refused(self, data, code):
        with self.assertRaises(ParseError) as caught:
            camt.parse(data)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        return caught.exception

    def with_doctype(self, doctype, text="&x;"):
        data = document(entry(details=f"<TxDtls><RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls>"))
        return data.replace(b"\n<Document", f"\n{doctype}\n<Document".encode(), 1)

    def test_external_entity_on_a_local_file_is_not_read(self):
        secret = "finsync-secret-4f1c9e"
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
            handle.write(secret)
        self.addCleanup(os.unlink, handle.name)
        data = self.with_doctype(f'<!DOCTYPE Document [<!ENTITY x SYSTEM "file://{handle.name}">]>')
        error = self.assert_refused(data, "xml_entities")
        self.assertNotIn(secret, f"{error} {error.message} {error.value} {error.element}")
        passwd = self.with_doctype('<!DOCTYPE Document [<!ENTITY x SYSTEM "file:///etc/passwd">]>')
        error = self.assert_refused(passwd, "xml_entities")
        self.assertNotIn("root:", str(error))

    def test_billion_laughs_is_refused(self):
        levels = ['<!ENTITY x0 "ha">'] + [
            f'<!ENTITY x{n} "{f"&x{n - 1};" * 10}">' for n in range(1, 10)
        ]
        doctype = "<!DOCTYPE Document [" + "".join(levels) + '<!ENTITY x "&x9;">]>'
        self.assert_refused(self.with_doctype(doctype), "xml_entities")

    def test_network_dtd_is_neither_fetched_nor_accepted(self):
        data = self.with_doctype(f'<!DOCTYPE Document SYSTEM "{self.url}/camt.dtd">', text="t")
        self.assert_refused(data, "xml_entities")
        parameter = self.with_doctype(
            f'<!DOCTYPE Document [<!ENTITY % p SYSTEM "{self.url}/p.dtd"> %p;]>', text="&leak;"
        )
        self.assert_refused(parameter, "xml_entities")
        self.assertEqual(_RecordingHandler.requests, [])

    def test_doctype_in_a_utf16_file_is_refused(self):
        data = self.with_doctype('<!DOCTYPE Document [<!ENTITY x "y">]>')
        utf16 = data.decode("utf-8").replace("UTF-8", "UTF-16").encode("utf-16")
        self.assert_refused(utf16, "xml_entities")
        plain = document(entry()).decode("utf-8").replace("UTF-8", "UTF-16").encode("utf-16")
        self.assertEqual(camt.parse(plain).statements[0].account, IBAN)

    def test_the_xml_parser_itself_reads_no_file_and_no_url(self):
        # The second line of defence, behind the DOCTYPE refusal.
        secret = "finsync-secret-77a0"
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
            handle.write(secret)
        self.addCleanup(os.unlink, handle.name)
        for doctype in (
            f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{handle.name}">]>',
            f'<!DOCTYPE d [<!ENTITY x SYSTEM "{self.url}/x.txt">]>',
            f'<!DOCTYPE d SYSTEM "{self.url}/d.dtd" [<!ENTITY x "">]>',
        ):
            with self.subTest(doctype=doctype):
                source = io.BytesIO(f"{doctype}<d>&x;</d>".encode())
                tree = etree.parse(source, camt._secure_parser())
                self.assertEqual(etree.tostring(tree.getroot()), b"<d>&x;</d>")
        remote = f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{self.url}/p.dtd"> %p;]><d>&leak;</d>'
        with self.assertRaises(etree.XMLSyntaxError):  # &leak; stays undefined
            etree.parse(io.BytesIO(remote.encode()), camt._secure_parser())
        self.assertEqual(_RecordingHandler.requests, [])
        # The harness does see the fetch of a permissive parser.
        permissive = etree.XMLParser(load_dtd=True, no_network=False)
        etree.parse(io.BytesIO(remote.encode()), permissive)
        self.assertEqual(_RecordingHandler.requests, ["/p.dtd"])

    def test_zip_of_several_files(self):
        second = document(entry("7.00")).replace(b"<Id>ST-1</Id>", b"<Id>ST-2</Id>")
        data = make_zip([("day1.xml", document(entry())), ("dir/", b""), ("day2.xml", second)])
        result = camt.parse(data)
        self.assertEqual([s.statement_id for s in result.statements], ["ST-1", "ST-2"])
        self.assertEqual(result.statements[1].transactions[0].amount, D("7.00"))

    def test_zip_member_that_is_not_xml(self):
        data = make_zip([("a.xml", document(entry())), ("readme.pdf", b"%PDF-1.4")])
        self.assertEqual(self.assert_refused(data, "zip_member").value, "readme.pdf")
        nested = make_zip([("inner.zip", make_zip([("a.xml", document(entry()))]))])
        self.assert_refused(nested, "zip_member")

    def test_zip_path_traversal(self):
        for name in ("../evil.xml", "/etc/evil.xml", "a/../../evil.xml", "C:\\evil.xml"):
            with self.subTest(name=name):
                self.assert_refused(make_zip([(name, document(entry()))]), "zip_path")

    def test_zip_with_too_many_members(self):
        members = [(f"s{n}.xml", document(entry())) for n in range(101)]
        self.assert_refused(make_zip(members), "zip_members")

    def test_zip_bomb(self):
        bomb = make_zip([("bomb.xml", b"<" + b" " * (50 * 1024 * 1024))])
        self.assertLess(len(bomb), 200 * 1024)
        self.assert_refused(bomb, "zip_bomb")

    def test_corrupt_zip(self):
        self.assert_refused(b"PK\x03\x04" + b"\x00" * 40, "zip_corrupt")

    def test_error_inside_a_member_names_the_member(self):
        data = make_zip([("good.xml", document(entry())), ("bad.xml", document(entry("1,5")))])
        error = self.assert_refused(data, "amount")
        self.assertEqual(error.element, "bad.xml:Stmt[1]/Ntry[1]/Amt")
