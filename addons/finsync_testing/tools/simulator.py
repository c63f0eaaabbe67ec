"""Base of the local API simulators (bank API, Stripe, PayPal).

A simulator serves one API's contract on 127.0.0.1 only, from memory, in a
background thread, and fails on command, so that tests (and the demo of
``setup/run``) exercise throttling, outages and slow answers without any
network. This module owns what they share: the threaded server (a free port
by default, or the one given), JSON answers, the request log and the fault
switches. A subclass names its API's error bodies (``error_body``) and
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
    sim.stop()

No Odoo imports: the simulators also run alone (``python -m``).
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


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

    # -- faults ----------------------------------------------------------------
    def throttle_next(self, count, retry_after=1, path_part=""):
        """Answer 429 with ``Retry-After`` to ``count`` requests to paths with ``path_part``."""
        self._faults.append(["throttle", retry_after, count, path_part, 0, {}])

    def fail_next(self, count, status=503, path_part="", after=0, headers=None):
        """Fail ``count`` requests to paths containing ``path_part``, ``after`` good ones."""
        self._faults.append(["fail", status, count, path_part, after, dict(headers or {})])

    def delay_next(self, count, seconds, path_part=""):
        """Answer ``count`` requests to paths containing ``path_part`` ``seconds`` late."""
        self._faults.append(["delay", seconds, count, path_part, 0, {}])

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
        """(status, headers, payload) for one request: a due fault, else ``route``."""
        self.requests.append((method, path, query))
        fault = self._take_fault(path)
        if fault:
            kind, value, extra = fault
            if kind == "throttle":
                retry = {} if value is None else {"Retry-After": str(value)}
                return 429, {**extra, **retry}, self.error_body(kind, 429)
            if kind == "fail":
                return value, dict(extra), self.error_body(kind, value)
            time.sleep(value)
        return self.route(method, path, query, headers, body)

    def route(self, method, path, query, headers, body):
        """(status, headers, payload) of the API's answer; subclasses implement it."""
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    simulator = None

    def respond(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.simulator.handle(
            self.command, url.path, parse_qs(url.query), dict(self.headers), body
        )
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
        self.wfile.write(data)

    def log_message(self, format, *args):
        """Quiet: tests and the demo need no access log."""
