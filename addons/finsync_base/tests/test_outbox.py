import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..components.outbox import OutboxConsumer, register_consumer, unregister_consumer
from ..tools import standard_webhooks
from .common import FinsyncCommon

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


class Receiver:
    """A webhook endpoint on 127.0.0.1 in a thread: records requests, answers as told."""

    def __init__(self):
        self.requests = []
        self.answers = []  # status codes to answer in turn; 200 once empty
        self.body_of_failure = b"upstream failed"
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(
                    ({key.lower(): value for key, value in self.headers.items()}, body)
                )
                status = receiver.answers.pop(0) if receiver.answers else 200
                answer = b"ok" if status == 200 else receiver.body_of_failure
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def types(self):
        return [json.loads(body)["type"] for _headers, body in self.requests]


class OutboxCommon(FinsyncCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin_user = new_test_user(
            cls.env,
            login="fs_outbox_settings",
            groups="base.group_user,base.group_system,finsync_base.group_finsync_admin",
            company_id=cls.env.company.id,
        )
        cls.finsync_admin_user = new_test_user(
            cls.env,
            login="fs_outbox_admin",
            groups="base.group_user,finsync_base.group_finsync_admin",
            company_id=cls.env.company.id,
        )
        cls.owner = cls.manager_user

    def setUp(self):
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.stop)
        self.subscription = self._subscribe(
            ["exception.opened", "exception.resolved", "transaction.settled"]
        )
        self.Delivery = self.env["finsync.outbox.delivery"].sudo()

    def _subscribe(self, codes, url=None):
        types = self.env["finsync.outbox.event.type"].search([("code", "in", codes)])
        return (
            self.env["finsync.outbox.subscription"]
            .with_user(self.admin_user)
            .create(
                {
                    "name": "ERP hub",
                    "url": url or self.receiver.url,
                    "secret": SECRET,
                    "event_type_ids": [Command.set(types.ids)],
                    "user_id": self.owner.id,
                }
            )
            .with_user(self.env.user)
        )

    def _open_exception(self, name="Bank line unmatched"):
        return self.env["finsync.exception"].create(
            {"name": name, "exception_type": "unmatched", "company_id": self.env.company.id}
        )

    def _deliveries(self, subscription=None):
        sub = subscription or self.subscription
        return self.Delivery.search([("subscription_id", "=", sub.id)], order="id")

    def _round(self, subscription=None):
        sub = subscription or self.subscription
        return self.Delivery._deliver_round(f"subscription:{sub.id}")

    def _make_due(self, deliveries):
        deliveries.write({"next_attempt_at": fields.Datetime.now() - timedelta(seconds=1)})


@tagged("post_install", "-at_install")
class TestOutboxDelivery(OutboxCommon):
    def test_signature_follows_standard_webhooks(self):
        # The spec's published example (standard-webhooks/libraries test vector), a
        # public value, not a secret of anyone's: its prefix apart so that secret
        # scanners do not take it for one.
        example_secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        self.assertEqual(
            standard_webhooks.sign(
                example_secret,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                b'{"test": 2432232314}',
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        )
        # A plain-text secret is its UTF-8 bytes; the receiver's check accepts ours.
        signature = standard_webhooks.sign("plain secret", "evt-1", 1700000000, b"{}")
        expected_plain = hmac.new(b"plain secret", b"evt-1.1700000000.{}", hashlib.sha256)
        self.assertEqual(signature, "v1," + base64.b64encode(expected_plain.digest()).decode())
        received = {
            "webhook-id": "evt-1",
            "webhook-timestamp": "1700000000",
            "webhook-signature": "v1,bm9wZQ== " + signature,
        }
        self.assertEqual(
            standard_webhooks.verify("plain secret", received, b"{}", now=1700000010), "evt-1"
        )
        with self.assertRaises(standard_webhooks.SignatureError):
            standard_webhooks.verify("plain secret", received, b"{}", now=1700001000)
        exc = self._open_exception()
        self._round()
        headers, body = self.receiver.requests[0]
        event = self.env["finsync.outbox.event"].search(
            [("res_model", "=", "finsync.exception"), ("res_id", "=", exc.id)]
        )
        self.assertEqual(headers["webhook-id"], event.uuid)
        stamp = int(headers["webhook-timestamp"])
        self.assertLess(abs(stamp - time.time()), 60)
        key = base64.b64decode(SECRET.removeprefix("whsec_"))
        expected = base64.b64encode(
            hmac.new(key, f"{event.uuid}.{stamp}.".encode() + body, hashlib.sha256).digest()
        ).decode()
        self.assertEqual(headers["webhook-signature"], f"v1,{expected}")
        document = json.loads(body)
        self.assertEqual(document["version"], 1)
        self.assertEqual(document["type"], "exception.opened")
        self.assertEqual(document["subject"], {"model": "finsync.exception", "id": exc.id})
        self.assertEqual(document["data"]["name"], "Bank line unmatched")
        self.assertNotIn(SECRET, json.dumps(dict(headers)) + body.decode())

    def test_local_receiver_gets_the_delivery_and_the_attempt_is_logged(self):
        self._open_exception()
        delivery = self._deliveries()
        self.assertEqual(delivery.state, "pending")
        sent = self._round()
        self.assertEqual(sent, delivery)
        self.assertEqual(len(self.receiver.requests), 1)
        self.assertEqual(delivery.state, "delivered")
        self.assertEqual(delivery.attempt_count, 1)
        attempt = delivery.attempt_ids
        self.assertEqual((attempt.status_code, attempt.ok), (200, True))
        self.assertGreaterEqual(attempt.latency_ms, 0)
        # Delivered once: another round sends nothing.
        self._round()
        self.assertEqual(len(self.receiver.requests), 1)

    def test_delivery_job_is_queued_on_the_outbox_channel(self):
        self._open_exception()
        job = (
            self.env["queue.job"]
            .sudo()
            .search(
                [("identity_key", "=", f"finsync-outbox:subscription:{self.subscription.id}:now")]
            )
        )
        self.assertEqual(len(job), 1)
        self.assertEqual(job.channel, "root.finsync.outbox")
        self.assertEqual(job.method_name, "_deliver_job")

    def test_retries_back_off_then_dead_letter_opens_an_exception_for_the_owner(self):
        self.receiver.answers = [500] * 20
        self.receiver.body_of_failure = f"bad secret {SECRET} ".encode() * 50
        self._open_exception()
        delivery = self._deliveries()
        schedule = standard_webhooks.RETRY_SCHEDULE
        for attempt, delay in enumerate(schedule, start=1):
            before = fields.Datetime.now()
            self._round()
            self.assertEqual(delivery.state, "retrying")
            self.assertEqual(delivery.attempt_count, attempt)
            waited = (delivery.next_attempt_at - before).total_seconds()
            self.assertGreaterEqual(waited, delay * 0.9 - 1)
            self.assertLessEqual(waited, delay * 1.1 + 1)
            self._round()  # not due yet: nothing is sent
            self.assertEqual(len(self.receiver.requests), attempt)
            self._make_due(delivery)
        self._round()
        self.assertEqual(delivery.state, "dead")
        self.assertEqual(delivery.attempt_count, len(schedule) + 1)
        self.assertEqual(len(delivery.attempt_ids), len(schedule) + 1)
        self.assertTrue(sum(schedule) >= 2.8 * 86400, "the schedule spans about 3 days")
        excerpt = delivery.attempt_ids[0].response_excerpt
        self.assertNotIn(SECRET, excerpt)
        self.assertLessEqual(len(excerpt), 300)
        self.assertEqual(delivery.attempt_ids[0].status_code, 500)
        exception = self.env["finsync.exception"].search(
            [("exception_type", "=", "delivery_failed"), ("is_open", "=", True)]
        )
        self.assertEqual(len(exception), 1)
        self.assertEqual(exception.user_id, self.owner)
        self.assertIn(delivery.event_id.uuid, exception.name)

    def test_a_newer_state_of_a_record_never_overtakes_an_older_one(self):
        self.receiver.answers = [500]
        event = self._ingest(self._payload(("ORD-1", "50.00", "initiated")))
        event._process()
        tx = event.transaction_ids
        self.subscription.with_user(self.admin_user).event_type_ids += self.env.ref(
            "finsync_base.outbox_type_transaction_reconciled"
        )
        tx._transition("settled")
        tx._transition("reconciled")
        older, newer = self._deliveries()
        self.assertEqual(older.event_id.event_type, "transaction.settled")
        self.assertEqual(newer.state, "pending")
        self._round()  # the older one fails; the newer one waits although due
        self.assertEqual(self.receiver.types(), ["transaction.settled"])
        self.assertEqual((older.state, newer.state), ("retrying", "pending"))
        self._round()
        self.assertEqual(len(self.receiver.requests), 1)
        self._make_due(older)
        self._round()
        self._round()
        self.assertEqual(
            self.receiver.types(),
            ["transaction.settled", "transaction.settled", "transaction.reconciled"],
        )
        self.assertEqual((older.state, newer.state), ("delivered", "delivered"))

    def test_delivery_job_drains_the_rounds_of_a_burst(self):
        event = self._ingest(self._payload(("JOB-1", "20.00", "settled")))
        event._process()
        tx = event.transaction_ids
        self.subscription.with_user(self.admin_user).event_type_ids += self.env.ref(
            "finsync_base.outbox_type_transaction_reconciled"
        )
        tx._transition("reconciled")
        self._open_exception()
        # The job's rounds open their own cursors: in test mode they share this transaction.
        self.registry.enter_test_mode(self.env.cr)
        self.addCleanup(self.registry.leave_test_mode)
        self.env.flush_all()
        self.Delivery._deliver_job(f"subscription:{self.subscription.id}")
        self.env.invalidate_all()
        self.assertEqual(set(self._deliveries().mapped("state")), {"delivered"})
        self.assertEqual(
            sorted(self.receiver.types()),
            ["exception.opened", "transaction.reconciled", "transaction.settled"],
        )
        # Per record order: settled (round 1) before reconciled (round 2).
        types = self.receiver.types()
        self.assertLess(types.index("transaction.settled"), types.index("transaction.reconciled"))

    def test_event_commits_and_rolls_back_with_the_business_change(self):
        Event = self.env["finsync.outbox.event"].sudo()
        before = Event.search_count([])
        with self.assertRaises(RuntimeError), self.env.cr.savepoint():
            self._open_exception("Rolled back")
            self.assertEqual(Event.search_count([]), before + 1)
            raise RuntimeError("the business change fails")
        self.env.invalidate_all()
        self.assertEqual(Event.search_count([]), before)
        self.assertFalse(self.Delivery.search([("subscription_id", "=", self.subscription.id)]))

    def test_nothing_is_written_when_nobody_listens(self):
        self.subscription.with_user(self.admin_user).active = False
        Event = self.env["finsync.outbox.event"].sudo()
        before = Event.search_count([])
        self._open_exception()
        self.assertEqual(Event.search_count([]), before)

    def test_subscription_failing_for_24_hours_is_paused_then_resumed_by_a_manager(self):
        self.receiver.answers = [503] * 5
        self._open_exception()
        self._round()
        self.assertEqual(self.subscription.state, "active")
        self.assertTrue(self.subscription.failing_since)
        self.subscription._write_protected(
            {"failing_since": fields.Datetime.now() - timedelta(hours=25)}
        )
        self._make_due(self._deliveries())
        self._round()
        self.assertEqual(self.subscription.state, "paused")
        exception = self.env["finsync.exception"].search(
            [("exception_type", "=", "delivery_failed"), ("is_open", "=", True)]
        )
        self.assertEqual(exception.user_id, self.owner)
        self.assertIn("ERP hub", exception.name)
        # Paused: nothing is sent, nothing is lost.
        sent = len(self.receiver.requests)
        self._make_due(self._deliveries())
        self._round()
        self.assertEqual(len(self.receiver.requests), sent)
        with self.assertRaises(AccessError):
            self.subscription.with_user(self.accountant_user).with_context(
                finsync_outbox_subscription_protected=True
            ).action_resume()
        with self.assertRaises(AccessError):
            self.subscription.with_user(self.manager_user).write({"state": "active"})
        self.assertEqual(self.subscription.state, "paused")
        self.receiver.answers = []
        self.subscription.with_user(self.manager_user).action_resume()
        self.assertEqual(self.subscription.state, "active")
        self._round()
        self.assertEqual(self._deliveries().state, "delivered")

    def test_replay_by_a_manager_and_refused_to_an_accountant(self):
        self.receiver.answers = [500] * 20
        self._open_exception()
        delivery = self._deliveries()
        for _attempt in range(len(standard_webhooks.RETRY_SCHEDULE) + 1):
            self._make_due(delivery)
            self._round()
        self.assertEqual(delivery.state, "dead")
        for user in (self.accountant_user, self.user_user):
            with self.assertRaises(AccessError):
                delivery.with_user(user).with_context(
                    finsync_outbox_subscription_protected=True
                ).action_replay()
            with self.assertRaises(AccessError):
                delivery.with_user(user).write({"state": "pending"})
        self.assertEqual(delivery.state, "dead")
        with self.assertRaises(AccessError):
            delivery.with_user(self.manager_user).write({"state": "pending"})
        self.receiver.answers = []
        delivery.event_id.with_user(self.manager_user).action_replay()
        self.assertEqual(
            (delivery.state, delivery.attempt_count, delivery.replay_count), ("pending", 0, 1)
        )
        self._round()
        self.assertEqual(delivery.state, "delivered")
        self.assertEqual(self.receiver.requests[-1][0]["webhook-id"], delivery.event_id.uuid)

    def test_a_manager_replays_and_resumes_in_their_companies_only(self):
        other = self.setup_other_company()["company"]
        self.admin_user.company_ids += other
        types = self.env["finsync.outbox.event.type"].search([("code", "=", "exception.opened")])
        foreign = (
            self.env["finsync.outbox.subscription"]
            .with_user(self.admin_user)
            .create(
                {
                    "name": "Other hub",
                    "url": self.receiver.url,
                    "company_id": other.id,
                    "event_type_ids": [Command.set(types.ids)],
                    "user_id": self.admin_user.id,
                }
            )
        )
        self.env["finsync.exception"].sudo().create(
            {"name": "Elsewhere", "exception_type": "unmatched", "company_id": other.id}
        )
        delivery = self._deliveries(foreign)
        self.assertEqual(len(delivery), 1)
        manager = self.manager_user  # FinSync manager of the test company only
        with self.assertRaises(AccessError):
            self.env["finsync.outbox.delivery"].with_user(manager).browse(
                delivery.id
            ).action_replay()
        with self.assertRaises(AccessError):
            self.env["finsync.outbox.subscription"].with_user(manager).browse(
                foreign.id
            ).action_resume()
        self.assertEqual((delivery.replay_count, foreign.state), (0, "active"))

    def test_secret_and_url_are_for_settings_only(self):
        sub = self.subscription
        for user in (self.manager_user, self.finsync_admin_user):
            with self.assertRaises(AccessError):
                sub.with_user(user).read(["secret"])
            with self.assertRaises(AccessError):
                sub.with_user(user).write({"url": "https://attacker.example/hook"})
        self.assertTrue(sub.with_user(self.manager_user).has_secret)
        self.assertEqual(sub.with_user(self.admin_user).secret, SECRET)
        self.assertEqual(sub.url, self.receiver.url)
        with self.assertRaises(AccessError):
            self.env["finsync.outbox.event"].with_user(self.manager_user).create(
                {
                    "uuid": "x",
                    "event_type": "invoice.paid",
                    "res_model": "res.partner",
                    "company_id": self.env.company.id,
                    "occurred_at": fields.Datetime.now(),
                }
            )


@tagged("post_install", "-at_install")
class TestOutboxEmitters(OutboxCommon):
    def setUp(self):
        super().setUp()
        self.subscription.with_user(self.admin_user).event_type_ids = self.env[
            "finsync.outbox.event.type"
        ].search([])

    def _events(self, event_type, record):
        return (
            self.env["finsync.outbox.event"]
            .sudo()
            .search(
                [
                    ("event_type", "=", event_type),
                    ("res_model", "=", record._name),
                    ("res_id", "=", record.id),
                ]
            )
        )

    def test_transaction_settled_and_reconciled(self):
        event = self._ingest(self._payload(("EM-1", "75.00", "settled")), external_id="ev-em-1")
        event._process()
        tx = event.transaction_ids
        settled = self._events("transaction.settled", tx)
        self.assertEqual(len(settled), 1)
        self.assertEqual(settled.payload["data"]["amount"], 75.0)
        self.assertEqual(settled.correlation_id, tx.correlation_id or event.correlation_id)
        tx._transition("reconciled")
        self.assertEqual(len(self._events("transaction.reconciled", tx)), 1)

    def test_exception_opened_and_resolved(self):
        exc = self._open_exception()
        self.assertEqual(len(self._events("exception.opened", exc)), 1)
        exc._close(self.env.ref("finsync_base.reason_matched"))
        resolved = self._events("exception.resolved", exc)
        self.assertEqual(resolved.payload["data"]["reason"], "MATCHED")

    def test_invoice_posted_paid_and_payment_received(self):
        invoice = self.init_invoice("out_invoice", amounts=[100.0], post=True)
        posted = self._events("invoice.posted", invoice)
        self.assertEqual(posted.payload["data"]["number"], invoice.name)
        self.assertFalse(self._events("invoice.paid", invoice))
        payments = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({})
            ._create_payments()
        )
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        paid = self._events("invoice.paid", invoice)
        self.assertEqual(len(paid), 1)
        self.assertEqual(paid.payload["data"]["amount_residual"], 0.0)
        self.assertEqual(len(self._events("payment.received", payments)), 1)
        # Another recompute of an invoice already paid emits nothing more.
        invoice.invalidate_recordset(["payment_state"])
        invoice._compute_payment_state()
        self.env.cr.precommit.run()
        self.assertEqual(len(self._events("invoice.paid", invoice)), 1)

    def test_period_close_ready_is_declared(self):
        self.assertTrue(self.env.ref("finsync_base.outbox_type_period_close_ready"))


@tagged("post_install", "-at_install")
class TestOutboxInternalConsumer(OutboxCommon):
    def setUp(self):
        super().setUp()
        applied = self.applied = []

        @register_consumer("test_writeback")
        class WriteBack(OutboxConsumer):
            event_types = ("exception.opened",)
            failures = 3

            def deliver(self, event, delivery):
                # A write that must not survive a failed attempt.
                self.env["res.partner"].create({"name": f"partial {event.uuid}"})
                if WriteBack.failures:
                    WriteBack.failures -= 1
                    raise ConnectionError("CRM answered 503")
                applied.append(event.uuid)

        self.addCleanup(unregister_consumer, "test_writeback")

    def test_write_back_failing_three_times_then_succeeding_is_applied_once(self):
        exc = self._open_exception()
        delivery = self.Delivery.search([("consumer", "=", "test_writeback")])
        self.assertEqual(delivery.event_id.res_id, exc.id)
        for _attempt in range(6):
            self._make_due(delivery.filtered(lambda d: d.state == "retrying"))
            self.Delivery._deliver_round("consumer:test_writeback")
        self.assertEqual(delivery.state, "delivered")
        self.assertEqual(delivery.attempt_count, 4)
        self.assertEqual(self.applied, [delivery.event_id.uuid])
        self.assertEqual(
            delivery.attempt_ids.sorted("attempt_no").mapped("error_class"),
            ["ConnectionError", "ConnectionError", "ConnectionError", False],
        )
        partial = self.env["res.partner"].search([("name", "=like", "partial %")])
        self.assertEqual(len(partial), 1, "failed attempts rolled back what they wrote")
