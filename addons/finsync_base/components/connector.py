"""The connector contract: one plain class per connector type, registered by ``backend_type``.

A connector type (bank API, Stripe, PayPal...) is a subclass of ``Connector``
registered with ``@register("<backend_type>")``. It holds the roles of OCA
connector, and ``finsync.backend`` runs the flows every type shares by
calling it (``finsync_base/models/finsync_backend_pull.py``):

- **adapter**: ``client()`` builds the API client from the connector's
  settings and secrets (read with ``backend._get_secret``), with the connect
  and read timeouts of ``http_timeout()``; the client makes
  the remote calls and raises ``transient_errors`` (throttling, outages: the
  job tries again, after ``err.retry_after`` seconds when the source said so)
  or ``refusal_errors`` (the source refused: a *sync failed* exception opens,
  named by the request's method and path, never a secret or a query);
- **synchronizer**: ``pull(client, watermark)`` reads everything after the
  watermark, page by page, and hands each page to ``store()``; it returns the
  new watermark, which the shared flow saves (``save_watermark``) only when
  the whole pull succeeded;
- **mapper**: ``process(event)`` turns a stored event's payload into
  canonical values and books them (each type keeps its pure mapper module);
- **binder**: ``bind(external_ids)``: external id <-> transaction, unique per
  connector (SQL unique key on backend and external id);
- **webhooks** (a type that receives them overrides ``verify_webhook``):
  ``webhook_event(body)`` reads the event id and type, ``verify_webhook(headers,
  body)`` checks the delivery comes from the source, ``webhook_user()`` is the
  technical user it is stored as. ``finsync_base/controllers/webhook.py`` runs
  the request step around them, once for every type.

Files imported by hand go through a wizard inheriting ``finsync.file.import``
(``finsync_base/wizards/finsync_file_import.py``); ``max_file_bytes()`` bounds
their size.

``channel`` names the queue_job channel of the type's jobs (pulls, event
processing); it is declared as data by the connector's addon.

A shared model never tests ``backend_type``: when it needs to, the contract
is missing a hook. A new connector is a new addon: its class, adapter,
mapper and views.
"""

import json

from odoo.exceptions import UserError

from ..tools.http_client import CONNECT_TIMEOUT, READ_TIMEOUT

CONNECTORS = {}
# System parameters of the API clients' timeouts, in seconds (``Connector.http_timeout``).
PARAM_CONNECT_TIMEOUT = "finsync_base.api_connect_timeout"
PARAM_READ_TIMEOUT = "finsync_base.api_read_timeout"


def register(backend_type):
    """Class decorator: the connector class of ``backend_type``."""

    def decorate(cls):
        cls.backend_type = backend_type
        CONNECTORS[backend_type] = cls
        return cls

    return decorate


def connector_class(backend_type):
    """The class registered for ``backend_type`` (the base ``Connector`` when none is)."""
    return CONNECTORS.get(backend_type, Connector)


def connector_channels():
    """``{backend_type: channel}`` of every registered connector type."""
    return {backend_type: cls.channel for backend_type, cls in CONNECTORS.items()}


class ConnectorSetupError(UserError):
    """The connector lacks a setting the source needs (URL, credentials): a failed pull."""


class WebhookRefused(Exception):
    """A delivery refused (answered 400, counted on the connector).

    ``code`` says why in a few words, for the log and the rejection counter:
    never the payload, a header or a secret.
    """

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class WebhookUnavailable(Exception):
    """A delivery that cannot be verified now (answered 503: the source delivers again).

    ``code`` says why (logged); ``counted`` counts it as a rejection too (the
    source refused our verification request: a setting to fix).
    """

    def __init__(self, code, counted=False):
        super().__init__(code)
        self.code = code
        self.counted = counted


class Connector:
    """One connector type: see the module's docstring for the contract."""

    backend_type = None
    # Name shown in messages ("Stripe refused the pull of ...").
    label = "FinSync"
    # The queue_job channel of this type's jobs (declared as data by its addon).
    channel = "root.finsync"
    # Adapter exceptions: try again later / the source refused.
    transient_errors = ()
    refusal_errors = ()
    # A payment gateway (finsync_gateway's clearing journals and payouts apply).
    payment_gateway = False
    # Largest file the type's import wizard reads (``max_file_bytes``).
    max_file_size_mb = 50

    def __init__(self, backend):
        backend.ensure_one()
        self.backend = backend
        self.env = backend.env
        self.items = 0  # records the pulled pages carried (for "N new, M already known")

    # -- synchronizer ------------------------------------------------------------
    @classmethod
    def can_pull(cls):
        return cls.pull is not Connector.pull

    def client(self):
        """The adapter: an API client built from the connector's settings and secrets."""
        raise NotImplementedError

    def http_timeout(self):
        """``(connect, read)`` seconds for the client's requests.

        The system parameters ``finsync_base.api_connect_timeout`` and
        ``finsync_base.api_read_timeout`` (10 and 30 by default): a source
        that accepts the connection and never answers fails the request after
        the read timeout, and the pull is retried later from its watermark.
        """
        # sudo: technical settings, read for whoever runs the pull.
        params = self.env["ir.config_parameter"].sudo()
        timeouts = []
        for key, default in (
            (PARAM_CONNECT_TIMEOUT, CONNECT_TIMEOUT),
            (PARAM_READ_TIMEOUT, READ_TIMEOUT),
        ):
            try:
                timeouts.append(max(float(params.get_param(key, default)), 0.1))
            except ValueError:
                timeouts.append(float(default))
        return tuple(timeouts)

    def pull(self, client, watermark):
        """Store and process every page after ``watermark``; return the new watermark."""
        raise NotImplementedError

    def watermark(self):
        return None

    def save_watermark(self, watermark):
        """Keep ``watermark`` for the next pull (called once the pull succeeded)."""

    def store(self, events, items=0):
        """Store pulled pages as events (once: a page seen again is a duplicate) and
        process the new ones now; ``items`` is how many records they carry."""
        stored = self.env["finsync.event"]._ingest(self.backend, events)
        stored.filtered(lambda e: e.state in ("received", "queued"))._process()
        self.items += items
        return stored

    def max_file_bytes(self):
        """Files larger than this are refused before they are read."""
        return self.max_file_size_mb * 1024 * 1024

    # -- mapper ------------------------------------------------------------------
    def process(self, event):
        """Book ``event``'s payload (canonical values from the type's mapper)."""
        raise UserError(
            self.env._("No processor for connectors of type %(type)s.", type=self.backend_type)
        )

    # -- binder ------------------------------------------------------------------
    def bind(self, external_ids):
        """The connector's transactions of ``external_ids`` (unique per connector)."""
        return self.env["finsync.transaction"].search(
            [("backend_id", "=", self.backend.id), ("external_id", "in", list(external_ids))]
        )

    # -- webhooks ------------------------------------------------------------------
    # Key of the event type in a delivery's JSON body (the id is at "id").
    webhook_type_key = "type"

    @classmethod
    def receives_webhooks(cls):
        return cls.verify_webhook is not Connector.verify_webhook

    def webhook_event(self, body):
        """``(event id, event type)`` of a delivery's raw ``body``.

        Read before the delivery is verified: raise ``WebhookRefused`` for a
        body that is not a JSON object with a string ``id``.
        """
        try:
            document = json.loads(body)
            event_id = document["id"]
            event_type = document.get(self.webhook_type_key) or ""
            if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
                raise ValueError("no event id")
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise WebhookRefused("unreadable body") from err
        return event_id, event_type

    def verify_webhook(self, headers, body):
        """Check that the delivery (``headers``, raw ``body``) comes from the source.

        Raise ``WebhookRefused`` (a missing, wrong or expired signature) or
        ``WebhookUnavailable`` (the source could not be asked). Anyone can send
        the request: change nothing but what the check itself records, never
        the connector's health. Runs as superuser on an anonymous request.
        """
        raise NotImplementedError

    def webhook_user(self):
        """The technical user a verified delivery is stored and processed as."""
        raise NotImplementedError


@register("generic")
class GenericConnector(Connector):
    """Canonical JSON pushed or imported: no pull."""

    label = "Generic"
    channel = "root.finsync.generic"

    def process(self, event):
        return event._process_payload_generic()
