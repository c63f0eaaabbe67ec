"""The PayPal connector type: transaction search from a watermark, balances, verified webhooks."""

import datetime
import json

from odoo import fields
from odoo.exceptions import UserError

from odoo.addons.finsync_base.components.connector import (
    Connector,
    ConnectorSetupError,
    WebhookRefused,
    WebhookUnavailable,
    register,
)

from ..adapters.paypal_api import (
    LIVE_URL,
    SANDBOX_URL,
    PayPalApiError,
    PayPalClient,
    PayPalTransientError,
    TransmissionRefused,
    check_transmission,
)
from ..adapters.paypal_mapper import PayPalMappingError, to_moment

PAYPAL_CHANNEL = "root.finsync.paypal"
# A delivery waits for PayPal's answer on verification: keep that short, and let
# PayPal redeliver (it retries for three days) rather than hold a worker.
VERIFY_TIMEOUT = 10


@register("paypal")
class PayPalConnector(Connector):
    label = "PayPal"
    channel = PAYPAL_CHANNEL
    transient_errors = (PayPalTransientError,)
    refusal_errors = (PayPalApiError,)
    payment_gateway = True
    webhook_type_key = "event_type"

    # -- adapter -------------------------------------------------------------------
    def client(self, **kwargs):
        """The API client of this connector (credentials read here only, never logged)."""
        backend = self.backend
        # Client id and secret are readable by Settings only: read through the one
        # accessor, passed straight to the client.
        client_id = backend._get_secret("client_id")
        secret = backend._get_secret("client_secret")
        if not client_id or not secret:
            raise ConnectorSetupError(
                self.env._(
                    "PayPal connector %(name)s has no client id or secret.", name=backend.name
                )
            )
        url = backend.api_url or (LIVE_URL if backend.environment == "live" else SANDBOX_URL)
        return PayPalClient(client_id, secret, url, **{"timeout": self.http_timeout(), **kwargs})

    # -- synchronizer --------------------------------------------------------------
    def watermark(self):
        return self.backend.paypal_watermark

    def save_watermark(self, watermark):
        # sudo: the watermark is read-only for people; the pull moves it.
        self.backend.sudo().paypal_watermark = watermark

    def pull(self, client, watermark):
        """PayPal's transactions from the watermark, then pending ones again, then balances.

        The range from the watermark (less the look-back) to now is read in
        windows of 31 days; each page is stored as an event (keyed by its
        content: a page seen again is a duplicate) and processed at once. The
        new watermark is where PayPal said its data was complete, so nothing is
        lost; transactions are keyed by PayPal's id, so nothing read twice is
        booked twice.
        """
        now = fields.Datetime.now().replace(microsecond=0)
        watermark = self._pull_pages(client, watermark, now)
        self._refresh_pending(client, now)
        self._store_balances(client.balances(), now)
        return watermark

    def _pull_range(self, watermark, now):
        start = watermark
        if start:
            start -= datetime.timedelta(hours=self.backend.paypal_lookback_hours)
        else:
            start = now - datetime.timedelta(days=self.backend.paypal_first_pull_days)
        return start, now

    def _pull_pages(self, client, watermark, now):
        """Store and process every page of the pull range; returns the new watermark."""
        start, end = self._pull_range(watermark, now)
        utc = datetime.UTC
        refreshed = end
        for window_start, window_end, page in client.transaction_pages(
            start.replace(tzinfo=utc), end.replace(tzinfo=utc)
        ):
            mark = page.get("last_refreshed_datetime")
            if mark:
                refreshed = min(refreshed, self._naive(mark, window_end))
            if not page.get("transaction_details"):
                continue
            self.store_page(
                page,
                f"transactions {window_start:%Y-%m-%d}..{window_end:%Y-%m-%d} "
                f"p{page.get('page') or 1}",
            )
        return max(min(refreshed, end), watermark or start)

    def _refresh_pending(self, client, now, limit=100):
        """Ask PayPal again about payments still pending, one by one.

        A search lists a transaction by the day it started: a payment that
        clears days later (an eCheck) is never in a later pull's range. Pending
        payments of the last 31 days are searched for by id in their own window;
        a page that says nothing new is a duplicate event and changes nothing.
        """
        pending = self.env["finsync.transaction"].search(
            [
                ("backend_id", "=", self.backend.id),
                ("state", "in", ("initiated", "acknowledged")),
                ("paypal_category", "not in", ("withdrawal", "hold", "release", "conversion")),
                ("booking_date", ">=", (now - datetime.timedelta(days=31)).date()),
            ],
            order="booking_date, id",
            limit=limit,
        )
        utc = datetime.UTC
        for tx in pending:
            start = datetime.datetime.combine(tx.booking_date, datetime.time(), utc)
            start -= datetime.timedelta(days=1)
            end = min(start + datetime.timedelta(days=31), now.replace(tzinfo=utc))
            for _start, _end, page in client.transaction_pages(start, end, tx.external_id):
                if page.get("transaction_details"):
                    self.store_page(page, f"transaction {tx.external_id}")
        return pending

    @staticmethod
    def _naive(text, default):
        try:
            moment = to_moment(text, "last_refreshed_datetime")
        except PayPalMappingError:
            moment = default
        return moment.astimezone(datetime.UTC).replace(tzinfo=None)

    def store_page(self, page, name):
        """Store a page of transactions as an event and process it now."""
        return self.store(
            [
                {
                    "event_type": "transactions",
                    "name": name,
                    "payload": json.dumps(page, sort_keys=True),
                }
            ],
            items=len(page.get("transaction_details") or []),
        )

    def _store_balances(self, payload, now):
        """Keep PayPal's balances as an event: it opens each currency's journal and checks it."""
        if not (payload or {}).get("balances"):
            return self.env["finsync.event"]
        return self.store(
            [
                {
                    "event_type": "balances",
                    "name": f"balances {now:%Y-%m-%d %H:%M}",
                    "payload": json.dumps(payload, sort_keys=True),
                }
            ]
        )

    # -- webhooks ------------------------------------------------------------------
    def verify_webhook(self, headers, body):
        """Asked to PayPal: its verify-webhook-signature API gets the transmission
        headers, the webhook id registered for the connector and the body as received.

        PayPal signs only a CRC32 of the body: a transmission time outside the
        tolerance (PayPal is not asked) or a transmission id the connector
        already accepted is refused too. No webhook id configured: refused
        (fail closed). PayPal unreachable, our credentials missing or refused:
        unavailable (503), PayPal delivers again once it is fixed.
        """
        backend = self.backend
        try:
            transmission_id = check_transmission(
                headers, datetime.datetime.now(datetime.UTC), backend.paypal_webhook_tolerance
            )
        except TransmissionRefused as err:
            raise WebhookRefused(str(err)) from err
        webhook_id = backend._paypal_webhook_id()
        if not webhook_id:
            raise WebhookRefused("no webhook id configured")
        try:
            client = self.client(timeout=VERIFY_TIMEOUT, max_retries=1)
            genuine = client.verify_webhook_signature(headers, webhook_id, body)
        except PayPalTransientError as err:
            raise WebhookUnavailable(f"PayPal unreachable ({err})") from err
        except PayPalApiError as err:
            # Our credentials or PayPal's refusal: counted, never a health change.
            raise WebhookUnavailable(
                f"PayPal refused the verification request ({err})", counted=True
            ) from err
        except UserError as err:
            # No client id or secret: PayPal cannot be asked until an admin sets them.
            raise WebhookUnavailable("no credentials") from err
        if not genuine:
            raise WebhookRefused("PayPal did not confirm the signature")
        if not self.env["finsync.paypal.transmission"]._claim(backend, transmission_id):
            # Signed headers replayed (perhaps with another body of the same CRC32).
            raise WebhookRefused("transmission id already used")

    def webhook_user(self):
        return self.backend._paypal_technical_user()

    # -- mapper --------------------------------------------------------------------
    def process(self, event):
        return event._process_payload_paypal()
