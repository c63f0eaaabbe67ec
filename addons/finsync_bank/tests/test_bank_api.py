import base64
import time
from unittest.mock import Mock, patch

import requests

from odoo.exceptions import AccessError
from odoo.tests import BaseCase, tagged

from odoo.addons.finsync_base.tests.common import FinsyncCommon
from odoo.addons.finsync_base.tests.remote_faults import RemoteFaultsMixin
from odoo.addons.finsync_testing.tools.bank_api_simulator import BankApiSimulator
from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.bank_api import BankApiClient, BankApiError, BankApiTransientError


class SimulatorMixin:
    def start_simulator(self, page_size=20):
        sim = BankApiSimulator(client_id="cid", client_secret="csecret", page_size=page_size)
        sim.add_account("acc-1", "NL91ABNA0417164300", "EUR")
        sim.start()
        self.addCleanup(sim.stop)
        return sim


@tagged("post_install", "-at_install")
class TestBankApiClient(SimulatorMixin, BaseCase):
    def setUp(self):
        super().setUp()
        self.sim = self.start_simulator()
        self.sleeps = []
        self.client = BankApiClient(
            self.sim.url, "cid", "csecret", sleep=self.sleeps.append, page_size=20
        )

    def test_pages_through_everything_after_the_watermark(self):
        self.sim.add_transactions("acc-1", 45)
        pages = list(self.client.transaction_pages("acc-1"))
        self.assertEqual([len(p["transactions"]) for p in pages], [20, 20, 5])
        since = pages[0]["transactions"][-1]["sequence"]
        rest = list(self.client.transaction_pages("acc-1", since=since))
        self.assertEqual(sum(len(p["transactions"]) for p in rest), 25)

    def test_throttling_waits_as_the_server_says(self):
        self.sim.add_transactions("acc-1", 3)
        self.sim.throttle_next(2, retry_after=7, path_part="transactions")
        pages = list(self.client.transaction_pages("acc-1"))
        self.assertEqual(len(pages[0]["transactions"]), 3)
        self.assertEqual(self.sleeps, [7.0, 7.0])

    def test_throttling_that_lasts_becomes_a_transient_error(self):
        self.sim.throttle_next(10, retry_after=30, path_part="accounts")
        with self.assertRaises(BankApiTransientError) as caught:
            self.client.accounts()
        self.assertEqual(caught.exception.status, 429)
        self.assertEqual(caught.exception.retry_after, 30)

    def test_expired_token_is_renewed_once(self):
        self.assertEqual(len(self.client.accounts()), 1)
        self.sim.expire_tokens()
        self.assertEqual(len(self.client.accounts()), 1)
        token_calls = [r for r in self.sim.requests if r[1] == "/oauth/token"]
        self.assertEqual(len(token_calls), 2)

    def test_wrong_credentials_are_refused_not_retried(self):
        client = BankApiClient(self.sim.url, "cid", "wrong", sleep=self.sleeps.append)
        with self.assertRaises(BankApiError) as caught:
            client.accounts()
        self.assertNotIsInstance(caught.exception, BankApiTransientError)
        self.assertEqual(caught.exception.status, 401)
        self.assertEqual(self.sleeps, [])

    def test_timeouts_and_outages_are_transient(self):
        session = Mock()
        session.request.side_effect = requests.Timeout("read timed out")
        client = BankApiClient(
            self.sim.url, "cid", "csecret", session=session, sleep=self.sleeps.append
        )
        with self.assertRaises(BankApiTransientError):
            client.accounts()
        self.assertEqual(session.request.call_count, 4, "three retries, then give up")
        self.assertEqual(self.sleeps, [1, 2, 4], "backing off between tries")
        self.assertEqual(session.request.call_args.kwargs["timeout"], 30)
        adapter = self.client.session.get_adapter(self.sim.url)
        self.assertEqual(adapter.timeouts, (10, 30), "connect and read timeouts")
        self.sim.fail_next(1, status=503, path_part="accounts")
        self.assertEqual(len(self.client.accounts()), 1, "one outage is retried")

    def test_a_page_cut_short_is_read_again_never_taken_as_whole(self):
        self.sim.add_transactions("acc-1", 45)
        self.sim.cut_next(1, path_part="/transactions", after=1)
        pages = list(self.client.transaction_pages("acc-1"))
        self.assertEqual(sum(len(page["transactions"]) for page in pages), 45)
        self.assertEqual(len(self.sleeps), 1, "the cut page was asked again")
        self.sim.cut_next(10, path_part="/transactions")
        with self.assertRaises(BankApiTransientError) as caught:
            list(self.client.transaction_pages("acc-1"))
        self.assertIn("AnswerCutShort", str(caught.exception))

    def test_no_answer_or_a_trickling_one_fails_within_the_timeouts(self):
        self.sim.add_transactions("acc-1", 45)
        client = BankApiClient(
            self.sim.url, "cid", "csecret", sleep=self.sleeps.append, timeout=(1, 1)
        )
        client.accounts()
        self.sim.hang_next(10, path_part="/transactions")
        started = time.monotonic()
        with self.assertRaises(BankApiTransientError) as caught:
            list(client.transaction_pages("acc-1"))
        self.assertIn("ReadTimeout", str(caught.exception))
        self.assertLess(time.monotonic() - started, 4 * 1 + 3, "four attempts of 1 s")
        self.sim.clear_faults()
        # Every byte in time for the read timeout, the whole answer too late.
        client.answer_deadline = 1
        self.sim.trickle_next(10, seconds=3, path_part="/transactions")
        started = time.monotonic()
        with self.assertRaises(BankApiTransientError) as caught:
            list(client.transaction_pages("acc-1"))
        self.assertIn("Timeout", str(caught.exception))
        self.assertLess(time.monotonic() - started, 4 * 3)


@tagged("post_install", "-at_install")
class TestBankApiPull(SimulatorMixin, FinsyncCommon):
    def setUp(self):
        super().setUp()
        self.sim = self.start_simulator()
        self.api_backend = (
            self.env["finsync.backend"]
            .sudo()
            .create(
                {
                    "name": "Bank API",
                    "backend_type": "bank_api",
                    "api_url": self.sim.url,
                    "client_id": "cid",
                    "client_secret": "csecret",
                }
            )
        )
        self.eur = self.env.ref("base.EUR")
        self.eur.active = True

    def _transactions(self):
        return self.env["finsync.transaction"].search([("backend_id", "=", self.api_backend.id)])

    def _pull(self):
        return self.api_backend._pull_job()

    def test_pull_is_incremental_and_idempotent(self):
        self.sim.add_transactions("acc-1", 45)
        self._pull()
        self.assertEqual(len(self._transactions()), 45)
        events = self.env["finsync.event"].search([("backend_id", "=", self.api_backend.id)])
        self.assertEqual(len(events), 3, "one event per page")
        self.assertEqual(set(events.mapped("state")), {"done"})
        self.assertEqual(self.api_backend.bank_api_watermarks["acc-1"], 45)
        requests_before = len(self.sim.requests)
        self._pull()
        self.assertEqual(len(self._transactions()), 45)
        self.assertLess(len(self.sim.requests) - requests_before, 5, "nothing pulled twice")
        self.sim.add_transactions("acc-1", 5)
        self._pull()
        self.assertEqual(len(self._transactions()), 50)
        tx = self._transactions().filtered(lambda t: t.external_id == "acc-1:acc-1-T000001")
        self.assertEqual(tx.state, "settled")
        self.assertEqual(tx.remittance, "INV/2026/00001")
        self.assertEqual(self.api_backend.health, "ok")

    def test_failure_mid_pull_resumes_from_the_watermark(self):
        self.sim.add_transactions("acc-1", 60)
        # The first page comes through, then the bank fails for good.
        self.sim.fail_next(50, status=500, path_part="transactions", after=1)
        with (
            patch.object(BankApiClient, "_backoff", return_value=0),
            self.assertRaises(RetryableJobError),
            self.env.cr.savepoint(),  # the job's transaction rolls back
        ):
            self._pull()
        self.assertFalse(self._transactions())
        self.assertFalse(self.api_backend.bank_api_watermarks)
        self.sim._faults.clear()
        self._pull()
        self.assertEqual(len(self._transactions()), 60)
        self._pull()
        self.assertEqual(len(self._transactions()), 60, "nothing lost, nothing doubled")

    def test_payment_statuses_move_transactions_through_their_states(self):
        self.sim.set_payment_status("PAY-1", "initiated")
        self.sim.set_payment_status("PAY-2", "initiated")
        self._pull()
        pay1 = self._transactions().filtered(lambda t: t.external_id == "payment:PAY-1")
        self.assertEqual(pay1.state, "initiated")
        self.sim.set_payment_status("PAY-1", "accepted")
        self.sim.set_payment_status("PAY-1", "settled")
        self.sim.set_payment_status("PAY-2", "rejected")
        self._pull()
        pay2 = self._transactions().filtered(lambda t: t.external_id == "payment:PAY-2")
        self.assertEqual(pay1.state, "settled")
        self.assertEqual(pay2.state, "rejected")
        self.assertEqual(
            pay1.transition_ids.sorted("id").mapped("to_state"),
            ["initiated", "acknowledged", "settled"],
        )

    def test_two_states_of_one_payment_in_one_page_are_merged_in_order(self):
        self.sim.set_payment_status("PAY-3", "initiated")
        self.sim.set_payment_status("PAY-3", "accepted")
        self._pull()
        events = self.env["finsync.event"].search([("backend_id", "=", self.api_backend.id)])
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("last_error"))
        pay3 = self._transactions().filtered(lambda t: t.external_id == "payment:PAY-3")
        self.assertEqual(pay3.state, "acknowledged")
        self.assertEqual(
            pay3.transition_ids.sorted("id").mapped("to_state"), ["initiated", "acknowledged"]
        )

    def test_refused_credentials_open_an_exception(self):
        self.api_backend.sudo().client_secret = "wrong"
        self._pull()
        self.assertEqual(self.api_backend.health, "error")
        exception = self.env["finsync.exception"].search(
            [("backend_id", "=", self.api_backend.id), ("exception_type", "=", "sync_failed")]
        )
        self.assertEqual(len(exception), 1)
        self.assertIn("401", exception.description)
        self.assertNotIn("wrong", exception.description, "secrets never end up in messages")

    def test_secrets_never_reach_the_logs_of_a_failed_pull(self):
        secret = "wrong-s3cret-value"
        self.api_backend.sudo().write({"client_id": "cid-private-42", "client_secret": secret})
        # The test's own write of the secrets is flushed first: what is checked is the pull.
        self.env.flush_all()
        with self.assertLogs(level="DEBUG") as logs:
            self._pull()
        self.assertEqual(self.api_backend.health, "error")
        output = "\n".join(logs.output)
        for value in (secret, "cid-private-42"):
            self.assertNotIn(value, output)
        self.assertNotIn(base64.b64encode(f"cid-private-42:{secret}".encode()).decode(), output)

    def test_scheduled_pull_is_queued_once_on_the_bank_channel(self):
        self.api_backend.sync_policy = "scheduled"
        self.env["finsync.backend"]._cron_pull_due()
        self.env["finsync.backend"]._cron_pull_due()
        [job] = (
            self.env["queue.job"]
            .sudo()
            .search([("method_name", "=", "_pull_job"), ("model_name", "=", "finsync.backend")])
            .filtered(lambda job: job.records == self.api_backend)
        )
        self.assertEqual(job.method_name, "_pull_job")
        self.assertEqual(job.channel, "root.finsync.bank")
        self.assertTrue(job.identity_key, "one pull of a connector at a time")
        channels = self.env["queue.job.channel"].sudo().search([]).mapped("complete_name")
        self.assertIn(job.channel, channels, "the bank channel is declared")

    def test_pull_now_says_what_happened(self):
        self.sim.add_transactions("acc-1", 3)
        action = self.api_backend.action_pull_now()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("3 new, 0 already known", action["params"]["message"])
        self.assertEqual(len(self._transactions()), 3, "pulled in the request")
        self.assertEqual((self.api_backend.last_pull_new, self.api_backend.last_pull_known), (3, 0))
        action = self.api_backend.action_pull_now()
        self.assertIn("nothing new since", action["params"]["message"])
        last_run = self.api_backend.last_pull_date
        self.assertEqual((self.api_backend.last_pull_new, self.api_backend.last_pull_known), (0, 0))
        self.api_backend.sudo().client_secret = "wrong"
        action = self.api_backend.action_pull_now()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("POST /oauth/token: HTTP 401", action["params"]["message"])
        self.assertNotIn("wrong", action["params"]["message"])
        self.assertEqual(self.api_backend.last_pull_date, last_run, "a failed run counts nothing")

    def test_pull_now_needs_the_accountant_group(self):
        self.sim.add_transactions("acc-1", 3)
        for context in ({}, {"finsync_pull": True, "active_test": False}):
            with self.assertRaises(AccessError):
                self.api_backend.with_user(self.user_user).with_context(**context).action_pull_now()
        self.assertFalse(self._transactions())
        events = self.env["finsync.event"].search([("backend_id", "=", self.api_backend.id)])
        self.assertFalse(events)
        self.assertFalse(self.api_backend.last_pull_date)

    def test_pulled_lines_are_posted_to_the_journal_of_their_account(self):
        journal = self.env["account.journal"].create(
            {
                "name": "EUR bank",
                "code": "BEUR",
                "type": "bank",
                "currency_id": self.eur.id,
                "bank_account_id": self.env["res.partner.bank"]
                .create(
                    {
                        "acc_number": "NL91ABNA0417164300",
                        "partner_id": self.env.company.partner_id.id,
                    }
                )
                .id,
            }
        )
        self.sim.add_transactions("acc-1", 25)
        self._pull()
        lines = self.env["account.bank.statement.line"].search([("journal_id", "=", journal.id)])
        self.assertEqual(len(lines), 25)
        self.assertEqual(set(lines.finsync_transaction_ids.mapped("state")), {"settled"})
        self.assertEqual(len(lines.statement_id), 2, "one statement per page")
        total = sum(self._transactions().mapped("amount"))
        self.assertEqual(journal.currency_id.compare_amounts(sum(lines.mapped("amount")), total), 0)

    def test_without_a_journal_lines_wait_and_the_event_says_why(self):
        self.sim.add_transactions("acc-1", 3)
        self._pull()
        self.assertEqual(len(self._transactions()), 3)
        event = self.env["finsync.event"].search([("backend_id", "=", self.api_backend.id)])
        self.assertIn("NL91ABNA0417164300", event.bank_posting_note)
        self.assertFalse(self._transactions().statement_line_id)


@tagged("post_install", "-at_install")
class TestBankApiRemoteFaults(RemoteFaultsMixin, SimulatorMixin, FinsyncCommon):
    """The bank API hangs, answers slowly or cuts a page of transactions short."""

    fault_path = "/transactions"

    def setUp(self):
        super().setUp()
        self.sim = self.start_simulator()
        self.fault_backend = (
            self.env["finsync.backend"]
            .sudo()
            .create(
                {
                    "name": "Bank API",
                    "backend_type": "bank_api",
                    "api_url": self.sim.url,
                    "client_id": "cid",
                    "client_secret": "csecret",
                }
            )
        )
        self.env.ref("base.EUR").active = True

    def fault_add_source(self):
        self.sim.add_transactions("acc-1", 45)  # three pages of 20

    def fault_expected(self):
        return 3, len(self.sim.transactions["acc-1"])

    def fault_counts(self):
        domain = [("backend_id", "=", self.fault_backend.id)]
        return (
            self.env["finsync.event"].search_count(domain),
            self.env["finsync.transaction"].search_count(domain),
        )
