"""A local simulator of the part of Stripe's API that ``adapters.stripe_api`` reads.

It serves balance transactions (newest first, ``limit``/``starting_after``
pages, ``created[gte]``, ``payout``, ``expand[]=data.source``) and payouts on
127.0.0.1 only, from memory, and fails on command::

    sim = StripeSimulator(api_key="sk_test_x")
    charge = sim.add_charge(10000, "usd", invoice="INV/2026/00001")
    sim.add_refund(charge["id"], 2500)
    payout = sim.add_payout("usd")       # pays out everything available
    sim.start()                          # sim.url -> http://127.0.0.1:<port>
    sim.throttle_next(2, retry_after=1)  # 429 with Retry-After
    sim.fail_next(1, status=503)         # 5xx, or 4xx for errors that are not retried
    sim.events()                         # the webhook events telling the same story
    sim.stop()

``setup/simulator.py`` runs this module alone: it serves a demo data set until
interrupted.
"""

import argparse
import itertools
import json

from .simulator import ApiSimulator

FEE_PERCENT = 29  # 2.9 % + 30 cents, Stripe's usual card price
FEE_FIXED = 30
DAY = 86400


class StripeSimulator(ApiSimulator):
    methods = ("GET",)

    def __init__(self, api_key="sk_test_finsync", port=0, start_time=1767225600):
        super().__init__(port)
        self.api_key = api_key
        self.clock = start_time  # 2026-01-01T00:00:00Z
        self.balance_transactions = []  # oldest first
        self.objects = {}
        self._events = []
        self._ids = itertools.count(1)

    # -- data ------------------------------------------------------------------
    def _id(self, prefix):
        return f"{prefix}_sim{next(self._ids):08d}"

    def _tick(self, seconds=3600):
        self.clock += seconds
        return self.clock

    def _bt(self, amount, currency, fee, bt_type, category, source_id, created):
        bt = {
            "id": self._id("txn"),
            "object": "balance_transaction",
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "currency": currency,
            "created": created,
            "available_on": created + 2 * DAY,
            "type": bt_type,
            "reporting_category": category,
            "status": "available",
            "source": source_id,
            "description": None,
            "payout_id": None,  # simulator bookkeeping, removed when served
        }
        self.balance_transactions.append(bt)
        return bt

    def _event(self, event_type, obj):
        self._events.append(
            {
                "id": self._id("evt"),
                "object": "event",
                "api_version": "2024-06-20",
                "created": self.clock,
                "type": event_type,
                "data": {"object": json.loads(json.dumps(obj))},
            }
        )

    def add_charge(self, amount, currency="usd", invoice=None, payment_intent=None, name=None):
        """A captured card charge of ``amount`` minor units; returns the charge."""
        with self.lock:
            created = self._tick()
            fee = amount * FEE_PERCENT // 1000 + FEE_FIXED
            charge = {
                "id": self._id("ch"),
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "captured": True,
                "currency": currency,
                "created": created,
                "status": "succeeded",
                "paid": True,
                "description": f"Order {invoice or ''}".strip(),
                "metadata": {"invoice_number": invoice} if invoice else {},
                "payment_intent": payment_intent or self._id("pi"),
                "billing_details": {"name": name or "Customer"},
                "payment_method_details": {"type": "card"},
                "refunds": {"object": "list", "data": [], "has_more": False},
            }
            bt = self._bt(amount, currency, fee, "charge", "charge", charge["id"], created)
            charge["balance_transaction"] = bt["id"]
            self.objects[charge["id"]] = charge
            self._event("charge.succeeded", charge)
            return charge

    def add_refund(self, charge_id, amount):
        with self.lock:
            charge = self.objects[charge_id]
            created = self._tick()
            refund = {
                "id": self._id("re"),
                "object": "refund",
                "amount": amount,
                "charge": charge_id,
                "currency": charge["currency"],
                "created": created,
                "status": "succeeded",
                "payment_intent": charge["payment_intent"],
                "metadata": charge["metadata"],
            }
            bt = self._bt(-amount, charge["currency"], 0, "refund", "refund", refund["id"], created)
            refund["balance_transaction"] = bt["id"]
            charge["amount_refunded"] += amount
            self.objects[refund["id"]] = refund
            self._event("refund.created", refund)
            return refund

    def add_dispute(self, charge_id, won=False, fee=1500):
        """A dispute: the amount and a fee withdrawn; with ``won`` the amount comes back."""
        with self.lock:
            charge = self.objects[charge_id]
            created = self._tick()
            dispute = {
                "id": self._id("dp"),
                "object": "dispute",
                "amount": charge["amount"],
                "charge": charge_id,
                "currency": charge["currency"],
                "created": created,
                "reason": "fraudulent",
                "status": "needs_response",
                "balance_transactions": [],
            }
            currency = charge["currency"]
            withdrawal = self._bt(
                -charge["amount"], currency, fee, "adjustment", "dispute", dispute["id"], created
            )
            dispute["balance_transactions"].append(self._public(withdrawal))
            self.objects[dispute["id"]] = dispute
            self._event("charge.dispute.funds_withdrawn", dispute)
            if won:
                back = self._bt(
                    charge["amount"],
                    currency,
                    0,
                    "adjustment",
                    "dispute_reversal",
                    dispute["id"],
                    self._tick(),
                )
                dispute["balance_transactions"].append(self._public(back))
                dispute["status"] = "won"
                self._event("charge.dispute.funds_reinstated", dispute)
            return dispute

    def add_payout(self, currency="usd", arrival_days=2):
        """Pay out every transaction of ``currency`` not paid out yet; returns the payout."""
        with self.lock:
            pending = [
                bt
                for bt in self.balance_transactions
                if bt["currency"] == currency and not bt["payout_id"] and bt["type"] != "payout"
            ]
            created = self._tick()
            amount = sum(bt["net"] for bt in pending)
            payout = {
                "id": self._id("po"),
                "object": "payout",
                "amount": amount,
                "currency": currency,
                "created": created,
                "arrival_date": created + arrival_days * DAY,
                "status": "in_transit",
                "automatic": True,
                "description": "STRIPE PAYOUT",
                "statement_descriptor": None,
                "method": "standard",
                "type": "bank_account",
            }
            bt = self._bt(-amount, currency, 0, "payout", "payout", payout["id"], created)
            payout["balance_transaction"] = bt["id"]
            for item in [*pending, bt]:
                item["payout_id"] = payout["id"]
            self.objects[payout["id"]] = payout
            self._event("payout.created", payout)
            return payout

    def pay_payout(self, payout_id):
        with self.lock:
            payout = self.objects[payout_id]
            payout["status"] = "paid"
            self._event("payout.paid", payout)
            return payout

    def events(self):
        """The webhook events of everything added so far, oldest first."""
        with self.lock:
            return list(self._events)

    # -- faults (throttle_next, delay_next: ApiSimulator) ------------------------
    def fail_next(self, count, status=503, path_part="", should_retry=None, after=0):
        """Fail ``count`` requests to paths containing ``path_part``, ``after`` good ones.

        ``should_retry`` (a bool) adds Stripe's ``Stripe-Should-Retry`` header.
        """
        headers = {} if should_retry is None else {"Stripe-Should-Retry": str(should_retry).lower()}
        return super().fail_next(count, status, path_part, after=after, headers=headers)

    def error_body(self, kind, status):
        kind = "rate_limit_error" if status == 429 else "api_error"
        if 400 <= status < 500 and status != 429:
            kind = "invalid_request_error"
        return {"error": {"type": kind, "message": "simulated failure"}}

    # -- API -------------------------------------------------------------------
    def route(self, method, path, query, headers, body):
        """(status, headers, payload) of one request past the faults."""
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {}, {"error": {"type": "invalid_request_error", "code": "api_key"}}
        if method == "GET" and path == "/v1/balance_transactions":
            return 200, {}, self._list(query)
        if method == "GET" and path.startswith("/v1/payouts/"):
            payout = self.objects.get(path.rsplit("/", 1)[-1])
            if payout and payout["object"] == "payout":
                return 200, {}, payout
        return 404, {}, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}

    def _public(self, bt, expand=False):
        item = {key: value for key, value in bt.items() if key != "payout_id"}
        if expand and bt["source"] in self.objects:
            item["source"] = self.objects[bt["source"]]
        return item

    def _list(self, query):
        limit = max(1, min(int(query.get("limit", ["10"])[0]), 100))
        since = int(query.get("created[gte]", ["0"])[0] or 0)
        payout = query.get("payout", [None])[0]
        after = query.get("starting_after", [None])[0]
        expand = "data.source" in query.get("expand[]", [])
        with self.lock:
            items = [
                bt
                for bt in reversed(self.balance_transactions)
                if bt["created"] >= since
                and (not payout or (bt["payout_id"] == payout and bt["source"] != payout))
            ]
            if after:
                ids = [bt["id"] for bt in items]
                items = items[ids.index(after) + 1 :] if after in ids else []
            page = [self._public(bt, expand) for bt in items[:limit]]
        return {
            "object": "list",
            "url": "/v1/balance_transactions",
            "data": page,
            "has_more": len(items) > limit,
        }


def demo_simulator(port=0):
    """The data set of the demo connector: charges, a refund, a dispute, payouts."""
    sim = StripeSimulator(api_key="sk_test_finsync_demo", port=port)
    charges = [
        sim.add_charge(amount, "usd", invoice=f"INV/2026/{index:05d}", name=f"Customer {index}")
        for index, amount in enumerate((12000, 4550, 9900, 30000, 1575), start=1)
    ]
    sim.add_refund(charges[1]["id"], 1550)
    sim.add_dispute(charges[3]["id"], won=True)
    payout = sim.add_payout("usd")
    sim.pay_payout(payout["id"])
    sim.add_charge(8800, "eur", invoice="INV/2026/00006", name="Customer 6")
    sim.add_charge(2500, "usd", invoice="INV/2026/00007", name="Customer 7")
    sim.add_payout("usd")
    return sim


def main():
    parser = argparse.ArgumentParser(description="FinSync Stripe API simulator (demo data)")
    parser.add_argument("--port", type=int, default=8098)
    args = parser.parse_args()
    demo_simulator(args.port).serve_until_interrupted("Stripe simulator on {url}")


if __name__ == "__main__":
    main()
