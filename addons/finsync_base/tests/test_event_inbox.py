from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job

from .common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestEventInbox(FinsyncCommon):
    def test_duplicates_return_the_stored_event(self):
        payload = self._payload(("D-1", "5.00"))
        first = self._ingest(payload, external_id="evt_1")
        again = self.env["finsync.event"]._ingest(
            self.backend,
            [
                {"payload": payload, "external_id": "evt_1"},
                {"payload": "other bytes", "external_id": "evt_1"},
                {"payload": payload},
                {"payload": payload},
            ],
        )
        self.assertEqual(again[0], first)
        self.assertEqual(again[1], first, "the external id is the key, whatever the bytes")
        self.assertEqual(again[2], again[3], "without an id, the content hash is the key")
        self.assertNotEqual(again[2], first)
        self.assertEqual(
            self.env["finsync.event"].search_count([("backend_id", "=", self.backend.id)]), 2
        )
        self.assertTrue(again[2].dedup_key.startswith("sha256:"))

    def test_payload_correlation_and_lineage(self):
        event = self.env["finsync.event"]._ingest(
            self.backend,
            [
                {
                    "payload": self._payload(("L-1", "42.00")),
                    "external_id": "evt_lineage",
                    "correlation_id": "corr-123",
                    "filename": "feed.json",
                }
            ],
        )
        self.assertEqual(event.state, "received")
        self.assertEqual(event.payload_filename, "feed.json")
        self.assertEqual(event.company_id, self.backend.company_id)
        self.assertIn(b'"L-1"', event._get_raw_payload())
        event._process()
        self.assertEqual(event.state, "done")
        tx = event.transaction_ids
        self.assertEqual(tx.correlation_id, "corr-123")
        self.assertEqual(tx.event_id, event)
        self.assertIn('"L-1"', tx.with_user(self.accountant_user).payload_text)
        self.assertTrue(self.backend.last_sync_date)
        self.assertEqual(self.backend.health, "ok")

    def test_bad_payload_writes_nothing_and_opens_one_exception(self):
        payload = self._payload(("OK-1", "1.00"), ("BAD-1", "2.00"))
        payload = payload.replace('"2.00"', '"2,00"')
        event = self._ingest(payload, external_id="evt_bad")
        event._process()
        self.assertEqual(event.state, "failed")
        self.assertIn("transactions[1].amount", event.last_error)
        self.assertFalse(
            self.env["finsync.transaction"].search([("backend_id", "=", self.backend.id)]),
            "no transaction of a failed event is kept",
        )
        exception = self.env["finsync.exception"].search([("event_id", "=", event.id)])
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.exception_type, "sync_failed")
        self.assertIn("transactions[1].amount", exception.description)
        # Failing again counts a recurrence on the same open exception.
        event.sudo().state = "received"
        event._process()
        self.assertEqual(
            self.env["finsync.exception"].search_count([("event_id", "=", event.id)]), 1
        )
        self.assertEqual(exception.occurrence_count, 2)
        self.assertEqual(self.backend.health, "error")

    def test_unknown_currency_is_named(self):
        payload = self._payload(("CUR-1", "1.00")).replace(f'"{self.currency_code}"', '"XYZ"')
        event = self._ingest(payload)
        event._process()
        self.assertEqual(event.state, "failed")
        self.assertIn("XYZ", event.last_error)

    def test_replay_is_for_managers_and_duplicates_nothing(self):
        event = self._ingest(self._payload(("R-1", "9.99"), ("R-2", "1.01")))
        event._process()
        with self.assertRaises(AccessError):
            event.with_user(self.accountant_user).action_replay()
        event.with_user(self.manager_user).with_context(finsync_process_now=True).action_replay()
        event.with_user(self.manager_user).with_context(finsync_process_now=True).action_replay()
        self.assertEqual(event.state, "done")
        self.assertEqual(event.replay_count, 2)
        self.assertEqual(
            self.env["finsync.transaction"].search_count([("backend_id", "=", self.backend.id)]),
            2,
        )

    def test_processing_is_enqueued_on_the_connector_channel(self):
        event = self._ingest(self._payload(("J-1", "3.00")))
        event._enqueue_processing()
        self.assertEqual(event.state, "queued")
        job = self.env["queue.job"].sudo().search([("uuid", "=", event.job_uuid)])
        self.assertEqual(len(job), 1)
        self.assertEqual(job.method_name, "_process_job")
        self.assertEqual(job.channel, "root.finsync.generic")
        self.assertEqual(job.max_retries, self.backend.max_attempts)
        self.assertEqual(job.records.ids, event.ids)
        self.assertEqual(job.state, "pending")
        # What the job runner does.
        Job.load(self.env, job.uuid).perform()
        self.assertEqual(event.state, "done")
        self.assertEqual(len(event.transaction_ids), 1)

    def test_transient_failures_are_retried_then_dead_lettered(self):
        event = self._ingest(self._payload(("T-1", "3.00")))
        job_model = self.env["queue.job"].sudo()
        event._enqueue_processing()
        job = job_model.search([("uuid", "=", event.job_uuid)])
        self.assertEqual(event.job_id, job)

        def flaky(record):
            raise RetryableJobError("bank API answered 503")

        with self.patch_processing(flaky):
            job.retry = 0
            with self.assertRaises(RetryableJobError):
                event.with_context(job_uuid=job.uuid)._process_job()
            self.assertNotEqual(event.state, "dead")
            job.retry = job.max_retries - 1
            event.with_context(job_uuid=job.uuid)._process_job()
        self.assertEqual(event.state, "dead")
        exception = self.env["finsync.exception"].search([("event_id", "=", event.id)])
        self.assertEqual(exception.exception_type, "sync_failed")
        self.assertIn("503", event.last_error)

    def patch_processing(self, func):
        return patch.object(type(self.env["finsync.event"]), "_process_payload_generic", func)

    def test_a_long_storm_is_split_over_inbox_jobs(self):
        """One inbox job takes at most INBOX_BATCH events; the rest go to the next job."""
        events = self.env["finsync.event"]
        for index in range(3):
            event = self._ingest(self._payload((f"S-{index}", "1.00")), external_id=f"evt_s{index}")
            event._enqueue_inbox()
            events |= event
        first_uuid = events[0].job_uuid
        self.assertEqual(set(events.mapped("job_uuid")), {first_uuid})
        with patch("odoo.addons.finsync_base.models.finsync_backend.INBOX_BATCH", 2):
            Job.load(self.env, first_uuid).perform()
        self.assertEqual(events.mapped("state"), ["done", "done", "queued"])
        rest = events[2]
        self.assertNotEqual(rest.job_uuid, first_uuid)
        next_job = self.env["queue.job"].sudo().search([("uuid", "=", rest.job_uuid)])
        self.assertEqual(next_job.state, "pending")
        Job.load(self.env, next_job.uuid).perform()
        self.assertEqual(rest.state, "done")
        self.assertEqual(
            self.env["finsync.transaction"].search_count([("backend_id", "=", self.backend.id)]), 3
        )

    def _stranded(self, external_id):
        event = self._ingest(self._payload((external_id, "3.00")), external_id=external_id)
        event._enqueue_inbox()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE finsync_event SET write_date = now() - interval '1 hour' WHERE id = %s",
            [event.id],
        )
        event.invalidate_recordset()
        return event

    def test_events_of_a_failed_job_become_dead_letters_with_an_exception(self):
        event = self._stranded("evt_stranded_1")
        job = self.env["queue.job"].sudo().search([("uuid", "=", event.job_uuid)])
        job.write({"state": "failed", "exc_message": "worker killed after 600 s"})
        self.env["finsync.event"]._cron_recover_stranded()
        self.assertEqual(event.state, "dead")
        self.assertIn("worker killed after 600 s", event.last_error)
        self.assertTrue(
            self.env["finsync.exception"].search([("event_id", "=", event.id)]),
            "the dead letter waits in the exception queue",
        )

    def test_events_whose_job_vanished_are_queued_again(self):
        event = self._stranded("evt_stranded_2")
        old_uuid = event.job_uuid
        self.env["queue.job"].sudo().search([("uuid", "=", old_uuid)]).state = "cancelled"
        fresh = self._stranded("evt_stranded_3")
        self.env["queue.job"].sudo().search([("uuid", "=", fresh.job_uuid)]).unlink()
        recent = self._ingest(self._payload(("R-1", "1.00")), external_id="evt_recent")
        recent._enqueue_inbox()
        recent_uuid = recent.job_uuid
        self.env["finsync.event"]._cron_recover_stranded()
        for stranded in (event, fresh):
            self.assertEqual(stranded.state, "queued")
            job = self.env["queue.job"].sudo().search([("uuid", "=", stranded.job_uuid)])
            self.assertEqual(job.state, "pending")
            self.assertNotEqual(stranded.job_uuid, old_uuid)
        self.assertEqual(
            (recent.state, recent.job_uuid), ("queued", recent_uuid), "a recent event waits"
        )
