import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..adapters.paypal_api import DEFAULT_TOLERANCE
from ..adapters.paypal_mapper import PayPalMappingError
from ..adapters.paypal_mapper import money as paypal_money

_logger = logging.getLogger(__name__)

# Days PayPal gives a payout to reach the bank.
PAYPAL_GRACE_DAYS = 5


class FinsyncBackend(models.Model):
    _inherit = "finsync.backend"

    backend_type = fields.Selection(
        selection_add=[("paypal", "PayPal")], ondelete={"paypal": "cascade"}
    )
    paypal_watermark = fields.Datetime(
        string="PayPal Pulled Up To",
        readonly=True,
        copy=False,
        help="End of the last range PayPal had fully refreshed when it was pulled; the next "
        "pull starts there, less the look-back.",
    )
    paypal_first_pull_days = fields.Integer(
        string="First Pull (days back)",
        default=30,
        help="How far back the first pull of this connector reads.",
    )
    paypal_lookback_hours = fields.Integer(
        string="Look Back (hours)",
        default=3,
        help="Each pull reads this much before the watermark again: PayPal may list a "
        "transaction hours after it happened. Nothing is booked twice.",
    )
    paypal_webhook_tolerance = fields.Integer(
        string="Transmission Tolerance (s)",
        default=DEFAULT_TOLERANCE,
        help="How old a webhook delivery's transmission time may be, in seconds (at most a "
        "day); older deliveries, and deliveries whose transmission id was already used, are "
        "refused.",
    )
    paypal_webhook_url = fields.Char(
        compute="_compute_paypal_webhook_url", string="PayPal Webhook URL"
    )
    paypal_balances = fields.Text(
        string="PayPal Balances",
        readonly=True,
        copy=False,
        help="PayPal's balance per currency at the last pull, beside what is booked.",
    )

    _sql_constraints = [
        (
            "paypal_limits_positive",
            "CHECK(paypal_lookback_hours >= 0 AND paypal_first_pull_days > 0)",
            "PayPal's first pull must be positive, its look-back not negative.",
        ),
        (
            "paypal_webhook_tolerance_range",
            "CHECK(paypal_webhook_tolerance > 0 AND paypal_webhook_tolerance <= 86400)",
            "PayPal's transmission tolerance must be between 1 second and a day.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        """PayPal gives payouts up to 5 business days to reach the bank: that is the
        default grace period of a PayPal connector."""
        for vals in vals_list:
            if vals.get("backend_type") == "paypal":
                vals.setdefault("settlement_grace_days", PAYPAL_GRACE_DAYS)
        return super().create(vals_list)

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    def _compute_paypal_webhook_url(self):
        # sudo: system parameters are Settings-only; the public base URL is no secret.
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for backend in self:
            backend.paypal_webhook_url = (
                f"{base_url}/finsync/webhook/paypal/{backend.id}"
                if backend.backend_type == "paypal" and backend.id
                else False
            )

    # ------------------------------------------------------------------
    # Adapter
    # ------------------------------------------------------------------
    def _paypal_client(self, **kwargs):
        """The API client of this connector (``PayPalConnector.client``)."""
        self.ensure_one()
        return self._connector().client(**kwargs)

    # ------------------------------------------------------------------
    # Webhooks
    # ------------------------------------------------------------------
    def _paypal_webhook_id(self):
        """The id PayPal gave the webhook registered for this connector (connector code only)."""
        self.ensure_one()
        return (self._get_secret("webhook_secret") or "").strip()

    def _paypal_technical_user(self):
        """The FinSync accountant PayPal's deliveries are stored and processed as."""
        return self._gateway_technical_user("finsync_paypal.user_finsync_paypal")

    # ------------------------------------------------------------------
    # Balances
    # ------------------------------------------------------------------
    def _paypal_apply_balances(self, document, event):
        """Open the journal of every currency PayPal holds, and note balance against books.

        The comparison is shown, not enforced: the books only hold what FinSync
        pulled or imported, which is the whole account only when its history was.
        """
        self.ensure_one()
        lines = []
        for index, row in enumerate(document.get("balances") or []):
            try:
                code, total = paypal_money(row.get("total_balance"), f"balances[{index}]")
            except PayPalMappingError as err:
                raise UserError(
                    self.env._("Event %(name)s: %(problem)s", name=event.name, problem=str(err))
                ) from err
            currency = self.env["finsync.transaction"]._currencies_by_code({code}, event.name)[code]
            journal = self._gateway_journal(currency)
            booked = sum(
                self.env["account.bank.statement.line"]
                .search([("journal_id", "=", journal.id)])
                .mapped("amount")
            )
            lines.append(
                self.env._(
                    "%(currency)s: %(paypal)s at PayPal, %(booked)s booked in %(journal)s",
                    currency=code,
                    paypal=total,
                    booked=currency.round(booked),
                    journal=journal.name,
                )
            )
        # sudo: as for the watermark, only the balances read from PayPal are stored.
        self.sudo().paypal_balances = "\n".join(lines) or False
        return lines
