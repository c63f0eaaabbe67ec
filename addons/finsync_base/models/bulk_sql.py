"""Bulk INSERTs whose values must never reach the log.

Odoo's cursor logs a failed query with every parameter, and the bulk paths
carry labels, full account numbers and payloads. ``execute_bulk`` runs them
without that log; a failure becomes an error naming the batch, the constraint
and the column, never a value.
"""

import logging

import psycopg2
from psycopg2 import errorcodes

from odoo.exceptions import UserError

from ..tools.transient import TRANSIENT_DB_ERRORS

_logger = logging.getLogger(__name__)

# Errors that mean "this transaction lost a race": the whole transaction must be
# retried by its caller (Odoo's request retry, queue_job's retry), never swallowed.
CONCURRENCY_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.LockNotAvailable,
)


def execute_bulk(env, batch, query, params=None, keep=()):
    """``env.cr.execute(query, params)`` for a bulk write named ``batch`` in errors.

    Lost races and timeouts (``TRANSIENT_DB_ERRORS``) propagate unchanged
    (the caller retries), and so do the error
    classes in ``keep`` (the caller handles them; their message must quote no
    row); any other database error is logged and raised as a ``UserError``
    with its code, constraint and column only.
    """
    try:
        env.cr.execute(query, params, log_exceptions=False)
    except (*TRANSIENT_DB_ERRORS, *keep):
        raise
    except psycopg2.Error as err:
        diag = err.diag
        problem = ", ".join(
            part
            for part in (
                errorcodes.lookup(err.pgcode) if err.pgcode else type(err).__name__,
                diag.table_name,
                diag.constraint_name,
                diag.column_name,
            )
            if part
        )
        _logger.warning("FinSync bulk write failed: %s (%s)", batch, problem)
        # from None: psycopg2's message quotes the failing row, values included.
        raise UserError(
            env._("%(batch)s could not be stored: %(problem)s", batch=batch, problem=problem)
        ) from None
