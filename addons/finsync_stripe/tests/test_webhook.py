import json
import time
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL, mute_logger

from odoo.addons.finsync_base.controllers.webhook import WebhookEndpoint
from odoo.addons.finsync_testing.tools.stripe_simulator import StripeSimulator
from odoo.addons.queue_job.job import Job

from ..adapters.stripe_signature import header_for
from .common import API_KEY, SECRET, StripeCommon


@tagged("post_install", "-at_install")
class TestStripeWebhook(StripeCommon, HttpCase):
    def setUp(self):
        super().setUp()
        self.sim = StripeSimulator(api_key=API_KEY)
        self.charge = self.sim.add_charge(4200, self.code, invoice="WEB-1")
        self.event = self.sim.events()[0]
        self.body = json.dumps(self.event).encode()

    def _post(self, body=None, header=None, secrets=(SECRET,), backend=None, timestamp=None):
        body = self.body if body is None else body
        if header is None:
            header = header_for(body, list(secrets), timestamp)
        headers = {"Content-Type": "application/json"}
        if header is not False:
            headers["Stripe-Signature"] = header
        return self.url_open(
            f"/finsync/webhook/stripe/{(backend or self.stripe).id}", data=body, headers=headers
        )

    def _events(self):
        return self.env["finsync.event"].search([("backend_id", "=", self.stripe.id)])

    def test_signed_event_is_stored_then_processed_by_a_job(self):
        response = self._post()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"received": True, "duplicate": False})
        event = self._events()
        self.assertEqual(event.external_id, self.event["id"])
        self.assertEqual((event.state, event.signature_state), ("queued", "valid"))
        self.assertEqual(event.create_uid, self.env.ref("finsync_stripe.user_finsync_stripe"))
        self.assertFalse(self.transactions(), "processing waits for the job")
        job = self.env["queue.job"].sudo().search([("uuid", "=", event.job_uuid)])
        self.assertEqual(job.channel, "root.finsync.stripe")
        Job.load(self.env, job.uuid).perform()
        self.assertEqual(event.state, "done")
        charge = self.transactions(external_id=self.charge["id"])
        self.assertEqual((charge.kind, charge.amount, charge.state), ("charge", 42.0, "settled"))
        self.assertEqual(charge.statement_line_id.amount, 42.0)

    def test_technical_user_does_its_job_and_nothing_more(self):
        technical = self.env.ref("finsync_stripe.user_finsync_stripe")
        for group in ("accountant", "manager", "admin"):
            self.assertFalse(technical.has_group(f"finsync_base.group_finsync_{group}"))
        self.assertFalse(technical.has_group("base.group_system"))
        self.assertTrue(technical.has_group("finsync_base.group_finsync_connector"))
        # A delivery is still stored, processed and booked as the technical user.
        self.assertEqual(self._post().status_code, 200)
        event = self._events()
        Job.load(self.env, event.job_uuid).perform()
        self.assertEqual(event.state, "done")
        charge = self.transactions(external_id=self.charge["id"])
        self.assertEqual(charge.statement_line_id.move_id.state, "posted")
        self.assertEqual(charge.create_uid, technical)
        # ... but it reads no secret, resolves nothing, approves nothing.
        as_technical = self.env(user=technical)
        with self.assertRaises(AccessError):
            self.stripe.with_env(as_technical).read(["api_key"])
        with self.assertRaises(AccessError):
            self.stripe.with_env(as_technical).write({"name": "Mine"})
        exception = self.env["finsync.exception"].create(
            {"name": "Problem", "exception_type": "unmatched", "company_id": self.env.company.id}
        )
        with self.assertRaises(AccessError):
            exception.with_env(as_technical).write(
                {"state": "resolved", "reason_id": self.env.ref("finsync_base.reason_matched").id}
            )
        with self.assertRaises(AccessError):
            exception.with_env(as_technical)._close(self.env.ref("finsync_base.reason_matched"))
        self.assertEqual(exception.state, "new")
        with self.assertRaises(AccessError):
            as_technical["finsync.writeoff.request"].search([])
        with self.assertRaises(AccessError):
            as_technical["finsync.writeoff.request"].action_approve()
        # ... and sees nothing of another company.
        other = self.env["res.company"].create({"name": "FinSync Elsewhere"})
        foreign = (
            self.env["finsync.backend"].sudo().create({"name": "Foreign", "company_id": other.id})
        )
        self.assertFalse(as_technical["finsync.backend"].search([("id", "=", foreign.id)]))
        with self.assertRaises(AccessError):
            foreign.with_env(as_technical).read(["name"])

    def test_deliveries_join_one_job_that_books_them_together(self):
        second = self.sim.add_charge(1500, self.code, invoice="WEB-2")
        bodies = [json.dumps(event).encode() for event in self.sim.events()]
        for body in bodies:
            self.assertEqual(self._post(body).status_code, 200)
        events = self._events()
        self.assertEqual(len(events), len(bodies))
        job_uuid = events[0].job_uuid
        self.assertEqual(set(events.mapped("job_uuid")), {job_uuid}, "one job for the storm")
        Job.load(self.env, job_uuid).perform()
        self.assertEqual(set(events.mapped("state")), {"done"})
        lines = (
            self.transactions(external_id=self.charge["id"]).statement_line_id
            | self.transactions(external_id=second["id"]).statement_line_id
        )
        self.assertEqual(sorted(lines.mapped("amount")), [15.0, 42.0])
        self.assertTrue(all(line.move_id.state == "posted" for line in lines))
        # Once the runner has taken the job, the next delivery opens another one.
        self.env["queue.job"].sudo().search([("uuid", "=", job_uuid)]).state = "started"
        self.sim.add_charge(900, self.code, invoice="WEB-3")
        self.assertEqual(self._post(json.dumps(self.sim.events()[-1]).encode()).status_code, 200)
        late = self._events().filtered(lambda event: event.state == "queued")
        self.assertEqual(len(late), 1)
        self.assertNotEqual(late.job_uuid, job_uuid)

    def test_an_event_whose_booking_fails_fails_alone_in_its_job(self):
        second = self.sim.add_charge(1500, self.code, invoice="WEB-2")
        for event in self.sim.events():
            self.assertEqual(self._post(json.dumps(event).encode()).status_code, 200)
        Transaction = self.registry["finsync.transaction"]
        book = Transaction._gateway_post

        def refuse_second(transactions):
            if second["id"] in transactions.mapped("external_id"):
                raise UserError(self.env._("the clearing journal refused this line"))
            return book(transactions)

        with (
            patch.object(Transaction, "_gateway_post", refuse_second),
            mute_logger("odoo.addons.finsync_base.models.finsync_event"),
        ):
            Job.load(self.env, self._events()[0].job_uuid).perform()
        good = self._events().filtered(lambda event: event.state == "done")
        bad = self._events() - good
        self.assertEqual(len(bad), 1)
        self.assertEqual(bad.state, "failed")
        self.assertIn("refused this line", bad.last_error)
        self.assertEqual(
            self.transactions(external_id=self.charge["id"]).statement_line_id.amount, 42.0
        )
        self.assertFalse(self.transactions(external_id=second["id"]).statement_line_id)
        self.assertTrue(
            self.env["finsync.exception"].search([("event_id", "=", bad.id)]),
            "the failure waits in the exception queue",
        )

    def test_duplicate_delivery_is_accepted_and_stored_once(self):
        self.assertEqual(self._post().status_code, 200)
        response = self._post()
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.json()["duplicate"])
        self.assertEqual(len(self._events()), 1)
        self.assertEqual(
            self.env["queue.job"].sudo().search_count([("uuid", "=", self._events().job_uuid)]), 1
        )

    def test_bad_signatures_are_refused_counted_and_logged_without_payload(self):
        cases = {
            "wrong secret": {"secrets": ("whsec_not_ours",)},
            "missing header": {"header": False},
            "malformed header": {"header": "garbage"},
            "expired": {"timestamp": time.time() - 301},
            "body changed": {"header": header_for(self.body + b" ", [SECRET])},
        }
        with self.assertLogs("odoo.addons", level="WARNING") as logs:
            for name, kwargs in cases.items():
                with self.subTest(name):
                    self.assertEqual(self._post(**kwargs).status_code, 400)
        self.assertFalse(self._events(), "nothing stored")
        self.stripe.invalidate_recordset()
        self.assertEqual(self.stripe.webhook_rejected_count, len(cases))
        output = "\n".join(logs.output)
        self.assertNotIn(self.charge["id"], output)
        self.assertNotIn(SECRET, output)

    def test_no_secret_configured_fails_closed(self):
        self.stripe.sudo().webhook_secret = False
        self.assertEqual(self._post(secrets=("",)).status_code, 400)
        self.assertEqual(self._post(secrets=(SECRET,)).status_code, 400)
        self.assertFalse(self._events())

    def test_rotation_accepts_either_active_secret(self):
        self.stripe.sudo().webhook_secret = f"{SECRET}\nwhsec_next"
        self.assertEqual(self._post(secrets=("whsec_next",)).status_code, 200)
        second = json.dumps(dict(self.event, id="evt_other")).encode()
        self.assertEqual(self._post(body=second, secrets=(SECRET,)).status_code, 200)
        self.assertEqual(len(self._events()), 2)

    def test_oversize_body_is_refused_unread(self):
        self.stripe.webhook_max_kb = 1
        body = json.dumps(dict(self.event, padding="x" * 2048)).encode()
        self.assertEqual(self._post(body=body).status_code, 413)
        self.assertFalse(self._events())
        self.assertEqual(self.stripe.webhook_rejected_count, 0)

    def test_chunked_body_is_held_to_the_limit(self):
        """A body sent chunked (no Content-Length) is read up to the limit and no further."""
        self.stripe.webhook_max_kb = 2
        oversize = json.dumps(dict(self.event, id="evt_big", padding="x" * 4096)).encode()
        self.assertLess(len(self.body), 2048)
        url = f"/finsync/webhook/stripe/{self.stripe.id}"

        def chunked(body):
            for at in range(0, len(body), 500):
                yield body[at : at + 500]

        for body, status in ((oversize, 413), (self.body, 200)):
            with self.subTest(size=len(body)):
                headers = {
                    "Content-Type": "application/json",
                    "Stripe-Signature": header_for(body, [SECRET]),
                }
                response = self.url_open(url, data=chunked(body), headers=headers)
                self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(self._events().mapped("external_id"), [self.event["id"]])

    def test_a_request_run_again_after_a_lost_race_reads_the_same_body(self):
        """Odoo runs the endpoint again after a serialization failure; the stream is spent
        by then, the body read the first time is used."""
        store = WebhookEndpoint._webhook_store
        seen = []

        def lose_the_first_race(controller, backend, user, payload, event_id, event_type):
            seen.append(payload)
            if len(seen) == 1:
                backend.env.cr.execute(
                    SQL(
                        "DO $$ BEGIN RAISE EXCEPTION 'lost race' "
                        "USING ERRCODE = 'serialization_failure'; END $$"
                    )
                )
            return store(controller, backend, user, payload, event_id, event_type)

        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": header_for(self.body, [SECRET]),
        }
        with (
            patch.object(WebhookEndpoint, "_webhook_store", lose_the_first_race),
            mute_logger("odoo.sql_db", "odoo.service.model"),
        ):
            response = self.url_open(
                f"/finsync/webhook/stripe/{self.stripe.id}",
                data=iter([self.body[:100], self.body[100:]]),
                headers=headers,
            )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(seen, [self.body, self.body])
        self.assertEqual(self._events().mapped("external_id"), [self.event["id"]])

    def test_unknown_or_other_connector_is_not_found(self):
        self.assertEqual(self._post(backend=self.backend).status_code, 404, "a generic connector")
        missing = self.env["finsync.backend"].browse(987654)
        self.assertEqual(self._post(backend=missing).status_code, 404)

    def test_signed_but_unreadable_body_is_refused(self):
        self.assertEqual(self._post(body=b"not json").status_code, 400)
        self.assertEqual(self._post(body=b'{"object": "event"}').status_code, 400)
        self.assertFalse(self._events())
