import json

from odoo.tests import HttpCase, tagged

from odoo.addons.queue_job.job import Job

from .common import WEBHOOK_ID, PayPalCommon


@tagged("post_install", "-at_install")
class TestPayPalWebhook(PayPalCommon, HttpCase):
    def setUp(self):
        super().setUp()
        self.sim = self.start_simulator()
        self.payment = self.sim.add_payment("42.00", self.code, invoice="WEB-1")
        self.event = self.sim.capture_event(self.payment, event_id="WH-EVT-1")
        self.body = json.dumps(self.event).encode()

    def _post(self, body=None, headers=None, backend=None):
        body = self.body if body is None else body
        if headers is None:
            headers = self.sim.sign(body)
        return self.url_open(
            f"/finsync/webhook/paypal/{(backend or self.paypal).id}",
            data=body,
            headers={"Content-Type": "application/json", **headers},
        )

    def _events(self):
        return self.env["finsync.event"].search([("backend_id", "=", self.paypal.id)])

    def _verifications(self):
        return [
            r for r in self.sim.requests if r[1] == "/v1/notifications/verify-webhook-signature"
        ]

    def test_verified_event_is_stored_then_processed_by_a_job(self):
        response = self._post()
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), {"received": True, "duplicate": False})
        self.assertEqual(len(self._verifications()), 1, "PayPal was asked")
        event = self._events()
        self.assertEqual(event.external_id, "WH-EVT-1")
        self.assertEqual((event.state, event.signature_state), ("queued", "valid"))
        self.assertEqual(event.create_uid, self.env.ref("finsync_paypal.user_finsync_paypal"))
        self.assertFalse(self.transactions(), "processing waits for the job")
        job = self.env["queue.job"].sudo().search([("uuid", "=", event.job_uuid)])
        self.assertEqual(job.channel, "root.finsync.paypal")
        Job.load(self.env, job.uuid).perform()
        self.assertEqual(event.state, "done")
        payment = self.transactions()
        self.assertEqual((payment.kind, payment.amount, payment.state), ("charge", 42.0, "settled"))
        self.assertEqual(payment.statement_line_id.amount, 42.0)

    def test_duplicate_delivery_is_accepted_and_stored_once(self):
        self.assertEqual(self._post().status_code, 200)
        response = self._post()
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.json()["duplicate"])
        self.assertEqual(len(self._events()), 1)
        self.assertEqual(
            self.env["queue.job"].sudo().search_count([("uuid", "=", self._events().job_uuid)]), 1
        )

    def test_deliveries_paypal_does_not_confirm_are_refused_and_counted(self):
        headers = self.sim.sign(self.body)
        cases = {
            "forged signature": dict(headers, **{"PAYPAL-TRANSMISSION-SIG": "Zm9yZ2Vk"}),
            "signed for another webhook": self.sim.sign(self.body, webhook_id="WH-OTHER"),
            "body changed": headers,
            "no headers": {},
        }
        with self.assertLogs("odoo.addons", level="WARNING") as logs:
            for name, case_headers in cases.items():
                with self.subTest(name):
                    body = (
                        self.body.replace(b"42.00", b"4200.00") if name == "body changed" else None
                    )
                    self.assertEqual(self._post(body=body, headers=case_headers).status_code, 400)
        self.assertFalse(self._events(), "nothing stored")
        self.paypal.invalidate_recordset()
        self.assertEqual(self.paypal.webhook_rejected_count, len(cases))
        output = "\n".join(logs.output)
        self.assertNotIn(self.payment["transaction_info"]["transaction_id"], output)
        self.assertNotIn(headers["PAYPAL-TRANSMISSION-SIG"], output)
        self.assertEqual(len(self._verifications()), 3, "without headers PayPal is not asked")

    def test_no_webhook_id_configured_fails_closed(self):
        self.paypal.sudo().webhook_secret = False
        self.assertEqual(self._post().status_code, 400)
        self.assertFalse(self._events())
        self.assertFalse(self._verifications(), "nothing to ask PayPal about")

    def test_paypal_unreachable_answers_503_and_stores_nothing(self):
        self.sim.fail_next(2, status=503, path_part="verify-webhook-signature")
        response = self._post()
        self.assertEqual(response.status_code, 503)
        self.assertFalse(self._events())
        self.assertEqual(self._post().status_code, 200, "PayPal's redelivery is accepted")

    def test_oversize_unknown_and_unreadable(self):
        self.paypal.webhook_max_kb = 1
        body = json.dumps(dict(self.event, padding="x" * 2048)).encode()
        self.assertEqual(self._post(body=body).status_code, 413)
        self.paypal.webhook_max_kb = 512
        self.assertEqual(self._post(backend=self.backend).status_code, 404, "a generic connector")
        missing = self.env["finsync.backend"].browse(987654)
        self.assertEqual(self._post(backend=missing).status_code, 404)
        self.assertEqual(self._post(body=b"not json").status_code, 400)
        self.assertEqual(self._post(body=b'{"event_type": "X"}').status_code, 400)
        self.assertFalse(self._events())
        self.assertEqual(WEBHOOK_ID, self.paypal.sudo().webhook_secret)

    def test_refused_verification_never_changes_health(self):
        self.paypal.write({"health": "ok"})
        self.paypal.sudo().client_secret = "wrong"
        before = self.paypal.webhook_rejected_count
        response = self._post()
        self.assertEqual(response.status_code, 503)
        self.paypal.invalidate_recordset()
        self.assertEqual(self.paypal.health, "ok", "an anonymous request changes no health")
        self.assertEqual(self.paypal.webhook_rejected_count, before + 1)
        self.assertFalse(self._events())
