"""Standard Webhooks signing (https://www.standardwebhooks.com), and the outbox's retry schedule.

A delivery carries three headers:

- ``webhook-id``: the event's id (the receiver's idempotency key);
- ``webhook-timestamp``: the send time in integer unix seconds;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``,
  keyed with the secret. A secret written ``whsec_<base64>`` (the spec's
  form) is the base64-decoded bytes after the prefix; any other secret is
  its UTF-8 bytes. Several space-separated signatures may be sent while a
  secret is rotated; one valid signature suffices.

No Odoo imports: tested without a database.
"""

import base64
import hashlib
import hmac
import random

SECRET_PREFIX = "whsec_"
TOLERANCE = 300  # seconds a receiver accepts between the timestamp and its clock

# Seconds after the n-th failed attempt before the next one (production default):
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 14 h, 14 h, 14 h: eleven attempts over
# about 2.9 days, then the delivery is dead-lettered.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 50400, 50400)
JITTER = 0.2  # each delay is moved by up to +-10 %, so that retries of a burst spread out


class SignatureError(ValueError):
    """A delivery whose signature is missing, malformed, wrong or out of tolerance."""


def secret_key(secret):
    """The HMAC key of ``secret``: ``whsec_`` + base64 is decoded, anything else is UTF-8."""
    if not secret:
        raise SignatureError("no secret")
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except ValueError as err:
            raise SignatureError("secret is not base64 after whsec_") from err
    return secret.encode()


def sign(secret, msg_id, timestamp, body):
    """The ``webhook-signature`` value of ``body`` (bytes) sent as ``msg_id`` at ``timestamp``."""
    if isinstance(body, str):
        body = body.encode()
    signed = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret, msg_id, timestamp, body):
    """The three Standard Webhooks headers of one delivery."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify(secret, received_headers, body, now, tolerance=TOLERANCE):
    """Check a delivery as a receiver does; return its ``webhook-id`` or raise ``SignatureError``.

    ``received_headers`` is any mapping with lower-case keys; ``now`` in unix seconds.
    """
    msg_id = received_headers.get("webhook-id")
    stamp = received_headers.get("webhook-timestamp")
    signatures = received_headers.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise SignatureError("missing headers")
    try:
        timestamp = int(stamp)
    except ValueError as err:
        raise SignatureError("bad timestamp") from err
    if abs(now - timestamp) > tolerance:
        raise SignatureError("timestamp out of tolerance")
    expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
    for candidate in signatures.split(" "):
        version, _sep, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return msg_id
    raise SignatureError("no matching signature")


def retry_delay(failed_attempts, schedule=RETRY_SCHEDULE, scale=1.0, rng=random):
    """Seconds to wait after ``failed_attempts`` failures, or None when none is left.

    ``scale`` shrinks the whole schedule (a bench-only setting: see the README).
    """
    if failed_attempts < 1 or failed_attempts > len(schedule):
        return None
    base = schedule[failed_attempts - 1] * scale
    return base * (1 - JITTER / 2 + JITTER * rng.random())
