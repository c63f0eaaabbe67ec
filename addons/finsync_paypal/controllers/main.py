import datetime
import json
import logging

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request

from odoo.addons.finsync_base.controllers.webhook import WebhookEndpoint, answer

from ..adapters.paypal_api import (
    PayPalApiError,
    PayPalTransientError,
    TransmissionRefused,
    check_transmission,
)

_logger = logging.getLogger(__name__)

# A delivery waits for PayPal's answer on verification: keep that short, and let
# PayPal redeliver (it retries for three days) rather than hold a worker.
VERIFY_TIMEOUT = 10


class PayPalWebhookController(http.Controller, WebhookEndpoint):
    """Receives PayPal's webhook deliveries: verified by PayPal, stored once, processed by a job.

    PayPal signs with a certificate; FinSync asks PayPal's own
    verify-webhook-signature API, sending the transmission headers, the webhook
    id registered for the connector and the body as received: the body alone
    is never trusted. PayPal signs only a CRC32 of the body: a delivery whose
    transmission time is outside the connector's tolerance, or whose
    transmission id the connector already accepted, is refused too.
    Answers: 200 for an accepted event and for a duplicate, 400 when PayPal
    does not confirm the delivery (or no webhook id is configured: fail
    closed), its transmission is stale or replayed, or the body is unreadable,
    404 for an unknown connector, 413 for an oversize body, 503 when PayPal
    could not be asked (nothing stored: PayPal redelivers). Anything unexpected
    raises, the request's transaction rolls back and Odoo answers 500: nothing
    was stored.
    """

    @http.route(
        "/finsync/webhook/paypal/<int:backend_id>",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        readonly=False,
        save_session=False,
    )
    def paypal_webhook(self, backend_id):
        # The delivery is trusted only once PayPal confirms it.
        backend, payload, refusal = self._webhook_delivery(backend_id, "paypal")
        if refusal:
            return refusal
        try:
            document = json.loads(payload)
            event_id = document["id"]
            event_type = document.get("event_type") or ""
            if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
                raise ValueError(event_id)
        except (ValueError, KeyError, TypeError, AttributeError):
            backend._gateway_count_rejection("unreadable body")
            return answer(400, error="unreadable event")
        headers = request.httprequest.headers
        try:
            transmission_id = check_transmission(
                headers, datetime.datetime.now(datetime.UTC), backend.paypal_webhook_tolerance
            )
        except TransmissionRefused as err:
            backend._gateway_count_rejection(str(err))
            return answer(400, error="signature rejected")
        webhook_id = backend._paypal_webhook_id()
        if not webhook_id:
            backend._gateway_count_rejection("no webhook id configured")
            return answer(400, error="signature rejected")
        try:
            client = backend._paypal_client(timeout=VERIFY_TIMEOUT, max_retries=1)
            genuine = client.verify_webhook_signature(headers, webhook_id, payload)
        except PayPalTransientError as err:
            _logger.warning(
                "FinSync PayPal webhook for backend %s: PayPal unreachable (%s)", backend.id, err
            )
            return answer(503, error="verification unavailable")
        except PayPalApiError as err:
            # Our credentials or PayPal's refusal: nothing stored, PayPal redelivers
            # once the connector is fixed. Counted, never a health change: anyone
            # can send this request (pulls and processing set the health).
            _logger.warning(
                "FinSync PayPal webhook for backend %s: verification refused (%s)", backend.id, err
            )
            backend._gateway_count_rejection("PayPal refused the verification request")
            return answer(503, error="verification unavailable")
        except UserError:
            # No client id or secret: PayPal cannot be asked until an admin sets them.
            _logger.warning("FinSync PayPal webhook for backend %s: no credentials", backend.id)
            return answer(503, error="verification unavailable")
        if not genuine:
            backend._gateway_count_rejection("PayPal did not confirm the signature")
            return answer(400, error="signature rejected")
        if not backend.env["finsync.paypal.transmission"]._claim(backend, transmission_id):
            # Signed headers replayed (perhaps with another body of the same CRC32).
            backend._gateway_count_rejection("transmission id already used")
            return answer(400, error="signature rejected")
        return self._store(backend, payload, event_id, event_type)

    def _store(self, backend, payload, event_id, event_type):
        """Store the event in the inbox and queue its processing, in this transaction."""
        return self._webhook_store(
            backend,
            backend._paypal_technical_user(),
            payload,
            event_id,
            event_type,
        )
