"""Client of the subset of PayPal's REST API that FinSync reads.

Contract (PayPal REST API v1, the only place its paths are named):

- ``POST /v1/oauth2/token`` (HTTP Basic client id/secret, ``grant_type=client_credentials``)
  -> ``{"access_token", "token_type": "Bearer", "expires_in"}``. Tokens are cached
  per (API URL, client id, secret digest) until shortly before they expire, and
  refreshed once when PayPal answers 401.
- ``GET /v1/reporting/transactions?start_date=&end_date=&fields=all&page_size=&page=``
  -> ``{"transaction_details": [...], "page", "total_pages", "total_items",
  "last_refreshed_datetime"}``. PayPal refuses ranges over 31 days: a longer
  range is read in consecutive windows of at most ``MAX_WINDOW``, each page by
  page (``page`` from 1 to ``total_pages``).
- ``GET /v1/reporting/balances?as_of_time=&currency_code=`` -> ``{"balances": [...]}``.
- ``POST /v1/notifications/verify-webhook-signature`` with the delivery's
  transmission headers, the webhook id FinSync registered and the event as
  received -> ``{"verification_status": "SUCCESS" | "FAILURE"}``. The event is
  spliced in byte for byte (never re-serialised), so PayPal checks the body it
  sent. Without a webhook id nothing is sent and the delivery is refused.

Transport rules: every request has a timeout; 429 and 5xx (and network errors)
are retried, waiting what ``Retry-After`` says when present, else backing off;
when the retries run out ``PayPalTransientError`` is raised (the caller's job
retries later). Other 4xx raise ``PayPalApiError`` naming the request and
PayPal's error name and debug id. Secrets, tokens and payloads are never
logged nor put in error messages.

Deliveries: PayPal's signature covers the transmission id, the transmission
time, the webhook id and only a CRC32 of the body, so a captured delivery's
headers verify with any other body of the same CRC32. ``check_transmission``
therefore refuses a transmission time outside the tolerance, and the connector
accepts each transmission id once.
"""

import datetime
import hashlib
import json
import logging
import threading
import time

from odoo.addons.finsync_base.tools.http_client import (
    DEFAULT_TIMEOUT,
    MAX_WAIT,
    RetryingHttpClient,
)

_logger = logging.getLogger(__name__)

LIVE_URL = "https://api-m.paypal.com"
SANDBOX_URL = "https://api-m.sandbox.paypal.com"
MAX_WINDOW = datetime.timedelta(days=31)
PAGE_SIZE = 500  # PayPal's largest page
TOKEN_MARGIN = 60  # seconds before expiry when a cached token is renewed
DEFAULT_TOLERANCE = 300  # seconds a delivery's transmission time may lie in the past
CLOCK_SKEW = 60  # seconds it may lie in the future (PayPal's clock against ours)
TRANSMISSION_HEADERS = {
    "auth_algo": "PAYPAL-AUTH-ALGO",
    "cert_url": "PAYPAL-CERT-URL",
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
}


class PayPalApiError(Exception):
    """A request PayPal refused; retrying will not help."""

    def __init__(self, message, status=None, name=None, debug_id=None):
        super().__init__(message)
        self.status = status
        self.name = name
        self.debug_id = debug_id


class PayPalTransientError(PayPalApiError):
    """Throttling, an outage or a timeout that outlasted the retries: try again later."""

    def __init__(self, message, status=None, retry_after=None):
        super().__init__(message, status)
        self.retry_after = retry_after


class TransmissionRefused(Exception):
    """A delivery whose transmission headers are missing, stale or from the future."""


def check_transmission(headers, now, tolerance=DEFAULT_TOLERANCE, skew=CLOCK_SKEW):
    """The transmission id of a delivery sent within ``tolerance`` seconds before ``now``.

    ``headers`` is the delivery's header mapping (looked up case-insensitively),
    ``now`` an aware UTC datetime. Raises ``TransmissionRefused`` when the id or
    the time is missing, the time is unreadable, older than ``tolerance``
    seconds or more than ``skew`` seconds ahead of ``now``. Whether the id was
    already used is the connector's to know.
    """
    lowered = {str(key).lower(): value for key, value in dict(headers).items()}
    transmission_id = (lowered.get(TRANSMISSION_HEADERS["transmission_id"].lower()) or "").strip()
    text = (lowered.get(TRANSMISSION_HEADERS["transmission_time"].lower()) or "").strip()
    if not transmission_id or not text:
        raise TransmissionRefused("no transmission id or time")
    try:
        sent = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise TransmissionRefused("unreadable transmission time") from err
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=datetime.UTC)
    age = (now - sent).total_seconds()
    if age > tolerance:
        raise TransmissionRefused(f"transmission time {int(age)} s old (tolerance {tolerance} s)")
    if -age > skew:
        raise TransmissionRefused(f"transmission time {int(-age)} s in the future")
    return transmission_id


class TokenCache:
    """Access tokens shared by the clients of one process (thread-safe).

    Keyed by API URL, client id and a digest of the secret: the secret itself
    is never kept as a key.
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._tokens = {}
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            token, expires = self._tokens.get(key, (None, 0.0))
        return token if token and self.clock() < expires - TOKEN_MARGIN else None

    def put(self, key, token, expires_in):
        with self._lock:
            self._tokens[key] = (token, self.clock() + float(expires_in))

    def drop(self, key, token):
        with self._lock:
            if self._tokens.get(key, (None,))[0] == token:
                del self._tokens[key]

    def clear(self):
        with self._lock:
            self._tokens.clear()


SHARED_TOKENS = TokenCache()


def format_time(moment):
    """A UTC datetime as PayPal's reporting API wants it (``2026-01-31T00:00:00Z``)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def windows(start, end, size=MAX_WINDOW):
    """Consecutive ``(start, end)`` windows covering ``[start, end]``, none longer than ``size``.

    Windows do not overlap: each starts one second after the previous one ends
    (PayPal's times have whole seconds).
    """
    if end < start:
        return []
    result = []
    cursor = start
    while cursor <= end:
        stop = min(cursor + size, end)
        result.append((cursor, stop))
        cursor = stop + datetime.timedelta(seconds=1)
    return result


class PayPalClient(RetryingHttpClient):
    transient_error = PayPalTransientError
    max_wait = MAX_WAIT

    def __init__(
        self,
        client_id,
        client_secret,
        base_url=SANDBOX_URL,
        session=None,
        timeout=DEFAULT_TIMEOUT,
        max_retries=3,
        sleep=time.sleep,
        page_size=PAGE_SIZE,
        tokens=None,
    ):
        if not client_id or not client_secret:
            raise PayPalApiError("no client id or client secret configured")
        super().__init__(base_url or SANDBOX_URL, session, timeout, max_retries, sleep)
        self.client_id = client_id
        self._secret = client_secret
        self.page_size = page_size
        self.tokens = tokens if tokens is not None else SHARED_TOKENS
        digest = hashlib.sha256(client_secret.encode()).hexdigest()[:16]
        self._token_key = (self.base_url, client_id, digest)

    # -- authentication ------------------------------------------------------
    def _access_token(self, force=False):
        token = None if force else self.tokens.get(self._token_key)
        if token:
            return token
        response = self._send(
            "POST",
            "/v1/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self._secret),
            headers={"Accept": "application/json"},
        )
        payload = self._json(response, "POST /v1/oauth2/token")
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise PayPalApiError("POST /v1/oauth2/token: no access token in the answer")
        self.tokens.put(self._token_key, token, payload.get("expires_in") or 300)
        return token

    # -- transport (retries: finsync_base.tools.http_client) --------------------
    def _refusal(self, method, path, response):
        """A PayPalApiError naming the request and PayPal's error (never the body)."""
        try:
            error = response.json()
        except ValueError:
            error = {}
        if not isinstance(error, dict):
            error = {}
        name = error.get("name") or error.get("error")
        debug_id = error.get("debug_id")
        detail = ", ".join(str(part) for part in (name, debug_id) if isinstance(part, str))
        message = f"{method} {path}: HTTP {response.status_code}" + (
            f" ({detail})" if detail else ""
        )
        return PayPalApiError(
            message,
            status=response.status_code,
            name=name if isinstance(name, str) else None,
            debug_id=debug_id if isinstance(debug_id, str) else None,
        )

    def _json(self, response, request):
        try:
            return response.json()
        except ValueError as err:
            raise PayPalApiError(
                f"{request}: the answer is not JSON", response.status_code
            ) from err

    def _call(self, method, path, params=None, data=None):
        """An authenticated request; a 401 renews the token once and tries again."""
        token = self._access_token()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            response = self._send(method, path, params=params, data=data, headers=headers)
        except PayPalApiError as err:
            if err.status != 401 or isinstance(err, PayPalTransientError):
                raise
            # The token expired early or was revoked: one fresh token, one retry.
            self.tokens.drop(self._token_key, token)
            headers["Authorization"] = f"Bearer {self._access_token(force=True)}"
            response = self._send(method, path, params=params, data=data, headers=headers)
        return self._json(response, f"{method} {path}")

    # -- resources -----------------------------------------------------------
    def transaction_pages(self, start, end, transaction_id=None):
        """Yield ``(window_start, window_end, page)`` for every page of ``[start, end]``.

        ``start`` and ``end`` are UTC datetimes; the range is read in windows of
        at most 31 days, each from page 1 to its ``total_pages``.
        ``transaction_id`` restricts the search to one transaction.
        """
        for window_start, window_end in windows(start, end):
            page_number = 1
            while True:
                page = self._call(
                    "GET",
                    "/v1/reporting/transactions",
                    params={
                        "start_date": format_time(window_start),
                        "end_date": format_time(window_end),
                        "fields": "all",
                        "page_size": self.page_size,
                        "page": page_number,
                        **({"transaction_id": transaction_id} if transaction_id else {}),
                    },
                )
                yield window_start, window_end, page
                total = page.get("total_pages") or 0
                if not isinstance(total, int) or page_number >= total:
                    break
                page_number += 1

    def balances(self, as_of_time=None, currency_code=None):
        params = {}
        if as_of_time:
            params["as_of_time"] = format_time(as_of_time)
        if currency_code:
            params["currency_code"] = currency_code
        return self._call("GET", "/v1/reporting/balances", params=params or None)

    def verify_webhook_signature(self, headers, webhook_id, body):
        """Ask PayPal whether a delivery is genuine; True only on ``SUCCESS``.

        ``headers`` is the delivery's header mapping (case-insensitive lookup
        done here), ``body`` the raw bytes received. Fails closed: no webhook
        id, a missing transmission header or a body that is not a JSON object
        returns False without asking.
        """
        if not webhook_id:
            return False
        lowered = {str(key).lower(): value for key, value in dict(headers).items()}
        values = {
            field: lowered.get(header.lower()) for field, header in TRANSMISSION_HEADERS.items()
        }
        if not all(values.values()):
            return False
        if isinstance(body, bytes):
            try:
                body = body.decode("utf-8")
            except UnicodeDecodeError:
                return False
        try:
            if not isinstance(json.loads(body), dict):
                return False
        except ValueError:
            return False
        values["webhook_id"] = webhook_id
        prefix = json.dumps(values)[:-1]
        data = f'{prefix}, "webhook_event": {body}}}'.encode()
        answer = self._call("POST", "/v1/notifications/verify-webhook-signature", data=data)
        return isinstance(answer, dict) and answer.get("verification_status") == "SUCCESS"
