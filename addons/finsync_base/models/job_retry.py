"""A job that failed for a transient reason runs again later, with backoff, then gives up.

queue_job retries a job that raises ``RetryableJobError``, after the seconds
it names, until its ``max_retries``; its controller also retries lost races
(serialization failure, deadlock, lock not available) itself, but every 5
seconds without end and not a statement timeout, which fails the job. FinSync
jobs (event processing, pulls) classify the failure themselves
(``tools/transient.py``) and call ``retry_later``: it raises the
``RetryableJobError`` with an exponential, jittered wait, or, on the last
attempt, returns so that the job records a dead letter saying the failure was
transient (an exception a person replays once the cause cleared).
"""

import logging

from odoo.addons.queue_job.exception import RetryableJobError

from ..tools.transient import backoff_seconds, transient_reason

_logger = logging.getLogger(__name__)


def running_job(env):
    """The ``queue.job`` running now (``job_uuid`` in the context), or an empty record."""
    job_uuid = env.context.get("job_uuid")
    # sudo: the job's own record, for its retry count.
    Job = env["queue.job"].sudo()
    return Job.search([("uuid", "=", job_uuid)], limit=1) if job_uuid else Job


def retry_later(env, err):
    """Raise ``RetryableJobError`` to run the job again after a backoff.

    Returns the number of attempts made instead when this was the job's last
    one: the caller dead-letters what it was doing. Outside a job (nothing to
    count), it always raises. The wait is ``backoff_seconds`` of the attempt,
    at least what the source asked (``Retry-After``) or the error named.
    """
    if isinstance(err, RetryableJobError) and err.ignore_retry:
        raise err
    job = running_job(env)
    attempt = job.retry + 1 if job else 1
    if job and job.max_retries and attempt >= job.max_retries:
        return attempt
    floor = getattr(err, "seconds", None) or getattr(err, "retry_after", None)
    seconds = backoff_seconds(attempt, floor=floor)
    reason = transient_reason(err)
    _logger.info(
        "FinSync job %s: attempt %d failed for a transient reason (%s), again in %d s",
        job.uuid,
        attempt,
        reason,
        seconds,
    )
    raise RetryableJobError(reason, seconds=seconds) from err
