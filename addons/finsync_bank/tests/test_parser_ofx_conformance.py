"""Conformance of the OFX reader with ofxparse's own test suite.

FinSync's design names ``ofxparse`` as the reference OFX reader: every bank and
credit-card statement fixture of its test suite must read here with the values
its tests (``tests/test_parse.py``) assert, and its investment statements and
sign-on-only files must be refused with the usual clear error.

The fixtures are ofxparse's, under its license: they stay out of this
repository. The test reads them from the pinned sdist that ``setup/common.sh``
(``ensure_test_fixtures``) downloads into ``$FINSYNC_HOME/fixtures``, or from
the path in ``FINSYNC_OFXPARSE_SDIST``, and skips, saying why, without it.

Values are those ``setup/parse`` prints for the file (``result_to_json``);
facts that it does not print (routing number, branch, account type, available
balance) are checked in the statement's ``extra``. Where FinSync deliberately
differs from ofxparse, the expectation says so and why.
"""

import datetime
import functools
import hashlib
import os
import tarfile
import unittest
from decimal import Decimal
from pathlib import Path

from odoo.tests import BaseCase, tagged

from ..parsers import ofx
from ..parsers.base import ParseError, result_to_json

SDIST_NAME = "ofxparse-0.21.tar.gz"
# sha256 of the sdist on PyPI: a different file is not the suite these expectations encode.
SDIST_SHA256 = "057ab68d31270dece4d1a47662096aa76341968aaee145ffc711cb44cbd5c4a7"
FIXTURES_DIR = "ofxparse-0.21/tests/fixtures/"


def sdist_path():
    default = Path(os.environ.get("FINSYNC_HOME", "/var/lib/finsync")) / "fixtures" / SDIST_NAME
    return Path(os.environ.get("FINSYNC_OFXPARSE_SDIST") or default)


@functools.cache
def _read_fixtures(path):
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != SDIST_SHA256:
        return None
    with tarfile.open(path, mode="r:gz") as sdist:
        return {
            member.name.removeprefix(FIXTURES_DIR): sdist.extractfile(member).read()
            for member in sdist.getmembers()
            if member.isfile()
            and member.name.startswith(FIXTURES_DIR)
            and member.name.endswith(".ofx")
        }


def ofxparse_fixtures():
    """``{"bank_medium.ofx": bytes, "fail_nice/date_missing.ofx": bytes, ...}``, or skip."""
    path = sdist_path()
    if not path.is_file():
        raise unittest.SkipTest(
            f"ofxparse's sdist not found at {path} (setup/common.sh downloads it from PyPI;"
            " set FINSYNC_OFXPARSE_SDIST to use another copy): OFX conformance skipped"
        )
    fixtures = _read_fixtures(path)
    if fixtures is None:
        raise unittest.SkipTest(
            f"{path} is not the pinned {SDIST_NAME} (sha256 differs): OFX conformance skipped"
        )
    return fixtures


MAY_23 = datetime.date(2009, 5, 23)

# Fixture -> the statements FinSync reads from it, in file order. Each statement:
# keys of the setup/parse output, "extra" (ParsedStatement.extra), "transaction_count",
# "transactions" ({index: keys of the transaction's output}) and "warnings" (codes).
READ = {
    # TestParse.testEverything. Dates: ofxparse returns datetimes converted to UTC;
    # FinSync keeps the calendar date the bank wrote (its own time zone), as everywhere.
    # Transaction type: ofxparse lowercases TRNTYPE ('pos'); FinSync keeps the OFX code.
    "bank_medium.ofx": [
        {
            "account": "12300 000012345678",
            "closing_balance": "382.34",
            "closing_date": "2009-05-23",
            "opening_date": "2009-04-01",
            "extra": {
                "bank_id": "160000100",
                "branch_id": "00",
                "account_type": "CHECKING",
                "available_balance": Decimal("682.34"),
                "available_balance_date": MAY_23,
                "period_end": MAY_23,
            },
            "transaction_count": 3,
            "transactions": {
                0: {
                    "counterparty_name": "MCDONALD'S #112",
                    "bank_transaction_code": "POS",
                    "amount": "-6.60",
                }
            },
            "warnings": [],
        }
    ],
    # TestParse.testMultipleAccounts.
    "multiple_accounts2.ofx": [
        {"account": "9100", "extra": {"bank_id": "123", "account_type": "CHECKING"}},
        {"account": "9200", "extra": {"bank_id": "123", "account_type": "SAVINGS"}},
    ],
    # Not parsed by ofxparse's tests (the same accounts as multiple_accounts2.ofx,
    # other layout): read, with the values the file holds.
    "multiple_accounts.ofx": [
        {"account": "9100", "currency": "USD", "closing_balance": "111"},
        {"account": "9200", "currency": "USD", "closing_balance": "222"},
    ],
    # TestOfxFile.testTextStartsWithTag (a file without OFX header).
    "anzcc.ofx": [{"account": "1234123412341234", "currency": "AUD"}],
    # Only written back by ofxparse's test_write.py: read, with the values the file holds.
    "checking.ofx": [
        {
            "account": "1452687~7",
            "currency": "USD",
            "closing_balance": "100.99",
            "closing_date": "2013-05-25",
            "transaction_count": 3,
        }
    ],
    # TestEmptyTagsOFXv102. ofxparse gives '' for the empty BRANCHID and ACCTTYPE;
    # FinSync has no value there (the keys are absent), as for any empty element.
    # Both say that the currency is missing (ofxparse's warning, FinSync's currency_missing).
    "ofx-v102-empty-tags.ofx": [
        {
            "account": "12345678",
            "currency": None,
            "extra": {"bank_id": "NPBS", "branch_id": None, "account_type": None},
            "warnings": ["currency_missing", "balance_missing"],
        }
    ],
    # TestSuncorpBankStatement.testCDATATransactions: OFX 2 XML, us-ascii, CRLF, CDATA values.
    "suncorp.ofx": [
        {
            "account": "123456789",
            "transaction_count": 1,
            "transactions": {
                0: {
                    "counterparty_name": "EFTPOS WDL HANDYWAY ALDI STORE",
                    "remittance": "EFTPOS WDL HANDYWAY ALDI STORE   GEELONG WEST VICAU",
                    "amount": "-16.85",
                }
            },
        }
    ],
    # TestAccountInfoAggregation.testForFourAccounts: an account list, one empty statement
    # per account. ofxparse gives account_type '' for the credit card, which has none.
    "account_listing_aggregation.ofx": [
        {
            "account": account,
            "transaction_count": 0,
            "extra": {
                "account_type": account_type,
                "description": description,
                "fi_org": "USAA",
                "bank_id": bank_id,
            },
            "warnings": ["account_listing"],
        }
        for account, account_type, description, bank_id in (
            ("0000000001", "SAVINGS", "USAA SAVINGS", "314074269"),
            ("0000000002", "CHECKING", "FOUR STAR CHECKING", "314074269"),
            ("00000000000003", "CREDITLINE", "LINE OF CREDIT", "314074269"),
            ("4111111111111111", None, "MY CREDIT CARD", None),
        )
    ],
    # TestGracefulFailures.testEmptyBalance: ofxparse raises in its default (strict)
    # mode. FinSync deliberately reads the sound transactions and warns that there is no
    # closing balance (balance_missing): the import then has no balance to check, and says so.
    "fail_nice/empty_balance.ofx": [
        {
            "account": "192639749",
            "closing_balance": None,
            "transaction_count": 1,
            "warnings": ["balance_missing"],
        }
    ],
}

_INVESTMENT = ("no_statement", "investment statement (INVSTMTRS)")
# Fixture -> (ParseError code, words of its message).
REFUSED = {
    # ofxparse reads investment statements; FinSync reads bank and credit-card ones only.
    "fidelity.ofx": _INVESTMENT,
    "investment_401k.ofx": _INVESTMENT,
    "investment_medium.ofx": _INVESTMENT,
    "td_ameritrade.ofx": _INVESTMENT,
    "tiaacref.ofx": _INVESTMENT,
    "vanguard.ofx": _INVESTMENT,
    "vanguard401k.ofx": _INVESTMENT,
    # TestFidelitySavingsStatement reads the cash movements (INVBANKTRAN) of an
    # investment account; they are not a bank statement, so FinSync refuses it too.
    "fidelity-savings.ofx": _INVESTMENT,
    # TestParseSonrs: ofxparse returns the sign-on answer; FinSync has nothing to import.
    "signon_success.ofx": ("no_statement", "only the bank's sign-on answer"),
    "signon_success_no_message.ofx": ("no_statement", "only the bank's sign-on answer"),
    # TestParseSonrs.testFailure: FinSync refuses, with the bank's code and message.
    "signon_fail.ofx": ("server_error", "status 15500: Your request could not be processed"),
    # TestGracefulFailures.testErrorInTransactionList: ofxparse (not strict) returns the
    # status; FinSync refuses a statement answer that the bank marks as an error.
    "error_message.ofx": ("server_error", "status 2000: General Server Error"),
    # An empty <OFX></OFX> (not parsed by ofxparse's tests).
    "bank_small.ofx": ("no_statement", "no bank or credit-card statement"),
    # TestGracefulFailures: ofxparse raises in strict mode too; FinSync names the line.
    "fail_nice/date_missing.ofx": ("date_missing", "without posting date"),
    "fail_nice/decimal_error.ofx": ("amount", "'$120' is not an amount"),
}


@tagged("post_install", "-at_install")
class TestOfxparseConformance(BaseCase):
    """Every fixture of ofxparse 0.21's suite, read or refused as its tests expect."""

    def test_every_fixture_has_an_expectation(self):
        self.assertEqual(sorted(ofxparse_fixtures()), sorted(READ | REFUSED))

    def test_bank_and_credit_card_statements_read_with_ofxparses_values(self):
        fixtures = ofxparse_fixtures()
        for name, expected_statements in READ.items():
            with self.subTest(fixture=name):
                data = fixtures[name]
                self.assertTrue(ofx.sniff(data))
                result = ofx.parse(data, filename=name)
                document = result_to_json(result, name)
                self.assertEqual(len(document["statements"]), len(expected_statements))
                for statement, output, expected in zip(
                    result.statements, document["statements"], expected_statements, strict=True
                ):
                    self.assertStatement(statement, output, expected)

    def assertStatement(self, statement, output, expected):
        expected = dict(expected)
        extra = expected.pop("extra", {})
        count = expected.pop("transaction_count", None)
        transactions = expected.pop("transactions", {})
        warnings = expected.pop("warnings", None)
        self.assertEqual({key: output[key] for key in expected}, expected)
        self.assertEqual({key: statement.extra.get(key) for key in extra}, extra)
        if count is not None:
            self.assertEqual(len(output["transactions"]), count)
        for index, values in transactions.items():
            tx = output["transactions"][index]
            self.assertEqual({key: tx[key] for key in values}, values)
        if warnings is not None:
            self.assertEqual([warning["code"] for warning in output["warnings"]], warnings)

    def test_investment_sign_on_and_broken_files_refused_with_a_clear_error(self):
        fixtures = ofxparse_fixtures()
        for name, (code, words) in REFUSED.items():
            with self.subTest(fixture=name):
                with self.assertRaises(ParseError) as caught:
                    ofx.parse(fixtures[name], filename=name)
                self.assertEqual(caught.exception.code, code, caught.exception.message)
                self.assertIn(words, caught.exception.message)
                # Every refusal says where: the line of the element at fault.
                self.assertIsNotNone(caught.exception.line)
