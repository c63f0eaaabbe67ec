"""The Stripe connector type: balance transactions pulled from a watermark, signed webhooks."""

import json

from odoo.addons.finsync_base.components.connector import (
    Connector,
    ConnectorSetupError,
    WebhookRefused,
    register,
)

from ..adapters.stripe_api import StripeApiError, StripeClient, StripeTransientError
from ..adapters.stripe_signature import SignatureError, verify

STRIPE_CHANNEL = "root.finsync.stripe"


@register("stripe")
class StripeConnector(Connector):
    label = "Stripe"
    channel = STRIPE_CHANNEL
    transient_errors = (StripeTransientError,)
    refusal_errors = (StripeApiError,)
    payment_gateway = True

    # -- adapter -------------------------------------------------------------------
    def client(self):
        backend = self.backend
        api_key = backend._get_secret("api_key")
        if not api_key:
            raise ConnectorSetupError(
                self.env._("Connector %(name)s has no API key.", name=backend.name)
            )
        return StripeClient(api_key, backend.api_url or None, timeout=self.http_timeout())

    # -- synchronizer --------------------------------------------------------------
    def watermark(self):
        return self.backend.stripe_watermark or 0

    def save_watermark(self, watermark):
        # sudo: the watermark is read-only for people; the pull moves it.
        self.backend.sudo().stripe_watermark = watermark

    def pull(self, client, watermark):
        """Balance transactions from the watermark (unix time), then payout contents.

        Each page is stored as an event (keyed by its content: a page seen again
        is a duplicate) and processed at once; the payouts met read their
        transactions in this pull (no job per payout).
        """
        self.backend = self.backend.with_context(finsync_stripe_reads_payouts=True)
        self.env = self.backend.env
        for page in client.balance_transaction_pages(created_gte=watermark or None):
            data = page.get("data") or []
            if not data:
                continue
            self.store_page(page, "balance_transactions")
            watermark = max(watermark, *(int(bt.get("created") or 0) for bt in data))
        self.env["finsync.settlement"].search(
            [("backend_id", "=", self.backend.id), ("composition_loaded", "=", False)]
        )._load_composition(client)
        return watermark

    def store_page(self, page, event_type):
        """Store a page of balance transactions as an event and process it now."""
        data = page["data"]
        return self.store(
            [
                {
                    "event_type": event_type,
                    "name": f"{event_type} {data[-1]['id']}..{data[0]['id']}",
                    "payload": json.dumps(page, sort_keys=True),
                }
            ],
            items=len(data),
        )

    # -- webhooks ------------------------------------------------------------------
    def verify_webhook(self, headers, body):
        """The ``Stripe-Signature`` header: an HMAC of its timestamp and the body with
        one of the active signing secrets, the timestamp within the tolerance."""
        backend = self.backend
        try:
            verify(
                body,
                headers.get("Stripe-Signature", ""),
                backend._stripe_webhook_secrets(),
                tolerance=backend.webhook_tolerance,
            )
        except SignatureError as err:
            raise WebhookRefused(err.code) from err

    def webhook_user(self):
        return self.backend._stripe_technical_user()

    # -- mapper --------------------------------------------------------------------
    def process(self, event):
        return event._process_payload_stripe()
