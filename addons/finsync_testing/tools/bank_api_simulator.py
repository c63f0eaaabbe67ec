"""A local simulator of the bank API that ``adapters.bank_api`` talks to.

It serves the contract documented in ``adapters/bank_api.py`` on 127.0.0.1
only, from memory, and fails on command, so that tests (and the demo of
``setup/run``) exercise paging, throttling, outages, slow answers and token
expiry without any network::

    sim = BankApiSimulator(client_id="demo", client_secret="secret")
    sim.add_account("acc-1", "NL91ABNA0417164300", "EUR")
    sim.add_transactions("acc-1", 250)
    sim.start()                       # sim.url -> http://127.0.0.1:<port>
    sim.throttle_next(2, retry_after=1)
    sim.fail_next(1, status=503)
    sim.expire_tokens()
    sim.stop()

``setup/simulator.py`` runs this module alone: it serves a demo data set until
interrupted.
"""

import argparse
import base64
import datetime
import secrets
from decimal import Decimal
from urllib.parse import parse_qs

from .simulator import ApiSimulator


class BankApiSimulator(ApiSimulator):
    def __init__(self, client_id="demo", client_secret="secret", page_size=50, port=0):
        super().__init__(port)
        self.client_id = client_id
        self.client_secret = client_secret
        self.page_size = page_size
        self.accounts = {}
        self.transactions = {}
        self.payments = []
        self.tokens = set()
        self.sequence = 0

    # -- data ------------------------------------------------------------------
    def _next_sequence(self):
        self.sequence += 1
        return self.sequence

    def add_account(self, account_id, iban, currency="EUR", name="Current account"):
        with self.lock:
            self.accounts[account_id] = {
                "id": account_id,
                "iban": iban,
                "currency": currency,
                "name": name,
            }
            self.transactions.setdefault(account_id, [])

    def add_transactions(self, account_id, count, start=datetime.date(2026, 1, 1)):
        with self.lock:
            existing = len(self.transactions[account_id])
            currency = self.accounts[account_id]["currency"]
            for index in range(existing, existing + count):
                amount = Decimal(50 + (index * 13) % 700) + Decimal(index % 100) / 100
                if index % 3 == 2:
                    amount = -amount
                day = start + datetime.timedelta(days=index % 28)
                self.transactions[account_id].append(
                    {
                        "sequence": self._next_sequence(),
                        "transaction_id": f"{account_id}-T{index + 1:06d}",
                        "status": "booked",
                        "booking_date": day.isoformat(),
                        "value_date": day.isoformat(),
                        "amount": str(amount),
                        "currency": currency,
                        "debtor_name": f"Customer {index % 40}",
                        "debtor_account": f"DE{index:020d}",
                        "creditor_name": f"Supplier {index % 25}",
                        "creditor_account": f"FR{index:023d}",
                        "remittance_information": f"INV/2026/{index + 1:05d}",
                        "end_to_end_id": f"E2E-{account_id}-{index + 1}",
                        "bank_transaction_code": "PMNT-RCDT-ESCT",
                    }
                )

    def set_payment_status(self, payment_id, status, amount="100.00", currency="EUR"):
        with self.lock:
            self.payments.append(
                {
                    "sequence": self._next_sequence(),
                    "payment_id": payment_id,
                    "end_to_end_id": f"E2E-{payment_id}",
                    "status": status,
                    "amount": amount,
                    "currency": currency,
                    "date": "2026-01-15",
                    "creditor_name": "Supplier 1",
                    "creditor_account": "FR7630006000011234567890189",
                    "remittance_information": f"Payment {payment_id}",
                }
            )

    # -- faults (throttle_next, fail_next, delay_next: ApiSimulator) ------------
    def expire_tokens(self):
        with self.lock:
            self.tokens.clear()

    # -- API -------------------------------------------------------------------
    def route(self, method, path, query, headers, body):
        """(status, headers, payload) for one request past the faults."""
        if method == "POST" and path == "/oauth/token":
            return self._token(headers, body)
        if headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return 401, {}, {"error": "invalid_token"}
        parts = path.strip("/").split("/")
        if parts == ["accounts"]:
            return 200, {}, {"accounts": list(self.accounts.values())}
        if len(parts) == 3 and parts[0] == "accounts" and parts[1] in self.accounts:
            if parts[2] == "transactions":
                return 200, {}, self._page("transactions", self.transactions[parts[1]], query)
            if parts[2] == "balances":
                return 200, {}, {"balances": self._balances(parts[1])}
        if parts == ["payments"]:
            return 200, {}, self._page("payments", self.payments, query)
        return 404, {}, {"error": "not_found"}

    def _token(self, headers, body):
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if headers.get("Authorization") != f"Basic {expected}":
            return 401, {}, {"error": "invalid_client"}
        if parse_qs(body.decode()).get("grant_type") != ["client_credentials"]:
            return 400, {}, {"error": "unsupported_grant_type"}
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens.add(token)
        return 200, {}, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def _page(self, key, items, query):
        since = int(query.get("since", ["0"])[0] or 0)
        limit = min(int(query.get("limit", [self.page_size])[0]), self.page_size)
        offset = int(query.get("cursor", ["0"])[0] or 0)
        with self.lock:
            selected = [item for item in items if item["sequence"] > since]
        page = selected[offset : offset + limit]
        more = offset + limit < len(selected)
        return {key: page, "next_cursor": str(offset + limit) if more else None}

    def _balances(self, account_id):
        with self.lock:
            total = sum(Decimal(t["amount"]) for t in self.transactions[account_id])
        return [
            {
                "type": "closingBooked",
                "amount": str(total),
                "currency": self.accounts[account_id]["currency"],
                "date": datetime.date.today().isoformat(),
            }
        ]


def main():
    parser = argparse.ArgumentParser(description="FinSync bank API simulator (demo data)")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    sim = BankApiSimulator(client_id="demo", client_secret="demo-secret", port=args.port)
    sim.add_account("demo-eur", "NL91ABNA0417164300", "EUR", "Demo current account")
    sim.add_transactions("demo-eur", 120)
    sim.set_payment_status("PAY-1", "initiated")
    sim.set_payment_status("PAY-1", "accepted")
    sim.set_payment_status("PAY-2", "rejected")
    sim.serve_until_interrupted("bank API simulator on {url}")


if __name__ == "__main__":
    main()
