import datetime
from decimal import Decimal

from odoo.tests import BaseCase, tagged

from ..parsers.base import (
    ParsedStatement,
    ParsedTransaction,
    ParseError,
    assign_unique_ids,
    lenient_date,
    parse_amount,
)


@tagged("post_install", "-at_install")
class TestParserBase(BaseCase):
    def test_amounts_in_every_locale(self):
        self.assertEqual(parse_amount("1.234,56", ",", "."), Decimal("1234.56"))
        self.assertEqual(parse_amount("-12,5", ","), Decimal("-12.5"))
        self.assertEqual(parse_amount("12.50-"), Decimal("-12.50"))
        self.assertEqual(parse_amount("(7.00)"), Decimal("-7.00"))
        with self.assertRaises(ParseError) as caught:
            parse_amount("12.50", ",", line=4)
        self.assertEqual((caught.exception.code, caught.exception.line), ("amount_locale", 4))
        with self.assertRaises(ParseError):
            parse_amount("abc")
        # With "." grouping thousands, "12.50" is a wrong-locale decimal, not 1250.
        with self.assertRaises(ParseError) as caught:
            parse_amount("12.50", ",", ".", line=9)
        self.assertEqual(caught.exception.code, "amount_locale")
        self.assertEqual(parse_amount("1.234.567,89", ",", "."), Decimal("1234567.89"))
        self.assertEqual(parse_amount("-1,234.50", ".", ","), Decimal("-1234.50"))

    def test_impossible_value_date_is_the_months_last_day(self):
        warnings = []
        self.assertEqual(lenient_date(2026, 2, 30, warnings, line=7), datetime.date(2026, 2, 28))
        self.assertEqual(warnings[0].line, 7)
        with self.assertRaises(ParseError):
            lenient_date(2026, 13, 1)

    def test_unique_ids_are_stable_and_distinct(self):
        def statement():
            return ParsedStatement(
                account="NL91ABNA0417164300",
                transactions=[
                    ParsedTransaction(amount=Decimal("5"), booking_date=datetime.date(2026, 1, 1)),
                    ParsedTransaction(amount=Decimal("5"), booking_date=datetime.date(2026, 1, 1)),
                    ParsedTransaction(amount=Decimal("7"), bank_reference="REF1"),
                ],
            )

        first = [tx.unique_id for tx in assign_unique_ids(statement()).transactions]
        second = [tx.unique_id for tx in assign_unique_ids(statement()).transactions]
        self.assertEqual(first, second)
        self.assertEqual(len(set(first)), 3)
        self.assertEqual(first[2], "NL91ABNA0417164300:REF1::7", "a reference id reads as such")

    def test_unique_ids_depend_on_the_line_only(self):
        """A reference repeated in one file (intraday, then end of day) changes no id."""

        def line(amount, reference="REF1", day=5):
            return ParsedTransaction(
                amount=Decimal(amount),
                booking_date=datetime.date(2026, 1, day),
                bank_reference=reference,
                remittance=f"paid {amount}",
            )

        def ids(*lines):
            statement = ParsedStatement(account="NL91ABNA0417164300", transactions=list(lines))
            return [tx.unique_id for tx in assign_unique_ids(statement).transactions]

        (alone,) = ids(line("12.50"))
        self.assertEqual(alone, "NL91ABNA0417164300:REF1:2026-01-05:12.5")
        repeated = ids(line("-3.00", "REF0"), line("12.50"), line("7"), line("12.5"))
        self.assertEqual(repeated[1], alone, "the same line, whatever else the file holds")
        self.assertEqual(repeated[3], alone + "#2", "truly identical lines are counted")
        self.assertEqual(repeated[2], "NL91ABNA0417164300:REF1:2026-01-05:7")
        self.assertNotEqual(ids(line("12.50", day=6))[0], alone, "another day, another line")
        self.assertEqual(len(set(repeated)), 4)
