"""A webhook receiver on 127.0.0.1 for ``setup/bench outbox``: verifies, fails on purpose, counts.

It verifies every delivery the Standard Webhooks way (its own HMAC code, not
FinSync's), then fails a share ``fail_rate`` of them, in thirds: a 500, a
timeout (it answers nothing for ``hang_s`` seconds, longer than the sender
waits, then drops the connection) and a connection reset (RST). The others
are accepted (204) and deduplicated by ``webhook-id``; the body's
``data.seq`` (1, 2, 3... per ``subject``) must arrive in order: an accepted
event whose sequence is not the next of its record counts as out of order.

``GET /_stats`` returns the counters and, per event id, the times of its
first attempt and of its acceptance (unix seconds). Run alone::

    python outbox_receiver.py --port 0 --secret whsec_... --fail-rate 0.3

prints ``READY <port>`` once it listens. No Odoo imports.
"""

import argparse
import base64
import hashlib
import hmac
import json
import random
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE = 300


def expected_signature(secret, msg_id, timestamp, body):
    key = (
        base64.b64decode(secret[len("whsec_") :])
        if secret.startswith("whsec_")
        else secret.encode()
    )
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.bad_signatures = 0
        self.failed = {"500": 0, "timeout": 0, "reset": 0}
        self.duplicates = 0
        self.out_of_order = 0
        self.first_attempt = {}
        self.accepted = {}
        self.last_seq = {}

    def as_dict(self):
        with self.lock:
            return {
                "requests": self.requests,
                "bad_signatures": self.bad_signatures,
                "failed": dict(self.failed),
                "duplicates": self.duplicates,
                "out_of_order": self.out_of_order,
                "first_attempt": dict(self.first_attempt),
                "accepted": dict(self.accepted),
            }


def make_handler(secret, fail_rate, hang_s, stats, rng):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _answer(self, status, body=b""):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self):
            if self.path != "/_stats":
                return self._answer(404)
            return self._answer(200, json.dumps(stats.as_dict()).encode())

        def do_POST(self):
            now = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            msg_id = self.headers.get("webhook-id", "")
            stamp = self.headers.get("webhook-timestamp", "0")
            signatures = self.headers.get("webhook-signature", "")
            with stats.lock:
                stats.requests += 1
            valid = stamp.isdigit() and abs(now - int(stamp)) <= TOLERANCE
            expected = expected_signature(secret, msg_id, stamp, body) if valid else ""
            if not valid or not any(
                sig.startswith("v1,") and hmac.compare_digest(sig[3:], expected)
                for sig in signatures.split(" ")
            ):
                with stats.lock:
                    stats.bad_signatures += 1
                return self._answer(401, b"bad signature")
            with stats.lock:
                stats.first_attempt.setdefault(msg_id, now)
                roll = rng.random()
            if roll < fail_rate:
                kind = ("500", "timeout", "reset")[int(roll / fail_rate * 3) % 3]
                with stats.lock:
                    stats.failed[kind] += 1
                if kind == "500":
                    return self._answer(500, b"temporary failure")
                if kind == "timeout":
                    time.sleep(hang_s)
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()
                return None
            document = json.loads(body)
            subject = json.dumps(document.get("subject"), sort_keys=True)
            seq = document.get("data", {}).get("seq")
            with stats.lock:
                if msg_id in stats.accepted:
                    stats.duplicates += 1
                else:
                    stats.accepted[msg_id] = time.time()
                    if seq is not None:
                        if seq != stats.last_seq.get(subject, 0) + 1:
                            stats.out_of_order += 1
                        stats.last_seq[subject] = max(seq, stats.last_seq.get(subject, 0))
            return self._answer(204)

        def finish(self):
            try:
                super().finish()
            except OSError:
                pass  # the connection this handler reset on purpose

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass  # resets and timeouts on purpose


def serve(port, secret, fail_rate, hang_s, seed=13):
    stats = Stats()
    handler = make_handler(secret, fail_rate, hang_s, stats, random.Random(seed))
    server = Server(("127.0.0.1", port), handler)
    return server, stats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--hang", type=float, default=2.0, help="seconds a timeout hangs")
    args = parser.parse_args(argv)
    server, _stats = serve(args.port, args.secret, args.fail_rate, args.hang)
    sys.stdout.write(f"READY {server.server_address[1]}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
