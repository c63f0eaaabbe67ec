"""Which failures are transient (tried again automatically) and how long to wait.

One classification for the inbox, the pulls and their jobs. Transient:

- database errors that leave the connection usable once the transaction (or
  its savepoint) is rolled back, by SQLSTATE: ``40001`` serialization failure,
  ``40P01`` deadlock, ``55P03`` lock not available (``lock_timeout``),
  ``57014`` query canceled (``statement_timeout``);
- a remote API's timeouts, refused or reset connections and answers cut
  short (``REMOTE_TRANSIENT_ERRORS``; the clients of
  ``tools/http_client.py`` turn them, 429 and 5xx into their connector's
  ``transient_errors`` once their own quick retries run out);
- queue_job's ``RetryableJobError``, which the caller passes in ``extra``.

Anything else is a data error (or a bug): it fails the event and opens an
exception for a person, as before.

``backoff_seconds`` is the wait before the next attempt of a job that failed
for a transient reason: exponential, capped, with jitter so that jobs that
failed together do not come back together. No Odoo imports.
"""

import random

import psycopg2
import requests
from psycopg2 import errorcodes

# SQLSTATEs of errors after which the same work can simply run again.
TRANSIENT_PGCODES = {
    errorcodes.SERIALIZATION_FAILURE: "serialization failure",
    errorcodes.DEADLOCK_DETECTED: "deadlock",
    errorcodes.LOCK_NOT_AVAILABLE: "lock timeout",
    errorcodes.QUERY_CANCELED: "statement timeout",
}
TRANSIENT_DB_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.LockNotAvailable,
    psycopg2.errors.QueryCanceled,
)
# A remote API that did not answer, or not whole (connection refused, reset or
# cut mid-body, connect or read timeout).
REMOTE_TRANSIENT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

BACKOFF_BASE = 30  # seconds before the second attempt (on average 3/4 of it)
BACKOFF_CAP = 3600  # seconds: the longest wait between two attempts


def is_transient(err, extra=()):
    """Whether ``err`` is worth trying again later, unchanged (see the module's docstring).

    ``extra``: further exception classes the caller counts as transient (a
    connector's ``transient_errors``, ``RetryableJobError``).
    """
    if isinstance(err, psycopg2.Error):
        return err.pgcode in TRANSIENT_PGCODES
    return isinstance(err, (*REMOTE_TRANSIENT_ERRORS, *extra))


def transient_reason(err):
    """A short reason for messages and logs: no query, value or payload."""
    if isinstance(err, psycopg2.Error) and err.pgcode in TRANSIENT_PGCODES:
        return f"{TRANSIENT_PGCODES[err.pgcode]} ({err.pgcode})"
    return str(err) or type(err).__name__


def backoff_seconds(attempt, floor=None, base=BACKOFF_BASE, cap=BACKOFF_CAP, rand=random.random):
    """Seconds to wait after failed attempt number ``attempt`` (1 for the first).

    ``base * 2**(attempt - 1)``, at most ``cap``, of which the upper half is
    random ("equal jitter"): 15-30 s, 30-60 s, 60-120 s, 120-240 s... ``floor``
    (a source's ``Retry-After``) is waited at least, within the cap.
    """
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    wait = ceiling / 2 + rand() * ceiling / 2
    return int(min(cap, max(wait, float(floor or 0))))
