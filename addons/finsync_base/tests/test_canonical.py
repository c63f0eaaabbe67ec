import datetime
import json
from decimal import Decimal

from odoo.tests import BaseCase, tagged

from ..tools.canonical import CanonicalPayloadError, parse_canonical


@tagged("post_install", "-at_install")
class TestCanonicalParser(BaseCase):
    def test_parses_amounts_exactly_and_defaults(self):
        rows = parse_canonical(
            b'{"transactions": [{"external_id": " T-1 ", "amount": "0.10", "fee": 0,'
            b' "currency": "eur", "booking_date": "2026-03-31T10:00:00Z"},'
            b' {"external_id": "T-2", "amount": "-20", "currency": "USD",'
            b' "booking_date": "2026-04-01", "state": "initiated", "kind": "payout"}]}'
        )
        self.assertEqual(rows[0]["external_id"], "T-1")
        self.assertEqual(rows[0]["amount"], Decimal("0.10"))
        self.assertEqual(rows[0]["currency"], "EUR")
        self.assertEqual(rows[0]["booking_date"], datetime.date(2026, 3, 31))
        self.assertEqual(rows[0]["kind"], "bank_credit")
        self.assertEqual(rows[0]["state"], "settled")
        self.assertEqual(rows[1]["kind"], "payout")
        self.assertEqual(rows[1]["state"], "initiated")
        self.assertIsNone(rows[1]["value_date"])

    def assertPayloadError(self, raw, code, path):
        with self.assertRaises(CanonicalPayloadError) as caught:
            parse_canonical(raw)
        self.assertEqual((caught.exception.code, caught.exception.path), (code, path))

    def test_errors_say_what_and_where(self):
        def doc(*items):
            base = {"currency": "EUR", "booking_date": "2026-01-01", "amount": "1"}
            return json.dumps({"transactions": [{**base, **item} for item in items]})

        self.assertPayloadError("{not json", "not_json", "line 1, column 2")
        self.assertPayloadError(b"\xff\xfe", "not_utf8", "byte 0")
        self.assertPayloadError("{}", "missing", "transactions")
        self.assertPayloadError(
            doc({"external_id": "A"}, {"external_id": "B", "amount": "12,50"}),
            "invalid_amount",
            "transactions[1].amount",
        )
        self.assertPayloadError(
            doc({"external_id": "A", "amount": 1.1}), "invalid_amount", "transactions[0].amount"
        )
        self.assertPayloadError(
            doc({"external_id": "A", "booking_date": "2026-02-30"}),
            "invalid_date",
            "transactions[0].booking_date",
        )
        self.assertPayloadError(
            doc({"external_id": "A", "state": "paid"}), "invalid_choice", "transactions[0].state"
        )
        self.assertPayloadError(doc({}), "missing", "transactions[0].external_id")
        self.assertPayloadError(
            doc({"external_id": "A"}, {"external_id": "A"}),
            "duplicate_id",
            "transactions[1].external_id",
        )
        self.assertPayloadError(
            doc({"external_id": "A", "amount": "NaN"}), "invalid_amount", "transactions[0].amount"
        )
        self.assertPayloadError(
            doc({"external_id": "A", "currency": "EURO"}),
            "invalid_currency",
            "transactions[0].currency",
        )
