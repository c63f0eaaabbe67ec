"""The webhook request step of every connector type, written once.

``/finsync/webhook/<backend_type>/<connector id>`` (for instance
``/finsync/webhook/stripe/7``) receives a source's deliveries. The connector's
type class (``components/connector.py``) keeps only what is its own: reading
the event id and type from the body (``webhook_event``), checking that the
delivery comes from the source (``verify_webhook``) and the technical user the
event is stored as (``webhook_user``). The rest is here, once: the connector
looked up by id and type, the size limit (a body sent chunked, without a
length, is read up to the limit and no further), the refusals counted,
storing the event in the inbox within the request and the answers:

- 200 for an accepted event and for a duplicate (the source stops retrying),
  including a duplicate that raced the first delivery: the inbox's unique key
  makes the loser's transaction fail, Odoo retries the request and it then
  finds the stored event;
- 400 for an unreadable body or a delivery the type refuses (counted on the
  connector, never a health change: anyone can send this request);
- 404 for an unknown connector or a type that receives no webhooks, 413 for
  an oversize body;
- 503 when the type could not verify the delivery now (nothing stored: the
  source delivers again), and when Odoo cannot reach the database (PostgreSQL
  restarting): Odoo then serves the request without a database, where this
  route exists only when ``finsync_base`` is loaded server-wide (without it
  Odoo answers 404, which the gateways also retry);
- 5xx only when nothing was stored: anything unexpected raises, the request's
  transaction rolls back and Odoo answers 500.
"""

import logging

from odoo import SUPERUSER_ID, http
from odoo.exceptions import MissingError
from odoo.http import request

from ..components.connector import WebhookRefused, WebhookUnavailable, connector_class

_logger = logging.getLogger(__name__)

# Where the body read once is kept on Odoo's request object for a retried run.
BODY_ATTRIBUTE = "finsync_webhook_body"
READ_SIZE = 64 * 1024


def read_at_most(stream, size):
    """Up to ``size`` bytes of ``stream``: fewer only when it ends first.

    A chunked body's stream answers one chunk per read: read until the stream
    ends or ``size`` bytes are there, never more.
    """
    parts = []
    missing = size
    while missing > 0:
        part = stream.read(min(missing, READ_SIZE))
        if not part:
            break
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def _input_stream(httprequest):
    """The request's input stream (werkzeug's, length-limited or dechunked).

    Odoo's request wrapper exposes ``get_data`` (reads everything) but not the
    stream: it is reached on the wrapped werkzeug request, as Odoo's own code
    reaches the wrapped environ.
    """
    return httprequest._HTTPRequest__wrapped.stream


def answer(status, **body):
    """A JSON answer with ``status``."""
    return request.make_json_response(body, status=status)


class WebhookEndpoint(http.Controller):
    """Receives every connector type's webhook deliveries (see the module)."""

    @http.route(
        "/finsync/webhook/<string:backend_type>/<int:backend_id>",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        readonly=False,
        save_session=False,
    )
    def finsync_webhook(self, backend_type, backend_id):
        if not request.db:
            return answer(503, error="database unavailable")
        backend, payload, refusal = self._webhook_delivery(backend_id, backend_type)
        if refusal:
            return refusal
        connector = backend._connector()
        try:
            event_id, event_type = connector.webhook_event(payload)
        except WebhookRefused as err:
            backend._webhook_count_rejection(err.code)
            return answer(400, error="unreadable event")
        try:
            connector.verify_webhook(request.httprequest.headers, payload)
        except WebhookRefused as err:
            backend._webhook_count_rejection(err.code)
            return answer(400, error="signature rejected")
        except WebhookUnavailable as err:
            _logger.warning(
                "FinSync %s webhook for backend %s: verification unavailable (%s)",
                backend_type,
                backend.id,
                err.code,
            )
            if err.counted:
                backend._webhook_count_rejection(err.code)
            return answer(503, error="verification unavailable")
        return self._webhook_store(backend, connector.webhook_user(), payload, event_id, event_type)

    def _webhook_backend(self, backend_id, backend_type):
        """The active connector ``backend_id`` of ``backend_type`` (sudo), or None.

        auth='none': nobody is logged in. The connector is looked up by id and
        type only, and the delivery is trusted only once its type verified it.
        A type that receives no webhooks is answered without a query.
        """
        if not connector_class(backend_type).receives_webhooks():
            return None
        # sudo: nobody is logged in; the connector is read to verify the delivery.
        env = request.env(user=SUPERUSER_ID, su=True)
        backend = env["finsync.backend"].browse(backend_id)
        try:
            # Reading a field fetches the row (one query, no separate exists()).
            if backend.backend_type != backend_type or not backend.active:
                return None
        except MissingError:
            return None
        return backend

    def _webhook_delivery(self, backend_id, backend_type):
        """``(backend, payload, None)`` for a delivery to read, else ``(None, None, answer)``.

        404 for an unknown or inactive connector, 413 for a body over its limit.
        """
        backend = self._webhook_backend(backend_id, backend_type)
        if backend is None:
            return None, None, answer(404, error="unknown webhook endpoint")
        payload = self._webhook_body(backend._webhook_limit_kb())
        if payload is None:
            return None, None, answer(413, error="payload too large")
        return backend, payload, None

    def _webhook_body(self, limit_kb):
        """The raw body, or None when it is larger than ``limit_kb`` kilobytes.

        The input stream is read up to the limit and one byte more, whether the
        client announced a Content-Length or sent the body chunked (no length):
        an oversize body is refused without the rest being read into memory.
        The body is kept on the request: when Odoo runs the endpoint again after
        a lost race (a serialization failure retries the whole request), the
        stream is spent and the run sees the same bytes from there.
        """
        httprequest = request.httprequest
        body = getattr(httprequest, BODY_ATTRIBUTE, None)
        if body is not None:
            return body
        limit = limit_kb * 1024
        if (httprequest.content_length or 0) > limit:
            return None
        body = read_at_most(_input_stream(httprequest), limit + 1)
        if len(body) > limit:
            return None
        setattr(httprequest, BODY_ATTRIBUTE, body)
        return body

    def _webhook_store(self, backend, user, payload, event_id, event_type):
        """Store the event in the inbox as ``user`` and queue its processing, in this transaction.

        The event joins the connector's pending inbox job (see
        ``finsync.event._enqueue_inbox``); only the request whose INSERT
        created the row gets there with a received event without a job.
        """
        Event = request.env(user=user.id, su=False)["finsync.event"].with_company(
            backend.company_id
        )
        event = Event._ingest(
            backend.with_env(Event.env),
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
            return answer(200, received=True, duplicate=True)
        event._enqueue_inbox()
        return answer(200, received=True, duplicate=False)
