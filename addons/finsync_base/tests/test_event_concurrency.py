import json
import threading

import psycopg2

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.queue_job.exception import RetryableJobError

from ..models.finsync_backend import INBOX_LOCK

THREADS = 8
DELIVERIES_PER_THREAD = 50


@tagged("post_install", "-at_install")
class TestEventConcurrency(TransactionCase):
    """The same webhook delivered 400 times by 8 workers with their own cursors."""

    def _env(self, cr):
        # Tests run while the registry is loading, under its lock: hand the
        # loaded registry to the cursor instead of letting Environment look it up.
        cr.transaction = api.Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {})

    def setUp(self):
        super().setUp()
        # Data every thread sees must be committed: use real cursors, clean up after.
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self.backend_id = (
                env["finsync.backend"]
                .create({"name": "Concurrency feed", "company_id": env.company.id})
                .id
            )
            self.currency = env.company.currency_id.name
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "DELETE FROM ir_attachment WHERE res_model = 'finsync.event' AND res_id IN "
                "(SELECT id FROM finsync_event WHERE backend_id = %s)",
                [self.backend_id],
            )
            cr.execute(
                "DELETE FROM queue_job WHERE identity_key = %s",
                [f"finsync-inbox-{self.backend_id}"],
            )
            for table in ("finsync_transaction", "finsync_event"):
                cr.execute(f"DELETE FROM {table} WHERE backend_id = %s", [self.backend_id])
            cr.execute("DELETE FROM finsync_backend WHERE id = %s", [self.backend_id])

    def _deliver(self, payload, results, errors):
        for _delivery in range(DELIVERIES_PER_THREAD):
            # What Odoo's request and queue_job retries do on a lost race.
            for _attempt in range(20):
                try:
                    with self.registry.cursor() as cr:
                        env = self._env(cr)
                        backend = env["finsync.backend"].browse(self.backend_id)
                        event = env["finsync.event"]._ingest(
                            backend,
                            [{"payload": payload, "external_id": "evt_storm_1"}],
                        )
                        event.filtered(lambda e: e.state == "received")._process()
                        results.append(event.id)
                    break
                except psycopg2.errors.SerializationFailure:
                    continue
                except Exception as err:  # noqa: BLE001 - reported to the main thread
                    errors.append(repr(err))
                    return

    @mute_logger("odoo.sql_db")  # the lost races are logged as bad queries, then retried
    def test_same_event_from_8_threads_is_stored_and_processed_once(self):
        payload = json.dumps(
            {
                "transactions": [
                    {
                        "external_id": "pi_storm_1",
                        "amount": "19.99",
                        "currency": self.currency,
                        "booking_date": "2026-05-01",
                    }
                ]
            }
        )
        results, errors = [], []
        threads = [
            threading.Thread(target=self._deliver, args=(payload, results, errors))
            for _index in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), THREADS * DELIVERIES_PER_THREAD)
        self.assertEqual(len(set(results)), 1, "every delivery returns the same event")
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM finsync_event WHERE backend_id = %s", [self.backend_id]
            )
            self.assertEqual(cr.fetchone()[0], 1)
            cr.execute(
                "SELECT count(*), min(state) FROM finsync_transaction WHERE backend_id = %s",
                [self.backend_id],
            )
            self.assertEqual(cr.fetchone(), (1, "settled"))
            cr.execute(
                "SELECT count(*) FROM finsync_transaction_transition t "
                "JOIN finsync_transaction x ON x.id = t.transaction_id WHERE x.backend_id = %s",
                [self.backend_id],
            )
            self.assertEqual(cr.fetchone()[0], 1, "one creation, recorded once")

    def _deliver_one(self, cr, external_id):
        """What a webhook request does: store the event and make it join the inbox job."""
        env = self._env(cr)
        backend = env["finsync.backend"].browse(self.backend_id)
        payload = json.dumps({"transactions": []})
        event = env["finsync.event"]._ingest(
            backend, [{"payload": payload, "external_id": external_id}]
        )
        event._enqueue_inbox()
        return event.job_uuid

    @mute_logger("odoo.sql_db")
    def test_runner_cannot_start_an_inbox_job_before_the_events_joining_it_are_committed(self):
        first = self.registry.cursor()
        try:
            job_uuid = self._deliver_one(first, "evt_inbox_1")
            first.commit()
            # A second delivery joins the pending job and is still in flight...
            second = self.registry.cursor()
            try:
                self.assertEqual(self._deliver_one(second, "evt_inbox_2"), job_uuid)
                # ...so the job runner's UPDATE to "enqueued" waits for it.
                with self.registry.cursor() as runner:
                    runner.execute("SET LOCAL lock_timeout = '200ms'")
                    with self.assertRaises(psycopg2.errors.LockNotAvailable):
                        runner.execute(
                            "UPDATE queue_job SET state = 'enqueued' WHERE uuid = %s", [job_uuid]
                        )
                second.commit()
            finally:
                second.close()
            with self.registry.cursor() as runner:
                runner.execute(
                    "UPDATE queue_job SET state = 'enqueued' WHERE uuid = %s", [job_uuid]
                )
            # A delivery after the runner took the job opens the next one.
            third_uuid = self._deliver_one(first, "evt_inbox_3")
            first.commit()
        finally:
            first.close()
        self.assertNotEqual(third_uuid, job_uuid)
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT external_id, state, job_uuid FROM finsync_event"
                " WHERE backend_id = %s ORDER BY id",
                [self.backend_id],
            )
            self.assertEqual(
                cr.fetchall(),
                [
                    ("evt_inbox_1", "queued", job_uuid),
                    ("evt_inbox_2", "queued", job_uuid),
                    ("evt_inbox_3", "queued", third_uuid),
                ],
            )
            # The job the runner started processes the two events that joined it.
            env = self._env(cr)
            backend = env["finsync.backend"].browse(self.backend_id)
            backend.with_context(job_uuid=job_uuid)._process_inbox_job()
            env.flush_all()
            cr.execute(
                "SELECT external_id FROM finsync_event WHERE backend_id = %s AND state = 'done'"
                " ORDER BY id",
                [self.backend_id],
            )
            self.assertEqual([row[0] for row in cr.fetchall()], ["evt_inbox_1", "evt_inbox_2"])

    def test_a_delivery_that_began_before_the_runner_took_the_job_opens_the_next_one(self):
        with self.registry.cursor() as cr:
            job_uuid = self._deliver_one(cr, "evt_inbox_a")
        late = self.registry.cursor()
        try:
            late.execute("SELECT 1")  # the delivery's snapshot starts here...
            with self.registry.cursor() as runner:  # ...then the runner takes the job
                runner.execute(
                    "UPDATE queue_job SET state = 'enqueued' WHERE uuid = %s", [job_uuid]
                )
            # Without a fallback, locking the job row would fail the request
            # (serialization failure) and Odoo would run it again after a pause.
            late_uuid = self._deliver_one(late, "evt_inbox_b")
            late.commit()
        finally:
            late.close()
        self.assertNotEqual(late_uuid, job_uuid)
        with self.registry.cursor() as cr:
            cr.execute("SELECT state FROM queue_job WHERE uuid = %s", [late_uuid])
            self.assertEqual(cr.fetchone(), ("pending",))

    def test_a_duplicate_of_an_event_processed_meanwhile_is_answered_without_a_retry(self):
        with self.registry.cursor() as cr:
            self._deliver_one(cr, "evt_dup_1")
        late = self.registry.cursor()
        try:
            late.execute("SELECT 1")  # the duplicate's snapshot starts here...
            with self.registry.cursor() as job:  # ...then a job processes the original
                job.execute(
                    "UPDATE finsync_event SET state = 'done' WHERE backend_id = %s",
                    [self.backend_id],
                )
            env = self._env(late)
            event = env["finsync.event"]._ingest(
                env["finsync.backend"].browse(self.backend_id),
                [{"payload": "{}", "external_id": "evt_dup_1"}],
            )
            self.assertEqual((event.external_id, event.state), ("evt_dup_1", "queued"))
            late.rollback()
        finally:
            late.close()

    def test_one_inbox_job_of_a_connector_runs_at_a_time(self):
        with self.registry.cursor() as cr:
            job_uuid = self._deliver_one(cr, "evt_one_1")
        with self.registry.cursor() as running, self.registry.cursor() as second:
            # Another inbox job of the connector is running...
            running.execute("SELECT pg_advisory_xact_lock(%s, %s)", [INBOX_LOCK, self.backend_id])
            env = self._env(second)
            backend = env["finsync.backend"].browse(self.backend_id)
            with self.assertRaises(RetryableJobError) as caught:
                backend.with_context(job_uuid=job_uuid)._process_inbox_job()
            # ...so this one waits, without using up one of its attempts.
            self.assertTrue(caught.exception.ignore_retry)
            second.rollback()
            running.rollback()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            backend = env["finsync.backend"].browse(self.backend_id)
            backend.with_context(job_uuid=job_uuid)._process_inbox_job()
            env.flush_all()
            cr.execute("SELECT state FROM finsync_event WHERE backend_id = %s", [self.backend_id])
            self.assertEqual(cr.fetchall(), [("done",)])
