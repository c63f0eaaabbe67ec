import json
import logging

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import SUPERUSER_ID, http
from odoo.http import request

from ..adapters.stripe_signature import SignatureError, verify

_logger = logging.getLogger(__name__)


def _answer(status, **body):
    return request.make_json_response(body, status=status)


class StripeWebhookController(http.Controller):
    """Receives Stripe's webhook deliveries: verified, stored once, processed by a job.

    Answers: 200 for an accepted event and for a duplicate (Stripe stops
    retrying), 400 for a missing, wrong or expired signature or an unreadable
    body, 404 for an unknown connector, 413 for an oversize body. Anything
    unexpected raises, the request's transaction rolls back and Odoo answers
    500: then nothing was stored and Stripe retries.
    """

    @http.route(
        "/finsync/webhook/stripe/<int:backend_id>",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        readonly=False,
        save_session=False,
    )
    def stripe_webhook(self, backend_id):
        # auth='none': nobody is logged in. The connector is looked up by id and
        # type only (sudo), and the delivery is trusted only once its signature
        # matches one of that connector's secrets.
        env = request.env(user=SUPERUSER_ID, su=True)
        backend = env["finsync.backend"].browse(backend_id).exists()
        if not backend or backend.backend_type != "stripe" or not backend.active:
            return _answer(404, error="unknown webhook endpoint")
        payload = self._read_body(backend)
        if payload is None:
            return _answer(413, error="payload too large")
        header = request.httprequest.headers.get("Stripe-Signature", "")
        try:
            verify(
                payload,
                header,
                backend._stripe_webhook_secrets(),
                tolerance=backend.webhook_tolerance,
            )
        except SignatureError as err:
            backend._stripe_count_rejection(err.code)
            return _answer(400, error="signature rejected")
        try:
            document = json.loads(payload)
            event_id = document["id"]
            event_type = document.get("type") or ""
            if not isinstance(event_id, str) or not event_id:
                raise ValueError(event_id)
        except (ValueError, KeyError, TypeError):
            _logger.warning("FinSync Stripe webhook for backend %s: unreadable body", backend.id)
            return _answer(400, error="unreadable event")
        return self._store(backend, payload, event_id, event_type)

    def _read_body(self, backend):
        """The raw body, or None when it is larger than the connector allows."""
        limit = backend.webhook_max_kb * 1024
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > limit:
            return None
        httprequest.max_content_length = limit
        try:
            # Cached: when the transaction is retried after a lost race, Odoo runs
            # this endpoint again and the body must still be there.
            return httprequest.get_data()
        except RequestEntityTooLarge:
            return None

    def _store(self, backend, payload, event_id, event_type):
        """Store the event in the inbox and queue its processing, in this transaction."""
        user = backend._stripe_technical_user()
        Event = request.env(user=user.id, su=False)["finsync.event"].with_company(
            backend.company_id
        )
        backend = backend.with_env(Event.env)
        event = Event._ingest(
            backend,
            [
                {
                    "payload": payload,
                    "external_id": event_id,
                    "event_type": event_type,
                    "name": f"{event_type} {event_id}",
                    "signature_state": "valid",
                }
            ],
        )
        if event.state != "received" or event.job_uuid:
            return _answer(200, received=True, duplicate=True)
        event._stripe_enqueue()
        return _answer(200, received=True, duplicate=False)
