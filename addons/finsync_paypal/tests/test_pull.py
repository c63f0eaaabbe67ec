import datetime
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.finsync_base.tests.remote_faults import RemoteFaultsMixin
from odoo.addons.finsync_testing.tools.paypal_simulator import demo_simulator
from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.paypal_api import PayPalClient
from .common import CLIENT_ID, CLIENT_SECRET, PayPalCommon

NOW = "2026-03-31 12:00:00"
UTC = datetime.UTC


@tagged("post_install", "-at_install")
class TestPayPalPull(PayPalCommon):
    def setUp(self):
        super().setUp()
        self.sim = self.start_simulator(page_size=500)
        self.sim.clock = datetime.datetime(2026, 3, 10, tzinfo=UTC)

    def _searches(self):
        return [q for _m, p, q in self.sim.requests if p == "/v1/reporting/transactions"]

    @freeze_time(NOW)
    def test_pull_after_the_demo_story_books_nothing_again(self):
        """The demo data and the simulator setup/run serves tell one story with one set of
        ids: Pull Now books nothing a second time."""
        self.assertEqual(
            [d["transaction_info"]["transaction_id"] for d in demo_simulator().transactions],
            [d["transaction_info"]["transaction_id"] for d in demo_simulator().transactions],
        )
        sim = demo_simulator()
        sim.client_id, sim.client_secret = CLIENT_ID, CLIENT_SECRET
        sim.start()
        self.addCleanup(sim.stop)
        self.paypal.write({"api_url": sim.url, "paypal_first_pull_days": 120})
        self.paypal._load_paypal_demo_data()
        told = self.transactions()
        self.assertEqual(len(told), len(sim.transactions))
        for _pull in range(2):
            self.paypal._pull_job()
            self.assertEqual(self.paypal.health, "ok", self.paypal.last_error)
            self.assertEqual(self.transactions(), told, "no new transactions")

    @freeze_time(NOW)
    def test_first_pull_reads_windows_pages_and_books_once(self):
        self.paypal.paypal_first_pull_days = 60
        for index in range(30):
            self.sim.add_payment(f"{20 + index}.00", self.code, invoice=f"PP-{index}")
        with patch.object(PayPalClient, "__init__", _small_pages(PayPalClient.__init__)):
            self.paypal._pull_job()
        searches = self._searches()
        starts = sorted({q["start_date"][0] for q in searches})
        self.assertEqual(len(starts), 2, "60 days in two windows of at most 31")
        self.assertEqual(len(self.transactions(kind="charge")), 30)
        self.assertEqual(len(self.journal_total()[1]), 60, "gross and fee of each payment")
        self.assertEqual(self.paypal.health, "ok")
        self.assertEqual(str(self.paypal.paypal_watermark), NOW)
        self.sim.refresh_lag = datetime.timedelta(hours=2)
        with freeze_time("2026-04-01 12:00:00"):
            self.paypal._pull_job()
        self.assertEqual(
            str(self.paypal.paypal_watermark), "2026-04-01 10:00:00", "as far as PayPal had data"
        )
        self.assertIn(self.code, self.paypal.paypal_balances)
        total, _lines = self.journal_total()
        balance = self.sim.balances()[self.code]
        self.assertEqual(self.currency.compare_amounts(total, float(balance)), 0, "books = PayPal")

    @freeze_time(NOW)
    def test_next_pull_starts_at_the_watermark_less_the_look_back(self):
        self.sim.add_payment("10.00", self.code)
        self.paypal._pull_job()
        before = len(self._searches())
        self.assertEqual(self.paypal.paypal_lookback_hours, 3)
        self.paypal.paypal_lookback_hours = 24
        with freeze_time("2026-04-02 12:00:00"):
            self.paypal._pull_job()
        [query] = self._searches()[before:]
        self.assertEqual(query["start_date"], ["2026-03-30T12:00:00Z"])
        self.assertEqual(query["end_date"], ["2026-04-02T12:00:00Z"])
        self.assertEqual(len(self.transactions()), 1, "the page read again books nothing")

    @freeze_time(NOW)
    def test_pending_payment_is_booked_when_it_completes(self):
        payment = self.sim.add_payment("80.00", self.code, status="P")
        self.paypal._pull_job()
        tx = self.transactions()
        self.assertEqual((tx.state, bool(tx.statement_line_id)), ("acknowledged", False))
        self.assertEqual(len(self.journal_total()[1]), 0, "not in the balance yet")
        payment["transaction_info"]["transaction_status"] = "S"
        # Days later: the payment's day is long before the next pull's range.
        with freeze_time("2026-04-06 12:00:00"):
            self.paypal._pull_job()
        by_id = [q for q in self._searches() if q.get("transaction_id")]
        self.assertEqual(by_id[-1]["transaction_id"], [tx.external_id], "asked by id")
        self.assertEqual(tx.state, "settled")
        self.assertEqual(tx.statement_line_id.amount, 80.0)
        self.assertEqual(len(self.journal_total()[1]), 2)

    @freeze_time(NOW)
    def test_outage_mid_pull_resumes_from_the_watermark(self):
        for index in range(25):
            self.sim.add_payment(f"{30 + index}.00", self.code)
        self.paypal.paypal_first_pull_days = 60
        # The first window comes through, then PayPal fails for good.
        self.sim.fail_next(50, status=500, path_part="/reporting", after=1)
        with (
            patch.object(PayPalClient, "_backoff", return_value=0),
            self.assertRaises(RetryableJobError),
            self.env.cr.savepoint(),  # the job's transaction rolls back
        ):
            self.paypal._pull_job()
        self.assertFalse(self.transactions())
        self.assertFalse(self.paypal.paypal_watermark)
        self.sim._faults.clear()
        self.paypal._pull_job()
        self.assertEqual(len(self.transactions()), 25)
        self.paypal._pull_job()
        self.assertEqual(len(self.transactions()), 25, "nothing lost, nothing doubled")
        self.assertEqual(len(self.journal_total()[1]), 50)

    @freeze_time(NOW)
    def test_throttling_is_waited_for_and_expired_tokens_renewed(self):
        self.sim.add_payment("12.00", self.code)
        self.sim.throttle_next(1, retry_after=0, path_part="/reporting/transactions")
        self.sim.token_ttl = 1
        self.paypal._pull_job()
        self.assertEqual(len(self.transactions()), 1)
        self.sim.expire_tokens()
        self.paypal._pull_job()
        self.assertEqual(self.paypal.health, "ok")

    @freeze_time(NOW)
    def test_refused_credentials_open_an_exception(self):
        self.paypal.sudo().client_secret = "revoked-secret"
        self.paypal._pull_job()
        self.assertEqual(self.paypal.health, "error")
        exception = self.env["finsync.exception"].search(
            [("backend_id", "=", self.paypal.id), ("exception_type", "=", "sync_failed")]
        )
        self.assertEqual(len(exception), 1)
        self.assertIn("POST /v1/oauth2/token: HTTP 401", exception.description)
        self.assertNotIn("revoked-secret", exception.description)

    def test_scheduled_pull_is_queued_once_on_the_paypal_channel(self):
        self.paypal.write({"sync_policy": "scheduled"})
        self.env["finsync.backend"]._cron_pull_due()
        self.env["finsync.backend"]._cron_pull_due()
        jobs = (
            self.env["queue.job"]
            .sudo()
            .search([("method_name", "=", "_pull_job"), ("model_name", "=", "finsync.backend")])
            .filtered(lambda job: job.records == self.paypal)
        )
        self.assertEqual(len(jobs), 1, "the same pull is not queued twice")
        self.assertEqual(jobs.channel, "root.finsync.paypal")


def _small_pages(init):
    def wrapper(self, *args, **kwargs):
        kwargs["page_size"] = 7
        init(self, *args, **kwargs)

    return wrapper


@tagged("post_install", "-at_install")
class TestPayPalRemoteFaults(RemoteFaultsMixin, PayPalCommon):
    """PayPal hangs, answers slowly or cuts a page of transactions short."""

    fault_path = "/v1/reporting/transactions"
    fault_after = 2  # the first window's (empty) page, then the second window's first

    def setUp(self):
        super().setUp()
        frozen = freeze_time(NOW)
        frozen.start()
        self.addCleanup(frozen.stop)
        small = patch.object(PayPalClient, "__init__", _small_pages(PayPalClient.__init__))
        small.start()
        self.addCleanup(small.stop)
        self.sim = self.start_simulator()
        self.sim.clock = datetime.datetime(2026, 3, 10, tzinfo=UTC)
        self.paypal.paypal_first_pull_days = 60
        self.fault_backend = self.paypal

    def fault_add_source(self):
        for index in range(25):  # four pages of 7
            self.sim.add_payment(f"{30 + index}.00", self.code)

    def fault_expected(self):
        return 4, len(self.sim.transactions)

    def fault_counts(self):
        domain = [("backend_id", "=", self.paypal.id)]
        return (
            self.env["finsync.event"].search_count([*domain, ("event_type", "=", "transactions")]),
            self.env["finsync.transaction"].search_count(domain),
        )
