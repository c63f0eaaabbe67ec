import contextlib
from unittest.mock import patch

import psycopg2
import requests

from odoo.tests import BaseCase, tagged
from odoo.tools import mute_logger

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job

from ..tools.http_client import AnswerCutShort
from ..tools.transient import backoff_seconds, is_transient, transient_reason
from .common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestTransientClassification(BaseCase):
    def test_remote_faults_are_transient_data_errors_are_not(self):
        for err in (
            requests.ConnectTimeout("connect"),
            requests.ReadTimeout("read"),
            requests.ConnectionError("reset"),
            requests.exceptions.ChunkedEncodingError("cut"),
            AnswerCutShort("12 of 40 bytes"),
        ):
            self.assertTrue(is_transient(err), err)
        for err in (ValueError("bad amount"), KeyError("id"), requests.HTTPError("404")):
            self.assertFalse(is_transient(err), err)
        self.assertTrue(is_transient(RetryableJobError("503"), (RetryableJobError,)))
        self.assertFalse(is_transient(RetryableJobError("503")), "only when the caller says so")

    def test_backoff_grows_is_bounded_and_jittered(self):
        low = [backoff_seconds(attempt, rand=lambda: 0.0) for attempt in range(1, 10)]
        high = [backoff_seconds(attempt, rand=lambda: 1.0) for attempt in range(1, 10)]
        self.assertEqual(low[:4], [15, 30, 60, 120])
        self.assertEqual(high[:4], [30, 60, 120, 240])
        self.assertEqual(high[-1], 3600, "capped")
        self.assertEqual(backoff_seconds(1, floor=90, rand=lambda: 0.0), 90, "Retry-After")
        self.assertEqual(backoff_seconds(1, floor=99999), 3600)


@tagged("post_install", "-at_install")
class TestTransientDatabaseErrors(FinsyncCommon):
    """Real lock and statement timeouts in PostgreSQL while an event is processed."""

    def setUp(self):
        super().setUp()
        self.event = self._ingest(self._payload(("TR-1", "12.00")), external_id="evt_transient")
        self.event._enqueue_processing()
        self.job = self.env["queue.job"].sudo().search([("uuid", "=", self.event.job_uuid)])
        self.fault = None
        self.currency_id = self.env.company.currency_id.id

    @contextlib.contextmanager
    def _row_locked_elsewhere(self):
        """Another connection holds a row lock on the company currency (committed data).

        FOR NO KEY UPDATE: what an update of the row takes; records referring
        to the currency are still created (their foreign key check passes).
        """
        with self.registry.cursor() as other:
            other.execute(
                "SELECT id FROM res_currency WHERE id = %s FOR NO KEY UPDATE", [self.currency_id]
            )
            yield
            other.rollback()

    def _processing_hits(self, fault):
        """Processing first runs ``fault``'s SQL (lock or statement timeout), then books."""
        original = type(self.env["finsync.event"])._process_payload_generic
        cr = self.env.cr
        currency_id = self.currency_id

        def process(event):
            if fault == "lock":
                cr.execute("SET LOCAL lock_timeout = '200ms'")
                cr.execute("SELECT id FROM res_currency WHERE id = %s FOR UPDATE", [currency_id])
            elif fault == "statement":
                cr.execute("SET LOCAL statement_timeout = '100ms'")
                cr.execute("SELECT pg_sleep(2)")
            return original(event)

        return patch.object(type(self.env["finsync.event"]), "_process_payload_generic", process)

    def _run_job(self, retry):
        self.job.retry = retry
        return self.event.with_context(job_uuid=self.job.uuid)._process_job()

    def _exceptions(self):
        return self.env["finsync.exception"].search([("event_id", "=", self.event.id)])

    @mute_logger("odoo.sql_db")
    def test_lock_timeout_is_retried_with_backoff_not_filed(self):
        with self._row_locked_elsewhere(), self._processing_hits("lock"):
            with self.assertRaises(RetryableJobError) as caught:
                self._run_job(retry=0)
            self.assertIsInstance(caught.exception.__cause__, psycopg2.errors.LockNotAvailable)
            self.assertIn("lock timeout (55P03)", str(caught.exception))
            self.assertTrue(15 <= caught.exception.seconds <= 30, caught.exception.seconds)
            with self.assertRaises(RetryableJobError) as caught:
                self._run_job(retry=2)
            self.assertTrue(60 <= caught.exception.seconds <= 120, "the wait grows")
        self.assertEqual(self.event.state, "queued", "not failed: nothing for a person")
        self.assertFalse(self._exceptions())
        self.assertFalse(self.event.transaction_ids)
        # The lock is gone: the next attempt books it, once.
        self._run_job(retry=3)
        self.assertEqual(self.event.state, "done")
        self.assertEqual(len(self.event.transaction_ids), 1)
        self.assertFalse(self._exceptions())

    @mute_logger("odoo.sql_db")
    def test_statement_timeout_is_retried_not_filed(self):
        with self._processing_hits("statement"), self.assertRaises(RetryableJobError) as caught:
            self._run_job(retry=0)
        self.assertIsInstance(caught.exception.__cause__, psycopg2.errors.QueryCanceled)
        self.assertIn("statement timeout (57014)", transient_reason(caught.exception.__cause__))
        self.assertEqual(self.event.state, "queued")
        self.assertFalse(self._exceptions())
        # What the job runner does: the job is postponed, not failed.
        job = Job.load(self.env, self.job.uuid)
        with self._processing_hits("statement"), self.assertRaises(RetryableJobError):
            job.perform()
        self.assertEqual(job.retry, 1)
        Job.load(self.env, self.job.uuid).perform()
        self.assertEqual(self.event.state, "done")
        self.assertEqual(len(self.event.transaction_ids), 1)

    @mute_logger("odoo.sql_db")
    def test_last_transient_attempt_is_a_dead_letter_saying_so(self):
        with self._row_locked_elsewhere(), self._processing_hits("lock"):
            result = self._run_job(retry=self.job.max_retries - 1)
        self.assertIn("Dead after", result)
        self.assertEqual(self.event.state, "dead")
        exception = self._exceptions()
        self.assertEqual(len(exception), 1)
        self.assertIn("transient reason (lock timeout (55P03))", exception.description)
        self.assertFalse(self.event.transaction_ids)

    def test_a_data_error_still_needs_a_person(self):
        bad = self._ingest(self._payload(("TR-2", "1,00")), external_id="evt_bad_amount")
        bad._enqueue_processing()
        job = self.env["queue.job"].sudo().search([("uuid", "=", bad.job_uuid)])
        job.retry = 0
        bad.with_context(job_uuid=job.uuid)._process_job()
        self.assertEqual(bad.state, "failed", "filed at once, not retried")
        exception = self.env["finsync.exception"].search([("event_id", "=", bad.id)])
        self.assertEqual(exception.exception_type, "sync_failed")
        self.assertIn("amount", exception.description)
