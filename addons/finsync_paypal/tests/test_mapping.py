import json
from decimal import Decimal
from pathlib import Path

from odoo.tests import BaseCase, tagged

from odoo.addons.finsync_bank.tests.corpus import corpus_file

from ..adapters.paypal_mapper import (
    PayPalMappingError,
    category_of,
    map_page,
    map_transaction,
    map_webhook_event,
)

DATA = Path(__file__).parent / "data"


def _data(name):
    return json.loads((DATA / name).read_text())


@tagged("post_install", "-at_install")
class TestPayPalMapperCorpus(BaseCase):
    """The EXPECTED values of ../shared/corpus/MANIFEST.md, paypal REST section."""

    def test_transaction_search_sample(self):
        page = json.loads(corpus_file("paypal/srmk__paypal_list_transactions.json"))
        [vals] = map_page(page)
        self.assertEqual(vals["external_id"], "5TY05013RG002845M")
        self.assertEqual(vals["paypal"]["event_code"], "T0006")
        self.assertEqual((vals["kind"], vals["paypal"]["category"]), ("charge", "payment"))
        self.assertEqual(str(vals["booking_date"]), "2014-07-11")
        self.assertEqual((vals["amount"], vals["currency"]), (Decimal("465.00"), "USD"))
        self.assertEqual(vals["fee"], Decimal("13.79"), "fee_amount -13.79 is a cost of 13.79")
        self.assertEqual(vals["amount"] - vals["fee"], Decimal("451.21"))
        self.assertEqual(vals["state"], "settled", "status S")
        self.assertEqual(vals["paypal"]["invoice_id"], "Invoice-005")
        self.assertTrue(vals["remittance"].startswith("Invoice-005"))
        self.assertEqual(vals["counterparty_account"], "6STWC2LSUYYYE")
        self.assertEqual(vals["counterparty_name"], "test consumer")

    def test_authorization_webhook_moves_no_money(self):
        event = json.loads(corpus_file("paypal/srmk__paypal_webhook_event.json"))
        self.assertEqual(event["id"], "8PT597110X687430LKGECATA")
        self.assertEqual(map_webhook_event(event), [], "PAYMENT.AUTHORIZATION.CREATED")
        listing = json.loads(corpus_file("paypal/srmk__paypal_webhook_events_list.json"))
        for event in listing["events"]:
            self.assertEqual(map_webhook_event(event), [], event["event_type"])


@tagged("post_install", "-at_install")
class TestPayPalMapper(BaseCase):
    """Our own fixtures: every T-code family FinSync books."""

    def test_tcodes_map_to_categories_kinds_and_links(self):
        rows = {v["external_id"]: v for v in map_page(_data("search_page_tcodes.json"))}
        expected = {
            "FS0006PAYMENT001": ("charge", "payment", "250.00", "9.22", None),
            "FS1107REFUND0001": ("refund", "refund", "-50.00", "-1.75", "FS0006PAYMENT001"),
            "FS1201CHARGEBACK": ("dispute", "chargeback", "-200.00", "0", "FS0006PAYMENT001"),
            "FS1106REVERSAL01": ("dispute", "chargeback", "-10.00", "0", "FS0006PAYMENT001"),
            "FS0400WITHDRAW01": ("payout", "withdrawal", "-1000.00", "0", None),
            "FS1503HOLD000001": ("adjustment", "hold", "-40.00", "0", None),
            "FS1501RELEASE001": ("adjustment", "release", "40.00", "0", "FS1503HOLD000001"),
            "FS0200CONVERTEUR": ("adjustment", "conversion", "-100.00", "0", None),
            "FS0200CONVERTUSD": ("adjustment", "conversion", "108.31", "0", None),
            "FS0100FEE0000001": ("fee", "fee", "-2.50", "0", None),
        }
        for tx_id, (kind, category, amount, fee, reverses) in expected.items():
            with self.subTest(tx_id):
                vals = rows[tx_id]
                self.assertEqual(vals["kind"], kind)
                self.assertEqual(vals["paypal"]["category"], category)
                self.assertEqual(vals["amount"], Decimal(amount))
                self.assertEqual(vals["fee"], Decimal(fee))
                self.assertEqual(vals["paypal"]["reverses"], reverses)
        self.assertEqual(rows["FS0200CONVERTUSD"]["paypal"]["reference"], "FS0200CONVERTEUR")
        self.assertEqual(rows["FS0400WITHDRAW01"]["state"], "acknowledged", "pending payout")
        self.assertEqual(rows["FS0400WITHDRAW01"]["paypal"]["bank_reference_id"], "BANKREF0001")
        self.assertEqual(
            str(rows["FS0006PAYMENT001"]["booking_date"]), "2026-03-02", "PayPal's local date"
        )
        self.assertEqual(rows["FS0006PAYMENT001"]["counterparty_name"], "Ada Lovelace")

    def test_capture_and_refund_webhooks_meet_the_pulled_transactions(self):
        pulled = {v["external_id"]: v for v in map_page(_data("search_page_tcodes.json"))}
        [capture] = map_webhook_event(_data("webhook_capture_completed.json"))
        [refund] = map_webhook_event(_data("webhook_capture_refunded.json"))
        for told in (capture, refund):
            same = pulled[told["external_id"]]
            for key in ("kind", "amount", "fee", "currency", "state"):
                self.assertEqual(told[key], same[key], f"{told['external_id']} {key}")
        self.assertEqual(refund["paypal"]["reverses"], "FS0006PAYMENT001", "from the 'up' link")
        self.assertEqual(capture["paypal"]["invoice_id"], "INV/2026/00042")

    def test_sign_decides_payments_and_holds(self):
        self.assertEqual(category_of("T0006", Decimal("-5")), "payment_sent")
        self.assertEqual(category_of("T1503", Decimal("5")), "release")
        self.assertEqual(category_of("T0400", Decimal("5")), "withdrawal")
        self.assertEqual(category_of("T9999", Decimal("1")), "other")

    def test_returned_payout_reverses_the_payout(self):
        detail = {
            "transaction_info": {
                "transaction_id": "FS0400BACK",
                "paypal_reference_id": "FS0400WITHDRAW01",
                "transaction_event_code": "T0400",
                "transaction_initiation_date": "2026-03-09T00:00:00Z",
                "transaction_amount": {"currency_code": "EUR", "value": "1000.00"},
            }
        }
        self.assertEqual(map_transaction(detail)["paypal"]["reverses"], "FS0400WITHDRAW01")

    def test_errors_say_where(self):
        page = _data("search_page_tcodes.json")
        page["transaction_details"][3]["transaction_info"]["transaction_amount"]["value"] = 1.5
        with self.assertRaises(PayPalMappingError) as caught:
            map_page(page)
        self.assertIn(
            "transaction_details[3].transaction_info.transaction_amount", str(caught.exception)
        )
        page = _data("search_page_tcodes.json")
        page["transaction_details"][0]["transaction_info"]["fee_amount"]["currency_code"] = "USD"
        with self.assertRaisesRegex(PayPalMappingError, "fee in USD, amount in EUR"):
            map_page(page)
        with self.assertRaisesRegex(PayPalMappingError, "not a PayPal webhook event"):
            map_webhook_event({"id": "x"})
