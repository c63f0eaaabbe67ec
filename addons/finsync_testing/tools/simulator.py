"""Base of the local API simulators (bank API, Stripe, PayPal).

A simulator serves one API's contract on 127.0.0.1 only, from memory, in a
background thread, and fails on command, so that tests (and the demo of
``setup/run``) exercise throttling, outages and slow answers without any
network. This module owns what they share: the threaded server (a free port
by default, or the one given), JSON answers, the request log and the fault
switches: throttling (429), failures (5xx), slow answers (``delay_next``),
and the faults of a network: a request that never gets an answer
(``hang_next``), an answer cut mid-body (``cut_next``) and a body that
trickles in (``trickle_next``). A subclass names its API's error bodies (``error_body``) and
answers its routes (``route``)::

    class MySimulator(ApiSimulator):
        def error_body(self, kind, status):
            return {"error": kind}

        def route(self, method, path, query, headers, body):
            return 200, {}, {"ok": True}

    sim = MySimulator().start()       # sim.url -> http://127.0.0.1:<port>
    sim.throttle_next(2, retry_after=1)
    sim.fail_next(1, status=503)
    sim.delay_next(1, seconds=2)
    sim.hang_next(1)                  # no answer until stop() or clear_faults()
    sim.cut_next(1, after=2)          # the third request's body is cut in half
    sim.clear_faults()
    sim.stop()

No Odoo imports: the simulators also run alone (``python -m``).
"""

import contextlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# Longest a hung request is held before its connection is dropped.
HANG_LIMIT = 300  # seconds


class ApiSimulator:
    """A JSON API served from memory on 127.0.0.1, with faults on command."""

    # HTTP methods the API answers; others get the server's default 501.
    methods = ("GET", "POST")

    def __init__(self, port=0):
        self.port = port
        self.lock = threading.Lock()
        # [kind, value, remaining, path_part, good requests first, extra headers]
        self._faults = []
        self.requests = []  # (method, path, query)
        self._server = None
        self._thread = None
        # Set to let hung requests go (their connection is dropped unanswered).
        self._release = threading.Event()

    # -- faults ----------------------------------------------------------------
    def throttle_next(self, count, retry_after=1, path_part=""):
        """Answer 429 with ``Retry-After`` to ``count`` requests to paths with ``path_part``."""
        self._faults.append(["throttle", retry_after, count, path_part, 0, {}])

    def fail_next(self, count, status=503, path_part="", after=0, headers=None):
        """Fail ``count`` requests to paths containing ``path_part``, ``after`` good ones."""
        self._faults.append(["fail", status, count, path_part, after, dict(headers or {})])

    def delay_next(self, count, seconds, path_part="", after=0):
        """Answer ``count`` requests to paths containing ``path_part`` ``seconds`` late."""
        self._faults.append(["delay", seconds, count, path_part, after, {}])

    def hang_next(self, count, path_part="", after=0):
        """Accept ``count`` requests and never answer them (until ``clear_faults`` or
        ``stop``, at most ``HANG_LIMIT`` seconds): then drop the connection."""
        self._release.clear()
        self._faults.append(["hang", None, count, path_part, after, {}])

    def cut_next(self, count, path_part="", after=0):
        """Answer ``count`` requests with the full ``Content-Length`` but only half the
        body, then close the connection (a connection cut mid-page)."""
        self._faults.append(["cut", None, count, path_part, after, {}])

    def trickle_next(self, count, seconds, path_part="", after=0):
        """Send the bodies of ``count`` answers in pieces spread over ``seconds``."""
        self._faults.append(["trickle", seconds, count, path_part, after, {}])

    def clear_faults(self):
        """Disarm every fault and let the hung requests go."""
        with self.lock:
            self._faults.clear()
        self._release.set()

    def _take_fault(self, path):
        """The next armed fault for ``path`` as ``(kind, value, headers)``, or None."""
        with self.lock:
            for fault in self._faults:
                if fault[2] > 0 and fault[3] in path:
                    if fault[4] > 0:
                        fault[4] -= 1
                        continue
                    fault[2] -= 1
                    return fault[0], fault[1], fault[5]
        return None

    def error_body(self, kind, status):
        """The JSON body of a simulated ``throttle`` or ``fail`` answer (the API's error shape)."""
        return {"error": "rate_limited" if kind == "throttle" else "unavailable"}

    # -- server ----------------------------------------------------------------
    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self):
        """Serve in a daemon thread on ``self.port`` (0: a free port); returns self."""
        attributes = {"simulator": self}
        attributes.update({f"do_{method}": _Handler.respond for method in self.methods})
        handler = type("Handler", (_Handler,), attributes)
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._release.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def serve_until_interrupted(self, banner):
        """Start, print ``banner`` (``{url}`` is filled in) and serve until Ctrl-C."""
        self.start()
        sys.stdout.write(banner.format(url=self.url) + "\n")
        sys.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.stop()

    # -- requests --------------------------------------------------------------
    def handle(self, method, path, query, headers, body):
        """(status, headers, payload, delivery) for one request: a due fault, else ``route``.

        ``delivery`` says how the answer goes out: None (whole), ``("cut",)``
        or ``("trickle", seconds)``; a hung request raises ``_Dropped``.
        """
        self.requests.append((method, path, query))
        fault = self._take_fault(path)
        delivery = None
        if fault:
            kind, value, extra = fault
            if kind == "throttle":
                retry = {} if value is None else {"Retry-After": str(value)}
                return 429, {**extra, **retry}, self.error_body(kind, 429), None
            if kind == "fail":
                return value, dict(extra), self.error_body(kind, value), None
            if kind == "hang":
                self._release.wait(HANG_LIMIT)
                raise _Dropped
            if kind == "delay":
                time.sleep(value)
            else:
                delivery = (kind, value)
        return (*self.route(method, path, query, headers, body), delivery)

    def route(self, method, path, query, headers, body):
        """(status, headers, payload) of the API's answer; subclasses implement it."""
        raise NotImplementedError


class _Dropped(Exception):
    """A hung request: its connection is closed without an answer."""


class _Handler(BaseHTTPRequestHandler):
    simulator = None

    def respond(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            status, headers, payload, delivery = self.simulator.handle(
                self.command, url.path, parse_qs(url.query), dict(self.headers), body
            )
        except _Dropped:
            self._drop()
            return
        # Raw bytes (a CSV) go as they are, None as an empty body (204), else JSON.
        raw = isinstance(payload, bytes) or payload is None
        data = (payload or b"") if raw else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if not raw or "Content-Type" not in headers:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if delivery and delivery[0] == "cut":
            self.wfile.write(data[: len(data) // 2])
            self._drop()
        elif delivery and delivery[0] == "trickle":
            pieces = 10
            step = max(len(data) // pieces, 1)
            with contextlib.suppress(OSError):  # the client may give up waiting
                for start in range(0, len(data), step):
                    time.sleep(delivery[1] / pieces)
                    self.wfile.write(data[start : start + step])
                    self.wfile.flush()
        else:
            self.wfile.write(data)

    def _drop(self):
        """Close the connection now: what the client reads ends here."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have left first
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format, *args):
        """Quiet: tests and the demo need no access log."""
