"""The transport loop the FinSync API clients share (bank API, Stripe, PayPal).

``RetryingHttpClient._send`` sends one request with explicit timeouts and
retries it. Timeouts: ``CONNECT_TIMEOUT`` to connect, ``READ_TIMEOUT`` for
each read of the socket (a server that accepts and never answers), and
``ANSWER_DEADLINE`` for the whole body (a server that trickles it). Network
errors (timeouts, refused or reset connections, an answer cut before its
``Content-Length``: ``tools/transient.py``) back off ``2**attempt`` seconds,
429 and 5xx wait what ``Retry-After`` says (capped at ``max_wait``) or back
off when it is absent or unreadable. When the retries run out the
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
from requests.adapters import HTTPAdapter

from .transient import REMOTE_TRANSIENT_ERRORS

CONNECT_TIMEOUT = 10  # seconds to open the connection
READ_TIMEOUT = 30  # seconds of silence allowed on each read
DEFAULT_TIMEOUT = (CONNECT_TIMEOUT, READ_TIMEOUT)
ANSWER_DEADLINE = 120  # seconds for a whole answer, however it trickles in
MAX_WAIT = 60  # seconds: the longest wait between two attempts
CHUNK = 1024  # bytes read at a time: the deadline is checked between reads


class AnswerCutShort(requests.ConnectionError):
    """The connection closed before the body reached its ``Content-Length``."""


class TimeoutAdapter(HTTPAdapter):
    """Sends every request of its session with its own ``(connect, read)`` timeouts.

    The clients pass the read timeout to ``requests`` as one number (what
    callers and wrappers of ``Session.send`` expect); the adapter applies
    both, whatever a wrapper did to that number.
    """

    def __init__(self, timeouts, **kwargs):
        super().__init__(**kwargs)
        self.timeouts = timeouts

    def send(self, request, **kwargs):
        kwargs["timeout"] = self.timeouts
        return super().send(request, **kwargs)


class RetryingHttpClient:
    """Timeouts, retries, backoff and ``Retry-After`` for one API's client."""

    transient_error = None  # the client's "try again later" exception class
    max_wait = MAX_WAIT
    answer_deadline = ANSWER_DEADLINE

    def __init__(
        self,
        base_url,
        session=None,
        timeout=DEFAULT_TIMEOUT,
        max_retries=3,
        sleep=time.sleep,
    ):
        """``timeout``: ``(connect, read)`` seconds, or one number for both (connecting
        within ``CONNECT_TIMEOUT`` at most). ``self.timeout`` is the read timeout."""
        self.base_url = base_url.rstrip("/")
        if isinstance(timeout, tuple | list):
            self.connect_timeout, self.timeout = timeout
        else:
            self.connect_timeout, self.timeout = min(CONNECT_TIMEOUT, timeout), timeout
        self.session = session or self._new_session()
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
                started = time.monotonic()
                response = self._transmit(method, url, stream=True, **kwargs)
                self._read_body(response, started)
            except REMOTE_TRANSIENT_ERRORS as err:
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

    def _new_session(self):
        session = requests.Session()
        adapter = TimeoutAdapter((self.connect_timeout, self.timeout))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def _transmit(self, method, url, **kwargs):
        return self.session.request(method, url, timeout=self.timeout, **kwargs)

    def _read_body(self, response, started):
        """Read the streamed body whole within ``answer_deadline`` of ``started``.

        Raises ``requests.Timeout`` past the deadline and ``AnswerCutShort``
        when fewer bytes came than ``Content-Length`` announced (urllib3 would
        hand the truncated page over as if it were whole). A test double that
        is not a ``requests.Response`` is left as it is.
        """
        if not isinstance(response, requests.Response):
            return
        chunks = []
        try:
            for chunk in response.iter_content(CHUNK):
                chunks.append(chunk)
                if time.monotonic() - started > self.answer_deadline:
                    raise requests.Timeout(f"no whole answer in {self.answer_deadline} s")
        finally:
            response.close()
        # The body read here is the response's content, as requests keeps it.
        response._content = b"".join(chunks)
        expected = response.headers.get("Content-Length", "")
        bodiless = response.request.method == "HEAD" or response.status_code in (204, 304)
        if expected.isdigit() and not bodiless and response.raw.tell() < int(expected):
            raise AnswerCutShort(f"{response.raw.tell()} of {expected} bytes")

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
