"""Remote outages that every pulling connector's tests run (issue 15).

A source that hangs (accepts the request, never answers), answers slowly, or
cuts the connection in the middle of a page: the pull fails within the
configured timeouts instead of hanging, resumes from its watermark once the
fault clears, and the events and transactions then equal the source's:
nothing lost, nothing repeated.

Mix ``RemoteFaultsMixin`` into a connector's pull test case (before the
case's class) and define on it:

- ``self.sim``: the connector's simulator (``finsync_testing/tools``), started;
- ``fault_backend``: the pulling connector, pointed at ``self.sim``;
- ``fault_path``: a part of the path of the paged resource, ``fault_after``:
  how many requests to it go through before the fault (the first page);
- ``fault_add_source()``: put several pages of records into the source;
- ``fault_expected()``: ``(events, transactions)`` a pull of the whole source
  stores; ``fault_counts()``: the same, counted in Odoo for the connector;
- ``fault_overlap_events``: events a pull from the watermark stores again by
  design (Stripe reads the watermark's second again), transactions unchanged.
"""

import time
from contextlib import contextmanager
from unittest.mock import patch

from odoo.addons.queue_job.exception import RetryableJobError

from ..components.connector import PARAM_CONNECT_TIMEOUT, PARAM_READ_TIMEOUT
from ..tools.http_client import RetryingHttpClient

READ_TIMEOUT = 1.0  # seconds, set for these tests through the system parameter
# The real clock, held where freezegun (some connectors' tests freeze time) does not patch it.
_CLOCK = {"monotonic": time.monotonic}


class RemoteFaultsMixin:
    # Odoo's test loader runs the tests a case defines itself, and these when told.
    allow_inherited_tests_method = True
    fault_path = ""
    fault_after = 1
    fault_overlap_events = 0

    @contextmanager
    def short_timeouts(self):
        """Timeouts of one second; the client's quick retries do not sleep (they still count)."""
        params = self.env["ir.config_parameter"].sudo()
        params.set_param(PARAM_CONNECT_TIMEOUT, "1")
        params.set_param(PARAM_READ_TIMEOUT, str(READ_TIMEOUT))
        with patch.object(RetryingHttpClient, "_backoff", return_value=0):
            yield

    def test_a_hanging_source_fails_the_pull_within_the_timeout(self):
        self.fault_add_source()
        watermark = self.fault_backend._connector().watermark()
        self.sim.hang_next(100, path_part=self.fault_path)
        with self.short_timeouts():
            started = _CLOCK["monotonic"]()
            with self.assertRaises(RetryableJobError) as caught, self.env.cr.savepoint():
                self.fault_backend._pull_job()
            elapsed = _CLOCK["monotonic"]() - started
        self.assertIn("ReadTimeout", str(caught.exception))
        # Four attempts (the client's three quick retries) of one read timeout each.
        self.assertLess(elapsed, 4 * READ_TIMEOUT + 6, "failed within the timeouts, no hang")
        self.assertTrue(caught.exception.seconds, "retried later, with a backoff")
        self.assertEqual(self.fault_backend._connector().watermark(), watermark)
        self.sim.clear_faults()
        with self.short_timeouts():
            self.fault_backend._pull_job()
        self.assertEqual(self.fault_counts(), self.fault_expected(), "nothing lost")

    def test_cut_mid_page_and_slow_answers_lose_and_repeat_nothing(self):
        self.fault_add_source()
        watermark = self.fault_backend._connector().watermark()
        # Pull Now keeps what the pages before the cut stored (it commits); the
        # connection is cut in the middle of the next page, on every attempt.
        self.sim.cut_next(100, path_part=self.fault_path, after=self.fault_after)
        with self.short_timeouts():
            result = self.fault_backend._pull_now()
        self.assertEqual(result["state"], "failed")
        self.assertIn("AnswerCutShort", result["message"])
        self.assertEqual(self.fault_backend._connector().watermark(), watermark, "not moved")
        self.assertLess(self.fault_counts()[1], self.fault_expected()[1])
        self.sim.clear_faults()
        # Slow answers, within the read timeout, are waited for.
        self.sim.delay_next(2, READ_TIMEOUT / 2, path_part=self.fault_path)
        with self.short_timeouts():
            result = self.fault_backend._pull_now()
        self.assertEqual(result["state"], "done", result["message"])
        self.assertEqual(self.fault_counts(), self.fault_expected(), "nothing lost or doubled")
        events, transactions = self.fault_expected()
        for _pull in range(2):
            with self.short_timeouts():
                self.fault_backend._pull_now()
            self.assertEqual(
                self.fault_counts(),
                (events + self.fault_overlap_events, transactions),
                "nothing repeated",
            )

    def test_a_pull_that_keeps_failing_says_so_after_its_last_attempt(self):
        self.fault_add_source()
        self.sim.fail_next(100, status=503, path_part=self.fault_path)
        job = self.fault_backend._enqueue_pull().db_record()
        job.retry = job.max_retries - 2
        backend = self.fault_backend.with_context(job_uuid=job.uuid)
        with self.short_timeouts(), self.assertRaises(RetryableJobError):
            backend._pull_job()
        job.retry = job.max_retries - 1
        with self.short_timeouts():
            message = backend._pull_job()
        self.assertIn("transient reason", message)
        self.assertEqual(self.fault_backend.health, "error")
        exception = self.env["finsync.exception"].search(
            [("backend_id", "=", self.fault_backend.id), ("exception_type", "=", "sync_failed")]
        )
        self.assertEqual(len(exception), 1)
        self.assertIn("HTTP 503", exception.description)
        self.assertEqual(self.fault_counts()[1], 0, "nothing half-pulled")
