"""Jobs whose database connection was lost are run again, not failed.

When PostgreSQL restarts (a failover, a crash, an upgrade) while a job runs,
the job's statements fail with ``OperationalError`` ("terminating connection
due to administrator command", "server closed the connection unexpectedly")
or ``InterfaceError`` ("connection already closed"), and its transaction is
gone: nothing it did is kept. queue_job retries only the concurrency errors
and marks any other error *Failed* as soon as it can write again, which would
leave, for instance, a connector's inbox job failed and its events waiting for
a person, for an outage of a second. Here such an error becomes a
``RetryableJobError``: the job is queued again (or, when the database is still
down, stays *started* and queue_job's runner finds it dead and queues it again).
A failed statement on a connection that still works is not this case: it keeps
queue_job's own handling.
"""

import logging

import psycopg2

from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.addons.queue_job.exception import RetryableJobError

_logger = logging.getLogger(__name__)

# Seconds before a job whose connection was lost runs again.
CONNECTION_LOST_RETRY = 10


def connection_lost(cr):
    """True when ``cr``'s PostgreSQL connection is closed (lost, not a failed statement)."""
    connection = getattr(cr, "_cnx", None)
    return bool(connection is not None and connection.closed)


class FinsyncRunJobController(RunJobController):
    @classmethod
    def _try_perform_job(cls, env, job):
        try:
            return super()._try_perform_job(env, job)
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as err:
            if not connection_lost(env.cr):
                raise
            _logger.warning(
                "Job %s lost its database connection (%s): queued again in %s s",
                job.uuid,
                type(err).__name__,
                CONNECTION_LOST_RETRY,
            )
            raise RetryableJobError(
                "The database connection was lost while the job ran",
                seconds=CONNECTION_LOST_RETRY,
            ) from err
