import json
import time

from odoo.tests import HttpCase, tagged

from odoo.addons.queue_job.job import Job

from ..adapters.stripe_signature import header_for
from ..tools.stripe_simulator import StripeSimulator
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

    def test_unknown_or_other_connector_is_not_found(self):
        self.assertEqual(self._post(backend=self.backend).status_code, 404, "a generic connector")
        missing = self.env["finsync.backend"].browse(987654)
        self.assertEqual(self._post(backend=missing).status_code, 404)

    def test_signed_but_unreadable_body_is_refused(self):
        self.assertEqual(self._post(body=b"not json").status_code, 400)
        self.assertEqual(self._post(body=b'{"object": "event"}').status_code, 400)
        self.assertFalse(self._events())
