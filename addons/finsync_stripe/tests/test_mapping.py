import json
from decimal import Decimal

from odoo.tests import BaseCase, tagged

from odoo.addons.finsync_bank.tests.corpus import corpus_file

from ..adapters.stripe_mapper import (
    StripeMappingError,
    map_balance_transaction,
    map_event,
    to_amount,
)
from .common import StripeCommon


def _corpus(name):
    return json.loads(corpus_file(f"stripe/{name}"))


def _event(event_type, obj, event_id="evt_1"):
    return {"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}}


@tagged("post_install", "-at_install")
class TestStripeMapperCorpus(BaseCase):
    """The EXPECTED values of ../shared/corpus/MANIFEST.md, stripe section."""

    def test_balance_transaction_fixture(self):
        vals = map_balance_transaction(_corpus("stripe-openapi__balance_transaction.json"))
        self.assertEqual(vals["external_id"], "ch_1PgafuB7WZ01zgkWXYmPNZs8", "keyed by its source")
        self.assertEqual(vals["kind"], "charge")
        self.assertEqual((vals["amount"], vals["fee"]), (Decimal("1.00"), Decimal("0.00")))
        self.assertEqual(vals["currency"], "USD")
        self.assertEqual(vals["stripe"]["balance_transaction"], "txn_1PgaxNB7WZ01zgkWEV3TLf40")
        self.assertEqual(str(vals["booking_date"]), "2009-02-13")  # created 1234567890

    def test_charge_fixture(self):
        [vals] = map_event(_event("charge.succeeded", _corpus("stripe-openapi__charge.json")))
        self.assertEqual(vals["external_id"], "ch_1PgafuB7WZ01zgkWXYmPNZs8")
        self.assertEqual(vals["amount"], Decimal("1.00"))
        self.assertEqual(vals["state"], "acknowledged", "succeeded but not captured")
        self.assertFalse(vals["stripe"]["fee_known"], "the fee comes with the balance transaction")
        self.assertEqual(vals["stripe"]["balance_transaction"], "txn_1PgaxNB7WZ01zgkWEV3TLf40")
        self.assertEqual(vals["counterparty_name"], "Jenny Rosen")

    def test_payout_fixture(self):
        [vals] = map_event(_event("payout.created", _corpus("stripe-openapi__payout.json")))
        self.assertEqual(vals["external_id"], "po_1Pgc79B7WZ01zgkWu1KToYf4")
        self.assertEqual((vals["kind"], vals["amount"]), ("payout", Decimal("-11.00")))
        self.assertEqual(vals["stripe"]["payout_status"], "in_transit")
        self.assertEqual(vals["state"], "acknowledged")

    def test_event_fixture_books_nothing(self):
        self.assertEqual(map_event(_corpus("stripe-openapi__event.json")), [], "plan.created")
        self.assertEqual(
            map_event(json.loads(corpus_file("stripe/stripe-python__webhook_payload.json"))), []
        )

    def test_balance_fixture_and_application_fee_amounts(self):
        balance = _corpus("stripe-openapi__balance.json")
        self.assertEqual(to_amount(balance["available"][0]["amount"], "usd", "available"), 0)
        fee = _corpus("stripe-openapi__application_fee.json")
        self.assertEqual(to_amount(fee["amount"], fee["currency"], "fee"), Decimal("1.00"))

    def test_oca_list_maps_gross_fee_and_invoice(self):
        page = _corpus("oca18__stripe_balance_transactions_list.json")
        first, second = (map_balance_transaction(bt) for bt in page["data"])
        self.assertEqual(
            (first["external_id"], first["amount"], first["fee"]),
            ("ch_123", Decimal("100.00"), Decimal("1.00")),
        )
        self.assertEqual(first["remittance"], "INV-001")
        self.assertEqual(first["bank_reference"], "stripe INV-001 charge ch_123 card")
        self.assertEqual(
            (second["amount"], second["fee"], second["remittance"]),
            (Decimal("200.00"), Decimal("2.00"), "INV-002"),
        )


@tagged("post_install", "-at_install")
class TestStripeMapperRules(BaseCase):
    def test_minor_units_per_currency(self):
        self.assertEqual(to_amount(1234, "usd", "a"), Decimal("12.34"))
        self.assertEqual(to_amount(1234, "JPY", "a"), Decimal("1234"))
        self.assertEqual(to_amount(1230, "kwd", "a"), Decimal("1.230"))
        with self.assertRaises(StripeMappingError):
            to_amount(12.5, "usd", "a")

    def test_net_must_be_amount_less_fee(self):
        bt = {
            "id": "txn_1",
            "amount": 1000,
            "fee": 59,
            "net": 900,
            "currency": "usd",
            "created": 1,
            "type": "charge",
        }
        with self.assertRaises(StripeMappingError):
            map_balance_transaction(bt)

    def test_kinds_of_balance_transactions(self):
        def kind(**kw):
            bt = {"id": "txn_9", "currency": "usd", "created": 1, "fee": 0, **kw}
            vals = map_balance_transaction(bt)
            return vals["kind"], vals["external_id"], vals["stripe"]["reverses"]

        self.assertEqual(
            kind(
                amount=-500,
                type="refund",
                source={"id": "re_1", "object": "refund", "charge": "ch_1"},
            ),
            ("refund", "re_1", "ch_1"),
        )
        self.assertEqual(
            kind(amount=-500, type="adjustment", reporting_category="dispute", source="dp_1"),
            ("dispute", "dp_1", None),
        )
        self.assertEqual(
            kind(
                amount=500, type="adjustment", reporting_category="dispute_reversal", source="dp_1"
            ),
            ("dispute", "dp_1:won", "dp_1"),
        )
        self.assertEqual(kind(amount=-900, type="payout", source="po_1"), ("payout", "po_1", None))
        self.assertEqual(
            kind(amount=900, type="payout_failure", source="po_1"),
            ("payout", "po_1:failed", "po_1"),
        )
        self.assertEqual(kind(amount=-200, type="stripe_fee"), ("fee", "txn_9", None))


@tagged("post_install", "-at_install")
class TestStripeCorpusIntoTheLedger(StripeCommon):
    def test_oca_list_books_gross_and_fee_lines(self):
        """OCA's expected statement lines: 100.0 and -1.0, 200.0 and -2.0 (in USD)."""
        usd = self.env.ref("base.USD")
        page = _corpus("oca18__stripe_balance_transactions_list.json")
        event = self.deliver(page, event_type="balance_transactions")
        self.assertEqual(event.state, "done", event.last_error)
        total, lines = self.journal_total(usd)
        self.assertEqual(sorted(lines.mapped("amount")), [-2.0, -1.0, 100.0, 200.0])
        self.assertEqual(usd.compare_amounts(total, 297.0), 0)
        charge = self.transactions(external_id="ch_123")
        self.assertEqual(charge.statement_line_id.payment_ref, "INV-001")
        self.assertEqual(charge.gateway_fee_line_id.amount, -1.0)
        self.assertEqual(charge.net_amount, 99.0)
        self.assert_balanced(lines.move_id)
        self.deliver(dict(page, again=True), event_type="balance_transactions")
        self.assertEqual(self.journal_total(usd)[1], lines, "a second pull books nothing again")
