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
        # sudo: system parameters are Settings-only; the public base URL is no secret.
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
