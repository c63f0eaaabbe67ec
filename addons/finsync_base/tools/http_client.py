"""The transport loop the FinSync API clients share (bank API, Stripe, PayPal).

``RetryingHttpClient._send`` sends one request with a timeout and retries it:
network errors (timeouts, refused connections) back off ``2**attempt``
seconds, 429 and 5xx wait what ``Retry-After`` says (capped at ``max_wait``)
or back off when it is absent or unreadable. When the retries run out the
client's transient error is raised (the caller's queue job tries again
later); another 4xx raises the client's refusal. Messages name the method,
the path and the status only: never the URL's query, a header, a token, a
secret or a payload.

A client subclasses it and keeps its own authentication, paging and error
mapping, through these hooks:

- ``transient_error(message, status=None, retry_after=None)``: the exception
  raised when the retries run out;
- ``_refusal(method, path, response)``: the exception of a 4xx that retrying
  will not cure;
- ``_no_retry(response)``: True when the API says not to retry a 429/5xx;
- ``_transmit(method, url, **kwargs)``: the actual call on ``self.session``.

No Odoo imports: tested without a database.
"""

import time

import requests

DEFAULT_TIMEOUT = 30  # seconds, for connecting and for each read
MAX_WAIT = 60  # seconds: the longest wait between two attempts


class RetryingHttpClient:
    """Timeouts, retries, backoff and ``Retry-After`` for one API's client."""

    transient_error = None  # the client's "try again later" exception class
    max_wait = MAX_WAIT

    def __init__(
        self,
        base_url,
        session=None,
        timeout=DEFAULT_TIMEOUT,
        max_retries=3,
        sleep=time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_retries = max_retries
        self.sleep = sleep
        self.requests_sent = 0

    def _send(self, method, path, **kwargs):
        """One request with retries on 429, 5xx and network errors; returns the response."""
        url = self.base_url + path
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                self.requests_sent += 1
                response = self._transmit(method, url, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as err:
                if last:
                    raise self.transient_error(f"{method} {path}: {type(err).__name__}") from err
                self.sleep(self._backoff(attempt))
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                wait = self._retry_after(response, attempt)
                if last or self._no_retry(response):
                    raise self.transient_error(
                        f"{method} {path}: HTTP {status}", status=status, retry_after=wait
                    )
                self.sleep(wait)
                continue
            if status >= 400:
                raise self._refusal(method, path, response)
            return response
        raise AssertionError("unreachable")

    def _transmit(self, method, url, **kwargs):
        return self.session.request(method, url, timeout=self.timeout, **kwargs)

    def _refusal(self, method, path, response):
        """The exception of a refused request (4xx other than 429); subclasses name theirs."""
        raise NotImplementedError

    def _no_retry(self, response):
        """True when the API asks not to retry this 429/5xx answer."""
        return False

    def _backoff(self, attempt):
        return min(2**attempt, self.max_wait)

    def _retry_after(self, response, attempt):
        """Seconds to wait before the next attempt: ``Retry-After`` (capped), else backoff."""
        header = response.headers.get("Retry-After")
        try:
            return min(max(float(header), 0.0), self.max_wait)
        except (TypeError, ValueError):
            return self._backoff(attempt)
