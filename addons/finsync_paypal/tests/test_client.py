import datetime
import itertools
import json
import logging
from unittest.mock import Mock

import requests

from odoo.tests import BaseCase, tagged

from odoo.addons.finsync_testing.tools.paypal_simulator import PayPalSimulator

from ..adapters.paypal_api import (
    MAX_WINDOW,
    PayPalApiError,
    PayPalClient,
    PayPalTransientError,
    TokenCache,
    TransmissionRefused,
    check_transmission,
    windows,
)

UTC = datetime.UTC
CLIENT_ID = "finsync-test-client"
CLIENT_SECRET = "finsync-test-secret-value"


@tagged("post_install", "-at_install")
class TestPayPalClient(BaseCase):
    def setUp(self):
        super().setUp()
        self.sim = PayPalSimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
        self.addCleanup(self.sim.stop)
        self.sleeps = []
        self.tokens = TokenCache()
        self.client = self._client()

    def _client(self, **kwargs):
        kwargs.setdefault("sleep", self.sleeps.append)
        kwargs.setdefault("tokens", self.tokens)
        kwargs.setdefault("page_size", 20)
        return PayPalClient(CLIENT_ID, CLIENT_SECRET, self.sim.url, **kwargs)

    def _searches(self):
        return [q for m, p, q in self.sim.requests if p == "/v1/reporting/transactions"]

    def test_pages_in_order_none_missed(self):
        for index in range(45):
            self.sim.add_payment(f"{10 + index}.00", "USD")
        start = datetime.datetime(2026, 1, 1, tzinfo=UTC)
        pages = list(self.client.transaction_pages(start, start + datetime.timedelta(days=20)))
        self.assertEqual([len(p["transaction_details"]) for _s, _e, p in pages], [20, 20, 5])
        ids = [
            d["transaction_info"]["transaction_id"]
            for _s, _e, p in pages
            for d in p["transaction_details"]
        ]
        self.assertEqual(len(set(ids)), 45)
        self.assertEqual([q["page"] for q in self._searches()], [["1"], ["2"], ["3"]])
        self.assertEqual(self._searches()[0]["fields"], ["all"])
        self.assertEqual(self._searches()[0]["start_date"], ["2026-01-01T00:00:00Z"])

    def test_long_ranges_are_read_in_windows_of_31_days(self):
        start = datetime.datetime(2025, 10, 1, tzinfo=UTC)
        end = datetime.datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)
        self.sim.add_payment(
            "5.00", "USD", when=datetime.datetime(2025, 11, 1, 0, 0, 1, tzinfo=UTC)
        )
        self.sim.add_payment("6.00", "USD", when=datetime.datetime(2026, 1, 30, tzinfo=UTC))
        pages = list(self.client.transaction_pages(start, end))
        spans = [(s, e) for s, e, _p in pages]
        self.assertEqual(len(spans), 4, "123 days in four windows")
        self.assertTrue(all(e - s <= MAX_WINDOW for s, e in spans))
        self.assertEqual((spans[0][0], spans[-1][1]), (start, end), "the whole range")
        for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
            self.assertEqual(s2 - e1, datetime.timedelta(seconds=1), "no gap, no overlap")
        found = [d for _s, _e, p in pages for d in p["transaction_details"]]
        self.assertEqual(len(found), 2)
        # The simulator refuses what PayPal refuses: the client never asks it.
        with self.assertRaisesRegex(PayPalApiError, "INVALID_REQUEST") as caught:
            self.client._call(
                "GET",
                "/v1/reporting/transactions",
                params={"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-02-05T00:00:00Z"},
            )
        self.assertIn("GET /v1/reporting/transactions: HTTP 400", str(caught.exception))
        self.assertEqual(windows(end, start), [])

    def test_token_is_cached_and_renewed_when_it_expires(self):
        start = datetime.datetime(2026, 1, 1, tzinfo=UTC)
        list(self.client.transaction_pages(start, start))
        list(self._client().transaction_pages(start, start))
        tokens = [p for m, p, q in self.sim.requests if p == "/v1/oauth2/token"]
        self.assertEqual(len(tokens), 1, "one token for both clients of this process")
        self.sim.expire_tokens()
        list(self.client.transaction_pages(start, start))
        tokens = [p for m, p, q in self.sim.requests if p == "/v1/oauth2/token"]
        self.assertEqual(len(tokens), 2, "a 401 fetches one new token")
        self.assertEqual(self.sim.requests[-1][1], "/v1/reporting/transactions", "then retries")

    def test_short_lived_tokens_are_renewed_before_use(self):
        clock = [1000.0]
        tokens = TokenCache(clock=lambda: clock[0])
        client = self._client(tokens=tokens)
        self.sim.token_ttl = 300
        client.balances()
        clock[0] += 250  # within the renewal margin of the expiry
        client.balances()
        self.assertEqual(len([p for m, p, q in self.sim.requests if p == "/v1/oauth2/token"]), 2)

    def test_throttling_waits_as_the_server_says(self):
        self.sim.add_payment("10.00", "USD")
        self.sim.throttle_next(2, retry_after=7, path_part="/reporting")
        balances = self.client.balances()
        self.assertEqual(balances["balances"][0]["total_balance"]["value"], "9.16")
        self.assertEqual(self.sleeps, [7.0, 7.0])

    def test_outages_back_off_then_become_transient(self):
        self.sim.fail_next(1, status=503, path_part="/reporting")
        self.client.balances()
        self.assertEqual(self.sleeps, [1])
        self.sim.fail_next(10, status=500, path_part="/reporting")
        with self.assertRaises(PayPalTransientError) as caught:
            self.client.balances()
        self.assertEqual(caught.exception.status, 500)
        self.assertIn("GET /v1/reporting/balances: HTTP 500", str(caught.exception))
        self.assertEqual(self.sleeps, [1, 1, 2, 4], "three retries, backing off")

    def test_wrong_credentials_are_refused_without_showing_them(self):
        client = PayPalClient(
            CLIENT_ID, "not-the-secret", self.sim.url, tokens=self.tokens, sleep=self.sleeps.append
        )
        with self.assertLogs("odoo.addons.finsync_paypal", level="DEBUG") as logs:
            logging.getLogger("odoo.addons.finsync_paypal").debug("marker")
            with self.assertRaises(PayPalApiError) as caught:
                client.balances()
        self.assertNotIsInstance(caught.exception, PayPalTransientError)
        self.assertEqual((caught.exception.status, caught.exception.name), (401, "invalid_client"))
        self.assertEqual(str(caught.exception), "POST /v1/oauth2/token: HTTP 401 (invalid_client)")
        self.assertNotIn("not-the-secret", "\n".join(logs.output))
        self.assertEqual(self.sleeps, [])

    def test_timeouts_are_transient(self):
        session = Mock()
        session.request.side_effect = requests.Timeout("read timed out")
        client = self._client(session=session)
        with self.assertRaises(PayPalTransientError) as caught:
            client.balances()
        self.assertEqual(session.request.call_count, 4)
        self.assertEqual(str(caught.exception), "POST /v1/oauth2/token: Timeout")
        self.assertEqual(session.request.call_args.kwargs["timeout"], 30)

    def test_webhook_verification_asks_paypal_with_the_body_as_received(self):
        payment = self.sim.add_payment("42.00", "USD", invoice="WEB-1")
        # Spacing json.dumps would not reproduce: re-serialising would break the check.
        body = json.dumps(self.sim.capture_event(payment), indent=1).encode()
        headers = self.sim.sign(body)
        self.assertTrue(self.client.verify_webhook_signature(headers, self.sim.webhook_id, body))
        lowered = {k.lower(): v for k, v in headers.items()}
        self.assertTrue(self.client.verify_webhook_signature(lowered, self.sim.webhook_id, body))
        self.assertFalse(
            self.client.verify_webhook_signature(
                headers, self.sim.webhook_id, body.replace(b"42", b"24")
            )
        )
        self.assertFalse(self.client.verify_webhook_signature(headers, "WH-OTHER", body))
        forged = dict(headers, **{"PAYPAL-TRANSMISSION-SIG": "Zm9yZ2Vk"})
        self.assertFalse(self.client.verify_webhook_signature(forged, self.sim.webhook_id, body))

    def test_webhook_verification_fails_closed_without_asking(self):
        body = json.dumps({"id": "WH-1", "event_type": "X", "resource": {}}).encode()
        headers = self.sim.sign(body)
        sent = len(self.sim.requests)
        self.assertFalse(self.client.verify_webhook_signature(headers, "", body), "no webhook id")
        self.assertFalse(self.client.verify_webhook_signature(headers, None, body))
        incomplete = {k: v for k, v in headers.items() if k != "PAYPAL-TRANSMISSION-SIG"}
        self.assertFalse(
            self.client.verify_webhook_signature(incomplete, self.sim.webhook_id, body)
        )
        self.assertFalse(self.client.verify_webhook_signature(headers, self.sim.webhook_id, b"[1]"))
        self.assertEqual(len(self.sim.requests), sent, "PayPal was not asked")

    def test_no_credentials_is_refused_at_once(self):
        with self.assertRaisesRegex(PayPalApiError, "no client id or client secret"):
            PayPalClient(CLIENT_ID, "", self.sim.url)


@tagged("post_install", "-at_install")
class TestPayPalTransmission(BaseCase):
    NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def headers(self, sent, transmission_id="TX-1"):
        return {"paypal-transmission-id": transmission_id, "PAYPAL-TRANSMISSION-TIME": sent}

    def test_transmission_time_within_the_tolerance(self):
        for sent in ("2026-03-01T11:55:00Z", "2026-03-01T12:00:59Z", "2026-03-01T12:00:00+00:00"):
            with self.subTest(sent):
                self.assertEqual(check_transmission(self.headers(sent), self.NOW, 300), "TX-1")
        refused = {
            "2026-03-01T11:54:59Z": "old",
            "2026-03-01T12:01:01Z": "future",
            "yesterday": "unreadable",
            "": "no transmission",
        }
        for sent, reason in refused.items():
            with self.subTest(sent), self.assertRaisesRegex(TransmissionRefused, reason):
                check_transmission(self.headers(sent), self.NOW, 300)
        with self.assertRaisesRegex(TransmissionRefused, "no transmission"):
            check_transmission(self.headers("2026-03-01T12:00:00Z", ""), self.NOW, 300)
