import json
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import identity_exact

from ..adapters.stripe_api import StripeApiError, StripeClient, StripeTransientError
from ..adapters.stripe_signature import DEFAULT_TOLERANCE, split_secrets

_logger = logging.getLogger(__name__)


class FinsyncBackend(models.Model):
    _inherit = "finsync.backend"

    backend_type = fields.Selection(
        selection_add=[("stripe", "Stripe")], ondelete={"stripe": "cascade"}
    )
    stripe_watermark = fields.Integer(
        string="Pulled Up To (unix time)",
        readonly=True,
        copy=False,
        help="Creation time of the newest balance transaction pulled; the next pull "
        "resumes there (transactions of that second are read again and deduplicated).",
    )
    webhook_tolerance = fields.Integer(
        string="Signature Tolerance (s)",
        default=DEFAULT_TOLERANCE,
        help="How far the signed timestamp may be from now, in seconds.",
    )
    webhook_url = fields.Char(compute="_compute_webhook_url", string="Webhook URL")
    _sql_constraints = [
        (
            "webhook_limits_positive",
            "CHECK(webhook_tolerance > 0)",
            "The webhook signature tolerance must be positive.",
        ),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    def _compute_webhook_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for backend in self:
            backend.webhook_url = (
                f"{base_url}/finsync/webhook/stripe/{backend.id}"
                if backend.backend_type == "stripe" and backend.id
                else False
            )

    # ------------------------------------------------------------------
    # Actions and schedule
    # ------------------------------------------------------------------
    def action_pull_now(self):
        """Button: queue a pull of every Stripe connector selected (and the others' own)."""
        for backend in self.filtered(lambda b: b.backend_type == "stripe"):
            backend._enqueue_stripe_pull()
        return super().action_pull_now()

    def _enqueue_stripe_pull(self):
        self.ensure_one()
        return self.with_delay(
            channel="root.finsync.stripe",
            description=self.env._("Pull Stripe %(name)s", name=self.name),
            identity_key=identity_exact,
            max_retries=self.max_attempts,
        )._pull_stripe()

    @api.model
    def _cron_pull_stripe(self):
        """Queue a pull for every scheduled Stripe connector that is due."""
        due = self._gateway_due_for_pull("stripe")
        for backend in due:
            backend._enqueue_stripe_pull()
        return due

    # ------------------------------------------------------------------
    # Pull
    # ------------------------------------------------------------------
    def _stripe_client(self):
        self.ensure_one()
        api_key = self._get_secret("api_key")
        if not api_key:
            raise UserError(self.env._("Connector %(name)s has no API key.", name=self.name))
        return StripeClient(api_key, self.api_url or None)

    def _pull_stripe(self):
        """Job: pull balance transactions from the watermark, then payout contents.

        Each page is stored as an event (keyed by its content: a page seen again
        is a duplicate) and processed at once. The watermark moves only when
        the job commits, so a pull that fails part-way resumes where the last
        good pull ended. Throttling and outages are retried by the job; any
        other refusal opens a ``sync_failed`` exception.
        """
        self.ensure_one()
        # The pull reads the payouts' transactions itself (no job per payout).
        backend = self.with_context(finsync_stripe_reads_payouts=True)
        try:
            client = backend._stripe_client()
            watermark = backend._stripe_pull_pages(client)
            backend.env["finsync.settlement"].search(
                [("backend_id", "=", backend.id), ("composition_loaded", "=", False)]
            )._load_composition(client)
        except StripeTransientError as err:
            raise RetryableJobError(str(err), seconds=int(err.retry_after or 60)) from err
        except (StripeApiError, UserError) as err:
            return self._stripe_pull_failed(str(err))
        self.sudo().stripe_watermark = watermark
        self._mark_sync_success()
        _logger.info(
            "FinSync Stripe %s: pulled to %s, %d requests", self.id, watermark, client.requests_sent
        )
        return self.env._("Pulled up to %(mark)s", mark=watermark)

    def _stripe_pull_pages(self, client):
        watermark = self.stripe_watermark or 0
        for page in client.balance_transaction_pages(created_gte=watermark or None):
            data = page.get("data") or []
            if not data:
                continue
            self._stripe_store_page(page, "balance_transactions")
            watermark = max(watermark, *(int(bt.get("created") or 0) for bt in data))
        return watermark

    def _stripe_store_page(self, page, event_type):
        """Store a page of balance transactions as an event and process it now."""
        data = page["data"]
        event = self.env["finsync.event"]._ingest(
            self,
            [
                {
                    "event_type": event_type,
                    "name": f"{event_type} {data[-1]['id']}..{data[0]['id']}",
                    "payload": json.dumps(page, sort_keys=True),
                }
            ],
        )
        event.filtered(lambda e: e.state in ("received", "queued"))._process()
        return event

    def _stripe_pull_failed(self, message):
        return self._gateway_pull_failed(message, "Stripe")

    # ------------------------------------------------------------------
    # Webhooks
    # ------------------------------------------------------------------
    def _stripe_webhook_secrets(self):
        """The active signing secrets (several during a rotation); connector code only."""
        self.ensure_one()
        return split_secrets(self._get_secret("webhook_secret"))

    # ------------------------------------------------------------------
    # Gateway
    # ------------------------------------------------------------------
    @api.model
    def _gateway_types(self):
        return [*super()._gateway_types(), "stripe"]

    def _stripe_technical_user(self):
        """The FinSync accountant Stripe's deliveries are stored and processed as."""
        return self._gateway_technical_user("finsync_stripe.user_finsync_stripe")

    def _load_stripe_demo_data(self):
        """The simulator's demo story as webhook events, and the bank line of its first payout."""
        from ..tools.stripe_simulator import demo_simulator

        self.ensure_one()
        backend = self.with_context(finsync_stripe_reads_payouts=True)
        sim = demo_simulator()
        events = backend.env["finsync.event"]._ingest(
            backend,
            [
                {
                    "payload": json.dumps(event),
                    "external_id": event["id"],
                    "event_type": event["type"],
                    "name": f"{event['type']} {event['id']}",
                    "signature_state": "valid",
                }
                for event in sim.events()
            ],
        )
        events._process()
        settlements = self.env["finsync.settlement"].search([("backend_id", "=", self.id)])
        for settlement in settlements:
            page = sim._list(
                {"payout": [settlement.name], "limit": ["100"], "expand[]": ["data.source"]}
            )
            settlement._link_page(page)
        settlements._check_totals()
        paid = settlements.filtered(lambda s: s.gateway_status == "paid")[:1]
        self._gateway_demo_bank_line(paid, f"STRIPE PAYOUT {paid.name}")
        return True
