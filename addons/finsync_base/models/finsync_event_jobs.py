"""How inbound events get to their processing jobs, and what happens to those left behind.

One job per event (replays, files and pulls: ``_enqueue_processing``), or the
connector's inbox job that a storm of webhook deliveries joins
(``_enqueue_inbox``); the job wrapper that retries and dead-letters
(``_process_job``); the cron that recovers events whose job failed or vanished.
"""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import identity_exact

from ..tools.transient import is_transient, transient_reason
from .job_retry import retry_later

_logger = logging.getLogger(__name__)


class FinsyncEvent(models.Model):
    _inherit = "finsync.event"

    def _enqueue_processing(self):
        """Queue one processing job per event on its connector's channel."""
        for event in self:
            job = event.with_delay(
                channel=event._processing_channel(),
                description=self.env._("Process FinSync event %(name)s", name=event.name),
                identity_key=identity_exact,
                max_retries=event.backend_id.max_attempts,
            )._process_job()
            event._write_processing({"state": "queued", "job_uuid": job.uuid})
        return True

    def _enqueue_inbox(self):
        """Queue events a delivery has just stored with their connector's other new events.

        A webhook request calls this in its own transaction. The events join
        the connector's pending inbox job (``finsync.backend._inbox_job_uuid``),
        created when there is none, so one job processes what arrived meanwhile
        together: a storm of deliveries costs a few jobs instead of one each,
        and their statement lines are posted set-based. An event that fails
        there fails alone, as in its own job (see ``_process``).
        """
        for backend, events in self.grouped("backend_id").items():
            job_uuid = backend._inbox_job_uuid()
            # Plain UPDATE: a request must stay cheap, and nothing computed
            # depends on an event's state or job.
            self.env.cr.execute(
                SQL(
                    "UPDATE finsync_event SET state = 'queued', job_uuid = %s, write_uid = %s,"
                    " write_date = now() AT TIME ZONE 'UTC' WHERE id IN %s",
                    job_uuid,
                    self.env.uid,
                    tuple(events.ids),
                )
            )
        self.invalidate_recordset(["state", "job_uuid", "write_uid", "write_date"])
        return True

    @api.model
    def _cron_recover_stranded(self, minutes=15):
        """Events left queued for ``minutes`` by a job that will not process them.

        A job that failed for good (queue_job's *Failed* state): its events
        are dead letters, each with an exception in the queue, to be replayed
        once the cause is fixed. A job that is gone, cancelled, or done
        without them: they get a processing job of their own again.
        """
        before = fields.Datetime.subtract(fields.Datetime.now(), minutes=minutes)
        queued = self.search([("state", "=", "queued"), ("write_date", "<", before)])
        if not queued:
            return
        jobs = {
            job.uuid: job
            for job in self.env["queue.job"]
            .sudo()  # sudo: the cron reads the jobs of the events it recovers
            .search([("uuid", "in", list(set(queued.mapped("job_uuid"))))])
        }
        failed = queued.filtered(
            lambda event: event.job_uuid in jobs and jobs[event.job_uuid].state == "failed"
        )
        lost = queued.filtered(
            lambda event: event.job_uuid not in jobs
            or jobs[event.job_uuid].state in ("done", "cancelled")
        )
        for job_uuid, events in failed.grouped("job_uuid").items():
            job = jobs[job_uuid]
            events._record_failure(
                UserError(
                    self.env._(
                        "Its processing job failed: %(error)s",
                        error=job.exc_message or job.exc_name or job.name,
                    )
                ),
                dead=True,
            )
        if lost:
            _logger.warning("FinSync events %s had lost their job: queued again", lost.ids)
            lost._write_processing({"state": "received"})
            lost._enqueue_processing()

    def _processing_channel(self):
        self.ensure_one()
        return self.backend_id._processing_channel()

    def _process_job(self):
        """Job: process the events; transient failures run again after a backoff.

        A transient failure (``_is_transient_failure``) rolls back the whole
        batch and the job runs again later (``job_retry.retry_later``); on its
        last attempt the events become dead letters, each with an exception
        saying the failure was transient. Data errors fail their event alone,
        at once, with an exception (``_process``).
        """
        try:
            with self.env.cr.savepoint():
                return self._process()
        except Exception as err:  # classified below, else raised as it is
            if not self._is_transient_failure(err):
                raise
            attempts, failure = retry_later(self.env, err), err
        self._record_failure(
            UserError(
                self.env._(
                    "Gave up after %(count)s attempts that failed for a transient reason"
                    " (%(reason)s): the database or the source was busy or unreachable,"
                    " the data may be fine. Replay the event once the cause has cleared.",
                    count=attempts,
                    reason=transient_reason(failure),
                )
            ),
            dead=True,
        )
        return self.env._("Dead after %(count)s attempts", count=attempts)

    def _is_transient_failure(self, err):
        """Whether ``err`` is worth processing again later, unchanged (``tools/transient.py``):
        a lost race, a lock or statement timeout, or the source unreachable."""
        extra = [RetryableJobError]
        for backend in self.backend_id:
            extra.extend(backend._connector_class().transient_errors)
        return is_transient(err, tuple(extra))
