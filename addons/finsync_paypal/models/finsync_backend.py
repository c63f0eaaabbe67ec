import datetime
import json
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import identity_exact

from ..adapters.paypal_api import (
    DEFAULT_TOLERANCE,
    LIVE_URL,
    SANDBOX_URL,
    PayPalApiError,
    PayPalClient,
    PayPalTransientError,
)
from ..adapters.paypal_mapper import PayPalMappingError, to_moment
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

    @api.model
    def _gateway_types(self):
        return [*super()._gateway_types(), "paypal"]

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
    # Actions and schedule
    # ------------------------------------------------------------------
    def action_pull_now(self):
        """Button: queue a pull of every PayPal connector selected (and the others' own)."""
        for backend in self.filtered(lambda b: b.backend_type == "paypal"):
            backend._enqueue_paypal_pull()
        return super().action_pull_now()

    def _enqueue_paypal_pull(self):
        self.ensure_one()
        return self.with_delay(
            channel="root.finsync.paypal",
            description=self.env._("Pull PayPal %(name)s", name=self.name),
            identity_key=identity_exact,
            max_retries=self.max_attempts,
        )._pull_paypal()

    @api.model
    def _cron_pull_paypal(self):
        """Queue a pull for every scheduled PayPal connector that is due."""
        due = self._gateway_due_for_pull("paypal")
        for backend in due:
            backend._enqueue_paypal_pull()
        return due

    # ------------------------------------------------------------------
    # Pull
    # ------------------------------------------------------------------
    def _paypal_client(self, **kwargs):
        """The API client of this connector (credentials read here only, never logged)."""
        self.ensure_one()
        client_id = self._get_secret("client_id")
        secret = self._get_secret("client_secret")
        if not client_id or not secret:
            raise UserError(
                self.env._("PayPal connector %(name)s has no client id or secret.", name=self.name)
            )
        url = self.api_url or (LIVE_URL if self.environment == "live" else SANDBOX_URL)
        return PayPalClient(client_id, secret, url, **kwargs)

    def _pull_paypal(self):
        """Job: pull PayPal's transactions from the watermark, then its balances.

        The range from the watermark (less the look-back) to now is read in
        windows of 31 days; each page is stored as an event (keyed by its
        content: a page seen again is a duplicate) and processed at once. The
        watermark moves only when the job commits, to where PayPal said its data
        was complete, so a pull that fails part-way resumes where the last good
        pull ended and nothing is lost; transactions are keyed by PayPal's id,
        so nothing read twice is booked twice. Throttling and outages are
        retried by the job; any other refusal opens a ``sync_failed`` exception.
        """
        self.ensure_one()
        now = fields.Datetime.now().replace(microsecond=0)
        try:
            client = self._paypal_client()
            watermark = self._paypal_pull_pages(client, now)
            self._paypal_refresh_pending(client, now)
            self._paypal_store_balances(client.balances(), now)
        except PayPalTransientError as err:
            raise RetryableJobError(str(err), seconds=int(err.retry_after or 60)) from err
        except (PayPalApiError, UserError) as err:
            return self._paypal_pull_failed(str(err))
        # sudo: the pull runs as whoever asked or the job user; only the watermark moves.
        self.sudo().paypal_watermark = watermark
        self._mark_sync_success()
        _logger.info(
            "FinSync PayPal %s: pulled to %s, %d requests", self.id, watermark, client.requests_sent
        )
        return self.env._("Pulled up to %(mark)s", mark=watermark)

    def _paypal_pull_range(self, now):
        start = self.paypal_watermark
        if start:
            start -= datetime.timedelta(hours=self.paypal_lookback_hours)
        else:
            start = now - datetime.timedelta(days=self.paypal_first_pull_days)
        return start, now

    def _paypal_pull_pages(self, client, now):
        """Store and process every page of the pull range; returns the new watermark."""
        start, end = self._paypal_pull_range(now)
        utc = datetime.UTC
        refreshed = end
        for window_start, window_end, page in client.transaction_pages(
            start.replace(tzinfo=utc), end.replace(tzinfo=utc)
        ):
            mark = page.get("last_refreshed_datetime")
            if mark:
                refreshed = min(refreshed, self._paypal_naive(mark, window_end))
            if not page.get("transaction_details"):
                continue
            self._paypal_store(
                [
                    {
                        "event_type": "transactions",
                        "name": f"transactions {window_start:%Y-%m-%d}..{window_end:%Y-%m-%d} "
                        f"p{page.get('page') or 1}",
                        "payload": json.dumps(page, sort_keys=True),
                    }
                ]
            )
        return max(min(refreshed, end), self.paypal_watermark or start)

    def _paypal_refresh_pending(self, client, now, limit=100):
        """Ask PayPal again about payments still pending, one by one.

        A search lists a transaction by the day it started: a payment that
        clears days later (an eCheck) is never in a later pull's range. Pending
        payments of the last 31 days are searched for by id in their own window;
        a page that says nothing new is a duplicate event and changes nothing.
        """
        pending = self.env["finsync.transaction"].search(
            [
                ("backend_id", "=", self.id),
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
                    self._paypal_store(
                        [
                            {
                                "event_type": "transactions",
                                "name": f"transaction {tx.external_id}",
                                "payload": json.dumps(page, sort_keys=True),
                            }
                        ]
                    )
        return pending

    @api.model
    def _paypal_naive(self, text, default):
        try:
            moment = to_moment(text, "last_refreshed_datetime")
        except PayPalMappingError:
            moment = default
        return moment.astimezone(datetime.UTC).replace(tzinfo=None)

    def _paypal_store(self, events):
        """Store events of this connector and process the new ones now."""
        stored = self.env["finsync.event"]._ingest(self, events)
        stored.filtered(lambda e: e.state in ("received", "queued"))._process()
        return stored

    def _paypal_store_balances(self, payload, now):
        """Keep PayPal's balances as an event: it opens each currency's journal and checks it."""
        if not (payload or {}).get("balances"):
            return self.env["finsync.event"]
        return self._paypal_store(
            [
                {
                    "event_type": "balances",
                    "name": f"balances {now:%Y-%m-%d %H:%M}",
                    "payload": json.dumps(payload, sort_keys=True),
                }
            ]
        )

    def _paypal_pull_failed(self, message):
        return self._gateway_pull_failed(message, "PayPal")

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
    # Demo
    # ------------------------------------------------------------------
    def _load_paypal_demo_data(self):
        """The simulator's demo story as a pulled page, and the bank line of its payout."""
        from ..tools.paypal_simulator import demo_simulator

        self.ensure_one()
        sim = demo_simulator()
        page = {
            "transaction_details": sim.transactions,
            "page": 1,
            "total_pages": 1,
            "total_items": len(sim.transactions),
        }
        self._paypal_store(
            [
                {
                    "event_type": "transactions",
                    "name": "demo transactions",
                    "payload": json.dumps(page),
                }
            ]
        )
        settlement = self.env["finsync.settlement"].search([("backend_id", "=", self.id)], limit=1)
        self._gateway_demo_bank_line(settlement, f"PAYPAL TRANSFER {settlement.name}")
        return True

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
