"""Client of the subset of Stripe's REST API that FinSync reads.

Contract (Stripe API, version ``API_VERSION`` sent on every request, the only
place it is named):

- ``GET /v1/balance_transactions?limit=&created[gte]=&starting_after=&payout=&expand[]=data.source``
  -> ``{"object": "list", "data": [balance_transaction...], "has_more": bool}``, newest
  first; ``starting_after=<last id of the page>`` gives the next (older) page.
- ``GET /v1/payouts/<id>`` -> a payout.

Amounts are integers in the currency's minor unit. Authentication is the
secret key as a Bearer token.

Transport rules: every request has a timeout; 429 and 5xx (and network errors)
are retried with backoff, waiting what ``Retry-After`` says when present and
never retrying when Stripe answers ``Stripe-Should-Retry: false``; when the
retries run out ``StripeTransientError`` is raised (the caller's job retries
later). Other 4xx raise ``StripeApiError`` with Stripe's error type and code
(never the key). Keys and payloads are never logged.
"""

import logging
import time

from odoo.addons.finsync_base.tools.http_client import (
    DEFAULT_TIMEOUT,
    MAX_WAIT,
    RetryingHttpClient,
)

_logger = logging.getLogger(__name__)

API_VERSION = "2024-06-20"
DEFAULT_URL = "https://api.stripe.com"
PAGE_LIMIT = 100


class StripeApiError(Exception):
    """A request Stripe refused; retrying will not help."""

    def __init__(self, message, status=None, code=None):
        super().__init__(message)
        self.status = status
        self.code = code


class StripeTransientError(StripeApiError):
    """Throttling or an outage that outlasted the retries: try again later."""

    def __init__(self, message, status=None, retry_after=None):
        super().__init__(message, status)
        self.retry_after = retry_after


class StripeClient(RetryingHttpClient):
    transient_error = StripeTransientError
    max_wait = MAX_WAIT

    def __init__(
        self,
        api_key,
        base_url=DEFAULT_URL,
        session=None,
        timeout=DEFAULT_TIMEOUT,
        max_retries=3,
        sleep=time.sleep,
        page_limit=PAGE_LIMIT,
    ):
        if not api_key:
            raise StripeApiError("no API key configured")
        super().__init__(base_url or DEFAULT_URL, session, timeout, max_retries, sleep)
        self.api_key = api_key
        self.page_limit = page_limit

    # -- transport -----------------------------------------------------------
    def _headers(self):
        return {"Authorization": f"Bearer {self.api_key}", "Stripe-Version": API_VERSION}

    def _transmit(self, method, url, **kwargs):
        return self.session.get(url, timeout=self.timeout, **kwargs)

    def _no_retry(self, response):
        """Stripe says ``Stripe-Should-Retry: false`` when retrying cannot help."""
        return response.headers.get("Stripe-Should-Retry", "").lower() == "false"

    def _get(self, path, params=None):
        """One GET with retries; returns the decoded JSON."""
        response = self._send("GET", path, params=params, headers=self._headers())
        try:
            return response.json()
        except ValueError as err:
            raise StripeApiError(
                f"GET {path}: the answer is not JSON", response.status_code
            ) from err

    def _refusal(self, method, path, response):
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {}
        detail = ", ".join(
            str(error[key]) for key in ("type", "code") if isinstance(error.get(key), str)
        )
        message = f"{method} {path}: HTTP {response.status_code}" + (
            f" ({detail})" if detail else ""
        )
        return StripeApiError(message, status=response.status_code, code=error.get("code"))

    # -- resources -----------------------------------------------------------
    def balance_transaction_pages(self, created_gte=None, payout=None):
        """Yield raw list pages of balance transactions, sources expanded.

        ``created_gte`` (unix time) restricts to transactions created at or
        after it: the pull's watermark. ``payout`` restricts to the
        transactions a payout settled.
        """
        params = {"limit": self.page_limit, "expand[]": "data.source"}
        if created_gte:
            params["created[gte]"] = int(created_gte)
        if payout:
            params["payout"] = payout
        while True:
            page = self._get("/v1/balance_transactions", params)
            yield page
            data = page.get("data") or []
            if not page.get("has_more") or not data:
                return
            params = dict(params, starting_after=data[-1]["id"])

    def payout(self, payout_id):
        return self._get(f"/v1/payouts/{payout_id}")
