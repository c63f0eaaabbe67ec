import json
import logging

from odoo import http

from odoo.addons.finsync_base.controllers.webhook import WebhookEndpoint, answer

from ..adapters.stripe_signature import SignatureError, verify

_logger = logging.getLogger(__name__)


class StripeWebhookController(http.Controller, WebhookEndpoint):
    """Receives Stripe's webhook deliveries: verified, stored once, processed by a job.

    Answers (see ``finsync_base.controllers.webhook``): 200 for an accepted
    event and for a duplicate (Stripe stops retrying), 400 for a missing, wrong
    or expired signature (counted on the connector) or an unreadable body, 404
    for an unknown connector, 413 for an oversize body, 500 when anything
    unexpected happened: then nothing was stored and Stripe retries.
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
        backend, payload, refusal = self._webhook_delivery(backend_id, "stripe")
        if refusal:
            return refusal
        header = http.request.httprequest.headers.get("Stripe-Signature", "")
        try:
            verify(
                payload,
                header,
                backend._stripe_webhook_secrets(),
                tolerance=backend.webhook_tolerance,
            )
        except SignatureError as err:
            backend._gateway_count_rejection(err.code)
            return answer(400, error="signature rejected")
        try:
            document = json.loads(payload)
            event_id = document["id"]
            event_type = document.get("type") or ""
            if not isinstance(event_id, str) or not event_id:
                raise ValueError(event_id)
        except (ValueError, KeyError, TypeError):
            _logger.warning("FinSync Stripe webhook for backend %s: unreadable body", backend.id)
            return answer(400, error="unreadable event")
        return self._webhook_store(
            backend,
            backend._stripe_technical_user(),
            payload,
            event_id,
            event_type,
        )
