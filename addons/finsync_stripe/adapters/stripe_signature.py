"""Verification of Stripe's ``Stripe-Signature`` webhook header.

Contract (as Stripe documents it and stripe-python implements it): the header is
``t=<unix time>,v1=<hex>,v1=<hex>,v0=<hex>...``; each ``v1`` is
HMAC-SHA256(secret, ``"<t>.<raw body>"``) in lowercase hex. A delivery is
authentic when any ``v1`` value equals the HMAC under any of the active secrets
(several during a rotation), compared in constant time, and ``t`` is within
``tolerance`` seconds of now (either side: clocks drift both ways).

``verify(payload, header, secrets, tolerance=300, now=None)`` returns the
timestamp or raises ``SignatureError`` whose ``code`` says why
(``no_secret``, ``malformed``, ``no_v1``, ``mismatch``, ``expired``). With no
secret configured it fails closed. Pure Python: no Odoo import.
"""

import hashlib
import hmac
import time

DEFAULT_TOLERANCE = 300  # seconds, Stripe's own default
SCHEME = "v1"


class SignatureError(ValueError):
    """A delivery whose signature cannot be accepted; ``code`` names the reason."""

    MESSAGES = {
        "no_secret": "No webhook secret is configured",
        "malformed": "Unable to extract timestamp and signatures from header",
        "no_v1": "No signatures found with expected scheme v1",
        "mismatch": "No signatures found matching the expected signature for payload",
        "expired": "Timestamp outside the tolerance zone",
    }

    def __init__(self, code):
        super().__init__(self.MESSAGES[code])
        self.code = code


def sign(payload, secret, timestamp):
    """The ``v1`` value Stripe sends for ``payload`` (bytes) at ``timestamp``."""
    message = str(int(timestamp)).encode() + b"." + payload
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def header_for(payload, secrets, timestamp=None):
    """A ``Stripe-Signature`` header signed with every secret (tests, simulator, bench)."""
    timestamp = int(time.time() if timestamp is None else timestamp)
    values = ",".join(f"{SCHEME}={sign(payload, secret, timestamp)}" for secret in secrets)
    return f"t={timestamp},{values}"


def parse_header(header):
    """``(timestamp, [v1 values])`` of a header; raises ``SignatureError('malformed')``."""
    timestamp, signatures = None, []
    for item in (header or "").split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as err:
                raise SignatureError("malformed") from err
        elif key == SCHEME:
            signatures.append(value.strip())
        elif not key:
            continue
    if timestamp is None:
        raise SignatureError("malformed")
    return timestamp, signatures


def verify(payload, header, secrets, tolerance=DEFAULT_TOLERANCE, now=None):
    """Check a delivery; see the module docstring. Returns the signed timestamp."""
    secrets = [secret for secret in (secrets or ()) if secret]
    if not secrets:
        raise SignatureError("no_secret")
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    timestamp, signatures = parse_header(header)
    if not signatures:
        raise SignatureError("no_v1")
    expected = [sign(payload, secret, timestamp).encode() for secret in secrets]
    # Every pair is compared, so the time taken does not tell which one matched.
    matched = False
    for signature in signatures:
        candidate = signature.encode("ascii", errors="replace")
        for good in expected:
            matched |= hmac.compare_digest(candidate, good)
    if not matched:
        raise SignatureError("mismatch")
    if tolerance is not None:
        current = time.time() if now is None else now
        if abs(current - timestamp) > tolerance:
            raise SignatureError("expired")
    return timestamp


def split_secrets(text):
    """The active secrets of a backend field: one per line (or comma separated)."""
    return [part.strip() for part in (text or "").replace(",", "\n").splitlines() if part.strip()]
