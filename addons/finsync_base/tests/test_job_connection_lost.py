from types import SimpleNamespace

import psycopg2

from odoo.tests import TransactionCase, tagged

from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.addons.queue_job.exception import RetryableJobError

from ..controllers.queue_job import FinsyncRunJobController


class _Job:
    """A job whose work fails with ``error``, on a cursor whose connection is
    ``closed`` (psycopg2's flag: 0 open, non-zero once the server is gone)."""

    uuid = "job-connection-lost"

    def __init__(self, error, closed):
        self.error = error
        self.env = SimpleNamespace(
            cr=SimpleNamespace(_cnx=SimpleNamespace(closed=closed), commit=lambda: None),
            flush_all=lambda: None,
        )

    def perform(self):
        raise self.error


@tagged("post_install", "-at_install")
class TestJobConnectionLost(TransactionCase):
    """PostgreSQL restarted under a running job: the job runs again, it does not fail."""

    def _perform(self, error, closed):
        job = _Job(error, closed)
        self.assertTrue(
            issubclass(FinsyncRunJobController, RunJobController), "queue_job's runner calls it"
        )
        return FinsyncRunJobController._try_perform_job(job.env, job)

    def test_queue_jobs_runner_route_runs_through_it(self):
        rules = self.env["ir.http"].routing_map().iter_rules()
        rule = next(rule for rule in rules if rule.rule == "/queue_job/runjob")
        self.assertIsInstance(rule.endpoint.func.__self__, FinsyncRunJobController)

    def test_a_lost_connection_queues_the_job_again(self):
        for error in (
            psycopg2.OperationalError("terminating connection due to administrator command"),
            psycopg2.InterfaceError("connection already closed"),
        ):
            with self.subTest(error=type(error).__name__):
                with (
                    self.assertLogs("odoo.addons.finsync_base", "WARNING") as logs,
                    self.assertRaises(RetryableJobError) as caught,
                ):
                    self._perform(error, closed=2)
                self.assertIs(caught.exception.__cause__, error)
                self.assertIn("lost its database connection", logs.output[0])

    def test_a_failed_statement_on_a_working_connection_keeps_queue_jobs_handling(self):
        error = psycopg2.OperationalError("canceling statement due to statement timeout")
        with self.assertRaises(psycopg2.OperationalError) as caught:
            self._perform(error, closed=0)
        self.assertIs(caught.exception, error)
