"""A local simulator of the PayPal REST API subset ``adapters.paypal_api`` talks to.

It serves the contract documented in ``adapters/paypal_api.py`` on 127.0.0.1
only, from memory, and fails on command, so that tests (and the demo of
``setup/run``) exercise windows, paging, throttling, outages and token expiry
without any network::

    sim = PayPalSimulator(client_id="demo", client_secret="secret", webhook_id="WH-1")
    payment = sim.add_payment("120.00", "USD", invoice="INV/2026/00001")
    sim.start()                       # sim.url -> http://127.0.0.1:<port>
    sim.throttle_next(2, retry_after=1)
    sim.fail_next(1, status=503)
    sim.expire_tokens()
    headers = sim.sign(body)          # transmission headers of a genuine delivery
    sim.stop()

Ids are drawn from the story, never at random: two simulators told the same
story (the demo data, then the simulator ``setup/run`` serves) list the same
transactions under the same ids, so pulling one after the other books nothing
twice.

Webhook verification follows PayPal's scheme with a shared test secret in place
of PayPal's certificate: the signature is an HMAC-SHA256 over
``transmission_id|transmission_time|webhook_id|crc32(body)``, so a changed body,
another webhook id or a forged signature all answer ``FAILURE``. The body is
checked as the client sent it inside the verification request, byte for byte.

``setup/simulator.py finsync_testing.tools.paypal_simulator --port 8097`` serves a
demo data set.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import secrets
import uuid
import zlib
from collections import defaultdict
from decimal import Decimal
from urllib.parse import parse_qs

from .simulator import ApiSimulator

SIGNING_SECRET = b"finsync-paypal-simulator"  # the simulator's stand-in for PayPal's key
MAX_RANGE = datetime.timedelta(days=31)


def _fmt(moment):
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _parse(value):
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    moment = datetime.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


class PayPalSimulator(ApiSimulator):
    def __init__(
        self,
        client_id="demo",
        client_secret="secret",
        webhook_id="WH-FINSYNC-TEST",
        page_size=100,
        port=0,
        token_ttl=32400,
        start=datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC),
    ):
        super().__init__(port)
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_id = webhook_id
        self.page_size = page_size
        self.token_ttl = token_ttl
        self.clock = start
        # PayPal's data lags behind: transactions of the last hours may not be searchable.
        self.refresh_lag = datetime.timedelta(0)
        self.transactions = []
        self.tokens = set()
        self._counter = 0

    # -- data ------------------------------------------------------------------
    def _next_id(self, *story, prefix="9"):
        """An id drawn from the story told so far (never at random): the same story,
        told by another simulator (the demo data, then ``setup/run``'s), has the same ids."""
        self._counter += 1
        seed = "|".join(str(part) for part in (self._counter, *story))
        digest = hashlib.sha256(seed.encode()).hexdigest()[:11].upper()
        return f"{prefix}{self._counter:05d}{digest}"

    def _tick(self, when):
        if when is None:
            self.clock += datetime.timedelta(minutes=7)
            return self.clock
        return when

    def _add(self, code, amount, currency, fee=None, when=None, reference=None, **info):
        moment = self._tick(when)
        tx_id = self._next_id(code, amount, currency, fee, _fmt(moment), reference)
        transaction_info = {
            "paypal_account_id": "SIMPAYER",
            "transaction_id": tx_id,
            "transaction_event_code": code,
            "transaction_initiation_date": _fmt(moment),
            "transaction_updated_date": _fmt(moment),
            "transaction_amount": {"currency_code": currency, "value": str(amount)},
            "transaction_status": info.pop("status", "S"),
        }
        if fee is not None:
            transaction_info["fee_amount"] = {"currency_code": currency, "value": str(fee)}
        if reference:
            transaction_info["paypal_reference_id"] = reference
            transaction_info["paypal_reference_id_type"] = "TXN"
        transaction_info.update({k: v for k, v in info.items() if v is not None})
        detail = {
            "transaction_info": transaction_info,
            "payer_info": {
                "account_id": "SIMPAYER",
                "payer_name": {"alternate_full_name": info.get("transaction_subject") or "Buyer"},
            },
        }
        with self.lock:
            self.transactions.append(detail)
        return detail

    def add_payment(self, amount, currency="USD", invoice=None, fee=None, when=None, status="S"):
        """A payment received; the fee is PayPal's 3.49% + 0.49 unless given."""
        amount = Decimal(str(amount))
        if fee is None:
            fee = -(amount * Decimal("0.0349") + Decimal("0.49")).quantize(Decimal("0.01"))
        return self._add("T0006", amount, currency, fee, when, invoice_id=invoice, status=status)

    def add_refund(self, payment, amount=None, fee_back=None):
        info = payment["transaction_info"]
        value = Decimal(str(amount or info["transaction_amount"]["value"]))
        return self._add(
            "T1107",
            -value,
            info["transaction_amount"]["currency_code"],
            Decimal(str(fee_back)) if fee_back is not None else Decimal("0.00"),
            reference=info["transaction_id"],
            invoice_id=info.get("invoice_id"),
        )

    def add_chargeback(self, payment):
        info = payment["transaction_info"]
        value = Decimal(info["transaction_amount"]["value"])
        return self._add(
            "T1201",
            -value,
            info["transaction_amount"]["currency_code"],
            reference=info["transaction_id"],
        )

    def add_withdrawal(self, amount, currency="USD", when=None, status="S"):
        return self._add(
            "T0400",
            -Decimal(str(amount)),
            currency,
            when=when,
            status=status,
            bank_reference_id=f"BANK{self._counter + 1:08d}",
        )

    def add_hold(self, payment, release=False):
        info = payment["transaction_info"]
        value = Decimal(info["transaction_amount"]["value"])
        return self._add(
            "T1503" if not release else "T1501",
            value if release else -value,
            info["transaction_amount"]["currency_code"],
            reference=info["transaction_id"],
        )

    def add_conversion(self, from_amount, from_currency, to_amount, to_currency):
        first = self._add("T0200", -Decimal(str(from_amount)), from_currency)
        second = self._add(
            "T0200",
            Decimal(str(to_amount)),
            to_currency,
            reference=first["transaction_info"]["transaction_id"],
        )
        return first, second

    def balances(self):
        totals = defaultdict(Decimal)
        with self.lock:
            for detail in self.transactions:
                info = detail["transaction_info"]
                if info["transaction_status"] not in ("S", "P") or (
                    info["transaction_status"] == "P"
                    and not info["transaction_event_code"].startswith("T04")
                ):
                    continue
                amount = Decimal(info["transaction_amount"]["value"])
                fee = Decimal((info.get("fee_amount") or {}).get("value") or "0")
                totals[info["transaction_amount"]["currency_code"]] += amount + fee
        return dict(totals)

    def capture_event(self, payment, event_type="PAYMENT.CAPTURE.COMPLETED", event_id=None):
        """The webhook event PayPal sends about a payment (its capture)."""
        info = payment["transaction_info"]
        currency = info["transaction_amount"]["currency_code"]
        value = info["transaction_amount"]["value"]
        fee = -Decimal((info.get("fee_amount") or {}).get("value") or "0")
        resource = {
            "id": info["transaction_id"],
            "status": {"P": "PENDING", "D": "DECLINED"}.get(
                info["transaction_status"], "COMPLETED"
            ),
            "amount": {"currency_code": currency, "value": value},
            "seller_receivable_breakdown": {
                "gross_amount": {"currency_code": currency, "value": value},
                "paypal_fee": {"currency_code": currency, "value": str(fee)},
                "net_amount": {"currency_code": currency, "value": str(Decimal(value) - fee)},
            },
            "invoice_id": info.get("invoice_id"),
            "create_time": info["transaction_initiation_date"].replace("+0000", "Z"),
        }
        return self._event(event_type, "capture", resource, event_id)

    def refund_event(self, refund, event_id=None):
        info = refund["transaction_info"]
        currency = info["transaction_amount"]["currency_code"]
        value = str(-Decimal(info["transaction_amount"]["value"]))
        fee_back = (info.get("fee_amount") or {}).get("value") or "0.00"
        resource = {
            "id": info["transaction_id"],
            "status": "COMPLETED",
            "amount": {"currency_code": currency, "value": value},
            "seller_payable_breakdown": {
                "paypal_fee": {"currency_code": currency, "value": fee_back},
            },
            "invoice_id": info.get("invoice_id"),
            "create_time": info["transaction_initiation_date"].replace("+0000", "Z"),
            "links": [
                {
                    "href": f"https://api-m.paypal.com/v2/payments/captures/"
                    f"{info['paypal_reference_id']}",
                    "rel": "up",
                    "method": "GET",
                }
            ],
        }
        return self._event("PAYMENT.CAPTURE.REFUNDED", "refund", resource, event_id)

    def _event(self, event_type, resource_type, resource, event_id):
        return {
            "id": event_id or self._event_id(event_type, resource["id"]),
            "event_version": "1.0",
            "create_time": resource["create_time"],
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": event_type,
            "resource": resource,
        }

    def _event_id(self, event_type, resource_id):
        digest = hashlib.sha256(f"{event_type}|{resource_id}".encode()).hexdigest()
        return f"WH-{digest[:17].upper()}"

    # -- webhook signatures ------------------------------------------------------
    def _signature(self, transmission_id, transmission_time, webhook_id, body):
        message = f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}"
        return base64.b64encode(
            hmac.new(SIGNING_SECRET, message.encode(), hashlib.sha256).digest()
        ).decode()

    def sign(self, body, webhook_id=None, sent=None):
        """The transmission headers PayPal would send with ``body`` (bytes), ``sent`` now
        unless given (an aware datetime). Every call is a new transmission (a new id)."""
        transmission_id = str(uuid.uuid4())
        sent = sent or datetime.datetime.now(datetime.UTC)
        transmission_time = sent.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": self._signature(
                transmission_id, transmission_time, webhook_id or self.webhook_id, body
            ),
        }

    # -- faults (throttle_next, fail_next, delay_next: ApiSimulator) ------------
    def error_body(self, kind, status):
        if kind == "throttle":
            return {"name": "RATE_LIMIT_REACHED"}
        return {"name": "INTERNAL_SERVICE_ERROR", "debug_id": "sim-debug"}

    def expire_tokens(self):
        with self.lock:
            self.tokens.clear()

    # -- API -------------------------------------------------------------------
    def route(self, method, path, query, headers, body):
        """(status, headers, payload) for one request past the faults."""
        if method == "POST" and path == "/v1/oauth2/token":
            return self._token(headers, body)
        if headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return 401, {}, {"error": "invalid_token", "error_description": "Token expired"}
        if method == "GET" and path == "/v1/reporting/transactions":
            return self._search(query)
        if method == "GET" and path == "/v1/reporting/balances":
            return 200, {}, self._balances_payload(query)
        if method == "POST" and path == "/v1/notifications/verify-webhook-signature":
            return self._verify(body)
        return 404, {}, {"name": "RESOURCE_NOT_FOUND", "debug_id": "sim-debug"}

    def _token(self, headers, body):
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if headers.get("Authorization") != f"Basic {expected}":
            return (
                401,
                {},
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
            )
        if parse_qs(body.decode()).get("grant_type") != ["client_credentials"]:
            return 400, {}, {"error": "unsupported_grant_type"}
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens.add(token)
        return (
            200,
            {},
            {
                "scope": "https://uri.paypal.com/services/reporting/search/read",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-SIM",
                "expires_in": self.token_ttl,
            },
        )

    def _search(self, query):
        def invalid(issue):
            return (
                400,
                {},
                {
                    "name": "INVALID_REQUEST",
                    "message": "Request is not well-formed or violates schema.",
                    "debug_id": "sim-debug",
                    "details": [{"issue": issue}],
                },
            )

        try:
            start = _parse(query["start_date"][0])
            end = _parse(query["end_date"][0])
        except (KeyError, ValueError):
            return invalid("start_date and end_date are required ISO 8601 times")
        if end < start:
            return invalid("end_date before start_date")
        if end - start > MAX_RANGE:
            return invalid("Date range is greater than 31 days")
        size = min(int(query.get("page_size", [self.page_size])[0]), 500)
        number = int(query.get("page", ["1"])[0])
        wanted = (query.get("transaction_id") or [None])[0]
        with self.lock:
            selected = [
                d
                for d in self.transactions
                if start <= _parse(d["transaction_info"]["transaction_initiation_date"]) <= end
                and (not wanted or d["transaction_info"]["transaction_id"] == wanted)
            ]
        total_pages = max((len(selected) + size - 1) // size, 1)
        return (
            200,
            {},
            {
                "transaction_details": selected[(number - 1) * size : number * size],
                "account_number": "SIMACCOUNT",
                "start_date": _fmt(start),
                "end_date": _fmt(end),
                "last_refreshed_datetime": _fmt(
                    datetime.datetime.now(datetime.UTC) - self.refresh_lag
                ),
                "page": number,
                "total_items": len(selected),
                "total_pages": total_pages,
            },
        )

    def _balances_payload(self, query):
        wanted = (query.get("currency_code") or [None])[0]
        rows = [
            {
                "currency": code,
                "primary": index == 0,
                "total_balance": {"currency_code": code, "value": str(total)},
                "available_balance": {"currency_code": code, "value": str(total)},
                "withheld_balance": {"currency_code": code, "value": "0.00"},
            }
            for index, (code, total) in enumerate(sorted(self.balances().items()))
            if not wanted or code == wanted
        ]
        return {
            "balances": rows,
            "account_id": "SIMACCOUNT",
            "as_of_time": _fmt(self.clock),
            "last_refresh_time": _fmt(self.clock),
        }

    def _verify(self, body):
        # The event as the client spliced it: after '"webhook_event": ', up to the
        # request's closing brace, byte for byte.
        marker = b'"webhook_event": '
        at = body.find(marker)
        if at < 0 or not body.endswith(b"}"):
            return 400, {}, {"name": "VALIDATION_ERROR", "debug_id": "sim-debug"}
        event_bytes = body[at + len(marker) : -1]
        try:
            request = json.loads(body)
        except ValueError:
            return 400, {}, {"name": "MALFORMED_REQUEST_JSON", "debug_id": "sim-debug"}
        expected = self._signature(
            request.get("transmission_id"),
            request.get("transmission_time"),
            request.get("webhook_id"),
            event_bytes,
        )
        genuine = request.get("webhook_id") == self.webhook_id and hmac.compare_digest(
            expected, str(request.get("transmission_sig") or "")
        )
        return 200, {}, {"verification_status": "SUCCESS" if genuine else "FAILURE"}


def demo_simulator(port=0):
    """The demo story: USD payments with fees, a refund, a hold and its release,
    a conversion to EUR and a payout to the bank."""
    sim = PayPalSimulator(client_id="demo", client_secret="demo-secret", port=port)
    payments = [
        sim.add_payment(amount, "USD", invoice=f"PP-DEMO-{index:03d}")
        for index, amount in enumerate(("120.00", "89.90", "450.00", "35.00", "1200.00"), 1)
    ]
    sim.add_refund(payments[1], fee_back="0.00")
    sim.add_hold(payments[4])
    sim.add_hold(payments[4], release=True)
    sim.add_conversion("100.00", "USD", "91.75", "EUR")
    sim.add_withdrawal("500.00", "USD")
    return sim


def main():
    parser = argparse.ArgumentParser(description="FinSync PayPal API simulator (demo data)")
    parser.add_argument("--port", type=int, default=8097)
    args = parser.parse_args()
    demo_simulator(port=args.port).serve_until_interrupted("PayPal API simulator on {url}")


if __name__ == "__main__":
    main()
