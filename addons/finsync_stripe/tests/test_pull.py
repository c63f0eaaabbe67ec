from unittest.mock import Mock, patch

import requests

from odoo.exceptions import AccessError
from odoo.tests import BaseCase, tagged

from odoo.addons.finsync_base.tests.remote_faults import RemoteFaultsMixin
from odoo.addons.finsync_testing.tools.stripe_simulator import StripeSimulator
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job

from ..adapters.stripe_api import API_VERSION, StripeApiError, StripeClient, StripeTransientError
from .common import API_KEY, StripeCommon


@tagged("post_install", "-at_install")
class TestStripeClient(BaseCase):
    def setUp(self):
        super().setUp()
        self.sim = StripeSimulator(api_key=API_KEY).start()
        self.addCleanup(self.sim.stop)
        self.sleeps = []
        self.client = StripeClient(API_KEY, self.sim.url, sleep=self.sleeps.append, page_limit=20)

    def test_pages_with_starting_after_and_expanded_sources(self):
        for index in range(45):
            self.sim.add_charge(1000 + index, "usd")
        pages = list(self.client.balance_transaction_pages())
        self.assertEqual([len(p["data"]) for p in pages], [20, 20, 5])
        ids = [bt["id"] for page in pages for bt in page["data"]]
        self.assertEqual(len(set(ids)), 45, "no transaction twice, none missed")
        self.assertEqual(pages[0]["data"][0]["source"]["object"], "charge", "source expanded")
        queries = [query for _m, _p, query in self.sim.requests]
        self.assertNotIn("starting_after", queries[0])
        self.assertEqual(queries[1]["starting_after"], [pages[0]["data"][-1]["id"]])
        self.assertEqual(queries[0]["expand[]"], ["data.source"])

    def test_api_version_is_pinned_on_every_request(self):
        session = Mock()
        session.get.return_value = Mock(
            status_code=200, json=lambda: {"data": [], "has_more": False}
        )
        list(StripeClient(API_KEY, "http://x", session=session).balance_transaction_pages())
        self.assertEqual(session.get.call_args.kwargs["headers"]["Stripe-Version"], API_VERSION)
        self.assertEqual(session.get.call_args.kwargs["timeout"], 30)

    def test_throttling_waits_as_the_server_says(self):
        self.sim.add_charge(1000, "usd")
        self.sim.throttle_next(2, retry_after=7)
        [page] = self.client.balance_transaction_pages()
        self.assertEqual(len(page["data"]), 1)
        self.assertEqual(self.sleeps, [7.0, 7.0])

    def test_outages_back_off_then_become_transient(self):
        self.sim.fail_next(1, status=503)
        self.assertEqual(next(iter(self.client.balance_transaction_pages()))["data"], [])
        self.assertEqual(self.sleeps, [1])
        self.sim.fail_next(10, status=500)
        with self.assertRaises(StripeTransientError) as caught:
            list(self.client.balance_transaction_pages())
        self.assertEqual(caught.exception.status, 500)
        self.assertEqual(self.sleeps, [1, 1, 2, 4], "three retries, backing off")

    def test_stripe_should_retry_false_is_not_retried(self):
        self.sim.fail_next(1, status=503, should_retry=False)
        with self.assertRaises(StripeTransientError):
            list(self.client.balance_transaction_pages())
        self.assertEqual(self.sleeps, [])

    def test_refusals_are_not_retried_and_never_show_the_key(self):
        client = StripeClient("sk_test_wrong_key", self.sim.url, sleep=self.sleeps.append)
        with self.assertRaises(StripeApiError) as caught:
            list(client.balance_transaction_pages())
        self.assertNotIsInstance(caught.exception, StripeTransientError)
        self.assertEqual(caught.exception.status, 401)
        self.assertNotIn("sk_test_wrong_key", str(caught.exception))
        self.assertEqual(self.sleeps, [])

    def test_timeouts_are_transient(self):
        session = Mock()
        session.get.side_effect = requests.Timeout("read timed out")
        client = StripeClient(API_KEY, self.sim.url, session=session, sleep=self.sleeps.append)
        with self.assertRaises(StripeTransientError):
            client.payout("po_1")
        self.assertEqual(session.get.call_count, 4)


@tagged("post_install", "-at_install")
class TestStripePull(StripeCommon):
    def setUp(self):
        super().setUp()
        self.sim = self.start_simulator()

    def test_pull_is_incremental_and_idempotent(self):
        for index in range(130):
            self.sim.add_charge(1000 + index, self.code)
        self.stripe._pull_job()
        self.assertEqual(len(self.transactions(kind="charge")), 130)
        self.assertEqual(len(self.journal_total()[1]), 260, "gross and fee of each charge")
        watermark = self.stripe.stripe_watermark
        self.assertEqual(watermark, self.sim.balance_transactions[-1]["created"])
        self.assertEqual(self.stripe.health, "ok")
        requests_before = len(self.sim.requests)
        self.stripe._pull_job()
        self.assertEqual(len(self.sim.requests) - requests_before, 1, "only from the watermark")
        self.assertEqual(
            self.sim.requests[-1][2]["created[gte]"], [str(watermark)], "resumes at the watermark"
        )
        self.assertEqual(len(self.journal_total()[1]), 260, "nothing booked twice")
        self.sim.add_refund(self.sim.balance_transactions[0]["source"], 500)
        self.stripe._pull_job()
        self.assertEqual(len(self.transactions(kind="refund")), 1)
        self.assertEqual(len(self.journal_total()[1]), 261)

    def test_outage_mid_pull_resumes_from_the_watermark(self):
        for index in range(250):
            self.sim.add_charge(1000 + index, self.code)
        # The first page comes through, then Stripe fails for good.
        self.sim.fail_next(50, status=500, after=1)
        with (
            patch.object(StripeClient, "_backoff", return_value=0),
            self.assertRaises(RetryableJobError),
            self.env.cr.savepoint(),  # the job's transaction rolls back
        ):
            self.stripe._pull_job()
        self.assertFalse(self.transactions())
        self.assertFalse(self.stripe.stripe_watermark)
        self.sim._faults.clear()
        self.stripe._pull_job()
        self.assertEqual(len(self.transactions()), 250)
        self.stripe._pull_job()
        self.assertEqual(len(self.transactions()), 250, "nothing lost, nothing doubled")

    def test_refused_key_opens_an_exception(self):
        self.stripe.sudo().api_key = "sk_test_revoked"
        self.stripe._pull_job()
        self.assertEqual(self.stripe.health, "error")
        exception = self.env["finsync.exception"].search(
            [("backend_id", "=", self.stripe.id), ("exception_type", "=", "sync_failed")]
        )
        self.assertEqual(len(exception), 1)
        self.assertIn("401", exception.description)
        self.assertNotIn("sk_test_revoked", exception.description)

    def test_pull_loads_what_each_payout_paid_out(self):
        for amount in (10000, 2500, 7000):
            self.sim.add_charge(amount, self.code)
        payout = self.sim.add_payout(self.code)
        self.stripe._pull_job()
        settlement = self.env["finsync.settlement"].search([("name", "=", payout["id"])])
        self.assertTrue(settlement.composition_loaded)
        self.assertEqual(settlement.transaction_count, 3)
        self.assertEqual(settlement.charge_ids, self.transactions(kind="charge"))
        self.assertEqual(
            settlement.currency_id.compare_amounts(settlement.net_amount, payout["amount"] / 100), 0
        )
        self.assertEqual(
            settlement.fee_amount, sum(bt["fee"] for bt in self.sim.balance_transactions) / 100
        )
        self.assertEqual(self.currency.compare_amounts(self.journal_total()[0], 0.0), 0)

    def test_scheduled_pull_is_queued_once_on_the_stripe_channel(self):
        self.stripe.write({"sync_policy": "scheduled"})
        self.env["finsync.backend"]._cron_pull_due()
        self.env["finsync.backend"]._cron_pull_due()
        jobs = (
            self.env["queue.job"]
            .sudo()
            .search([("method_name", "=", "_pull_job"), ("model_name", "=", "finsync.backend")])
            .filtered(lambda job: job.records == self.stripe)
        )
        self.assertEqual(len(jobs), 1, "the same pull is not queued twice")
        self.assertEqual(jobs.channel, "root.finsync.stripe")

    def test_access_error_fails_the_job_and_is_not_a_refusal(self):
        with (
            patch.object(StripeClient, "balance_transaction_pages", side_effect=AccessError("no")),
            self.assertRaises(AccessError),
        ):
            self.stripe._pull_job()
        self.assertNotEqual(self.stripe.health, "error")
        self.assertFalse(
            self.env["finsync.exception"].search(
                [("backend_id", "=", self.stripe.id), ("exception_type", "=", "sync_failed")]
            )
        )

    def test_webhook_payout_reads_its_transactions_in_a_job(self):
        for amount in (10000, 4000):
            self.sim.add_charge(amount, self.code)
        payout = self.sim.add_payout(self.code)
        self.deliver(*self.sim.events())
        settlement = self.env["finsync.settlement"].search([("name", "=", payout["id"])])
        self.assertFalse(settlement.composition_loaded)
        job = (
            self.env["queue.job"]
            .sudo()
            .search([("method_name", "=", "_load_composition_job"), ("state", "=", "pending")])
        )
        self.assertEqual(job.records, settlement)
        self.assertEqual(job.channel, "root.finsync.stripe")
        Job.load(self.env, job.uuid).perform()
        self.assertTrue(settlement.composition_loaded)
        self.assertEqual(len(settlement.charge_ids), 2)
        self.assertEqual(settlement.difference, 0.0)
        charge = settlement.charge_ids[:1]
        self.assertTrue(charge.gateway_fee_line_id, "the payout's page brought the fees")
        self.assertEqual(self.currency.compare_amounts(self.journal_total()[0], 0.0), 0)


@tagged("post_install", "-at_install")
class TestStripeRemoteFaults(RemoteFaultsMixin, StripeCommon):
    """Stripe hangs, answers slowly or cuts a page of balance transactions short."""

    fault_path = "/v1/balance_transactions"
    # The next pull reads the watermark's second again (``created[gte]``): one page
    # of known transactions, kept as an event, booking nothing.
    fault_overlap_events = 1

    def setUp(self):
        super().setUp()
        self.sim = self.start_simulator()
        self.fault_backend = self.stripe

    def fault_add_source(self):
        for index in range(250):  # three pages of 100
            self.sim.add_charge(1000 + index, self.code)

    def fault_expected(self):
        return 3, len(self.sim.balance_transactions)

    def fault_counts(self):
        domain = [("backend_id", "=", self.stripe.id)]
        return (
            self.env["finsync.event"].search_count(domain),
            self.env["finsync.transaction"].search_count(domain),
        )
