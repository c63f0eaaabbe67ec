import json
import logging

from odoo import fields, models

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
    # Webhooks
    # ------------------------------------------------------------------
    def _stripe_webhook_secrets(self):
        """The active signing secrets (several during a rotation); connector code only."""
        self.ensure_one()
        return split_secrets(self._get_secret("webhook_secret"))

    # ------------------------------------------------------------------
    # Gateway
    # ------------------------------------------------------------------
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
