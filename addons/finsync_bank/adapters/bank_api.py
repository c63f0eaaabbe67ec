"""Client of an Open Banking / PSD2-shaped account-information API.

Contract of the API (the shape most PSD2 aggregators share; the local
simulator in ``finsync_testing/tools/bank_api_simulator.py`` serves the same):

- ``POST /oauth/token`` (HTTP Basic client id/secret, ``grant_type=client_credentials``)
  -> ``{"access_token", "token_type": "Bearer", "expires_in"}``
- ``GET /accounts`` -> ``{"accounts": [{"id", "iban", "currency", "name"}]}``
- ``GET /accounts/{id}/balances`` -> ``{"balances": [{"type", "amount", "currency", "date"}]}``
- ``GET /accounts/{id}/transactions?since=<sequence>&cursor=<c>&limit=<n>``
  -> ``{"transactions": [{"sequence", "transaction_id", ...}], "next_cursor": c | null}``
- ``GET /payments?since=<sequence>&cursor=<c>`` -> ``{"payments": [{"sequence",
  "payment_id", "end_to_end_id", "status", ...}], "next_cursor": c | null}``

Amounts are decimal strings. ``sequence`` grows with every change, so the
highest sequence seen is the watermark a pull resumes from.

Transport rules: every request has a timeout; 429 waits for ``Retry-After``
(capped) and tries again, 5xx and network errors back off and try again, a
401 refreshes the token once; when retries run out ``BankApiTransientError``
is raised (the caller's job retries later), other 4xx raise ``BankApiError``.
Tokens, secrets and payloads are never logged.
"""

import logging
import time

from odoo.addons.finsync_base.tools.http_client import (
    DEFAULT_TIMEOUT,
    MAX_WAIT,
    RetryingHttpClient,
)

_logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = MAX_WAIT


class BankApiError(Exception):
    """A request the bank refused; retrying will not help."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class BankApiTransientError(BankApiError):
    """Throttling, outage or timeout that outlasted the retries: try again later."""

    def __init__(self, message, status=None, retry_after=None):
        super().__init__(message, status)
        self.retry_after = retry_after


class BankApiClient(RetryingHttpClient):
    transient_error = BankApiTransientError
    max_wait = MAX_RETRY_AFTER

    def __init__(
        self,
        base_url,
        client_id,
        client_secret,
        session=None,
        timeout=DEFAULT_TIMEOUT,
        max_retries=3,
        sleep=time.sleep,
        page_size=100,
    ):
        super().__init__(base_url, session, timeout, max_retries, sleep)
        self.client_id = client_id
        self.client_secret = client_secret
        self.page_size = page_size
        self._token = None
        self._token_expires = 0.0

    # -- authentication ------------------------------------------------------
    def _access_token(self, force=False):
        if not force and self._token and time.monotonic() < self._token_expires - 30:
            return self._token
        response = self._send(
            "POST",
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.client_secret),
        )
        payload = response.json()
        self._token = payload["access_token"]
        self._token_expires = time.monotonic() + float(payload.get("expires_in", 300))
        return self._token

    # -- transport (retries: finsync_base.tools.http_client) --------------------
    def _refusal(self, method, path, response):
        return BankApiError(
            f"{method} {path}: HTTP {response.status_code}", status=response.status_code
        )

    def _get(self, path, params=None):
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        try:
            response = self._send("GET", path, params=params, headers=headers)
        except BankApiError as err:
            if err.status != 401:
                raise
            # The token expired early (or was revoked): one fresh token, one retry.
            headers = {"Authorization": f"Bearer {self._access_token(force=True)}"}
            response = self._send("GET", path, params=params, headers=headers)
        try:
            return response.json()
        except ValueError as err:
            raise BankApiError(f"GET {path}: the answer is not JSON") from err

    # -- resources -----------------------------------------------------------
    def accounts(self):
        return self._get("/accounts")["accounts"]

    def balances(self, account_id):
        return self._get(f"/accounts/{account_id}/balances")["balances"]

    def transaction_pages(self, account_id, since=0):
        """Yield the raw pages of transactions after sequence ``since``."""
        yield from self._pages(f"/accounts/{account_id}/transactions", since)

    def payment_pages(self, since=0):
        """Yield the raw pages of payment status changes after sequence ``since``."""
        yield from self._pages("/payments", since)

    def _pages(self, path, since):
        cursor = None
        while True:
            params = {"since": since, "limit": self.page_size}
            if cursor:
                params["cursor"] = cursor
            page = self._get(path, params)
            yield page
            cursor = page.get("next_cursor")
            if not cursor:
                return
