import datetime
import json
import zlib

from odoo.tests import HttpCase, tagged

from odoo.addons.queue_job.job import Job

from .common import WEBHOOK_ID, PayPalCommon


def forge_crc32(body, target, free_at, count=12):
    """``body`` with its ``count`` bytes from ``free_at`` (each one of ``@A..O``) set so
    that its CRC32 is ``target``: CRC32 is affine over GF(2), so the 4 free low bits
    of each byte are solved for like a linear system."""
    base = bytearray(body)
    for index in range(free_at, free_at + count):
        base[index] = 0x40
    origin = zlib.crc32(bytes(base))
    basis = {}  # pivot bit -> (CRC difference, free bits that make it)

    def reduce(vector, mask):
        for pivot in sorted(basis, reverse=True):
            if vector >> pivot & 1:
                vector ^= basis[pivot][0]
                mask ^= basis[pivot][1]
        return vector, mask

    for bit in range(count * 4):
        flipped = bytearray(base)
        flipped[free_at + bit // 4] ^= 1 << bit % 4
        vector, mask = reduce(zlib.crc32(bytes(flipped)) ^ origin, 1 << bit)
        if vector:
            basis[vector.bit_length() - 1] = (vector, mask)
    rest, mask = reduce(target ^ origin, 0)
    assert not rest, "no solution with these free bytes"
    for bit in range(count * 4):
        if mask >> bit & 1:
            base[free_at + bit // 4] ^= 1 << bit % 4
    return bytes(base)


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

    def test_stale_or_future_transmission_is_refused(self):
        now = datetime.datetime.now(datetime.UTC)
        self.assertEqual(self.paypal.paypal_webhook_tolerance, 300)
        cases = {
            "ten minutes old": now - datetime.timedelta(minutes=10),
            "ten minutes ahead": now + datetime.timedelta(minutes=10),
        }
        with self.assertLogs("odoo.addons", level="WARNING"):
            for name, sent in cases.items():
                with self.subTest(name):
                    headers = self.sim.sign(self.body, sent=sent)
                    self.assertEqual(self._post(headers=headers).status_code, 400)
        self.assertFalse(self._events(), "nothing stored")
        self.assertFalse(self._verifications(), "PayPal is not asked about a stale delivery")
        self.paypal.invalidate_recordset()
        self.assertEqual(self.paypal.webhook_rejected_count, len(cases))
        headers = self.sim.sign(self.body, sent=now + datetime.timedelta(seconds=20))
        self.assertEqual(self._post(headers=headers).status_code, 200, "within the clock skew")

    def test_replayed_transmission_with_a_body_of_equal_crc32_is_refused(self):
        """PayPal signs a CRC32 of the body: captured headers must not carry another body."""
        headers = self.sim.sign(self.body)
        self.assertEqual(self._post(headers=headers).status_code, 200)
        forged = json.loads(self.body)
        forged["id"] = "WH-EVT-FORGED"
        resource = forged["resource"]
        resource["id"] = "FORGED0000000001"
        for money in (resource["amount"], *resource["seller_receivable_breakdown"].values()):
            money["value"] = "9999.00"
        forged["note"] = "@" * 12
        text = json.dumps(forged).encode()
        body = forge_crc32(text, zlib.crc32(self.body), text.index(b'"note": "') + 9)
        self.assertEqual(zlib.crc32(body), zlib.crc32(self.body))
        self.assertEqual(json.loads(body)["resource"]["amount"]["value"], "9999.00")
        with self.assertLogs("odoo.addons", level="WARNING"):
            response = self._post(body=body, headers=headers)
        self.assertEqual(response.status_code, 400, response.text)
        self.assertEqual(self._events().mapped("external_id"), ["WH-EVT-1"], "nothing stored")
        self.paypal.invalidate_recordset()
        self.assertEqual(self.paypal.webhook_rejected_count, 1)
        for event in self._events():
            Job.load(self.env, event.job_uuid).perform()
        self.assertEqual(self.transactions().mapped("amount"), [42.0], "9,999.00 not booked")
        self.assertEqual(
            self._post(body=body, headers=self.sim.sign(body)).status_code,
            200,
            "the same body in a transmission of its own is PayPal's to confirm",
        )

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
