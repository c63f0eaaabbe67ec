import logging
from datetime import timedelta

from odoo import Command, api, fields, models

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import identity_exact

from ..adapters.stripe_api import StripeApiError, StripeTransientError
from ..adapters.stripe_mapper import map_balance_transaction

_logger = logging.getLogger(__name__)

AGING_BUCKETS = [
    ("not_due", "Not due yet"),
    ("late_1_3", "1-3 days late"),
    ("late_4_7", "4-7 days late"),
    ("late_8_30", "8-30 days late"),
    ("late_30", "Over 30 days late"),
]


class FinsyncSettlement(models.Model):
    """A gateway payout: the transactions it paid out, and the bank line that received it."""

    _name = "finsync.settlement"
    _description = "FinSync Settlement"
    _inherit = ["mail.thread"]
    _order = "payout_date desc, id desc"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    name = fields.Char(string="Payout", required=True, readonly=True)
    backend_id = fields.Many2one(
        "finsync.backend",
        string="Connector",
        required=True,
        readonly=True,
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    payout_transaction_id = fields.Many2one(
        "finsync.transaction", string="Payout Transaction", readonly=True, check_company=True
    )
    payout_date = fields.Date(readonly=True, index=True)
    expected_date = fields.Date(string="Expected Arrival", readonly=True, index=True)
    gateway_status = fields.Char(
        string="Status at Stripe", readonly=True, help="pending, in_transit, paid, failed..."
    )
    amount = fields.Monetary(string="Payout Amount", readonly=True, help="What the bank receives.")
    transaction_ids = fields.One2many("finsync.transaction", "settlement_id", readonly=True)
    charge_ids = fields.One2many(
        "finsync.transaction",
        "settlement_id",
        domain=[("kind", "=", "charge")],
        string="Charges",
        readonly=True,
    )
    transaction_count = fields.Integer(compute="_compute_totals", store=True)
    gross_amount = fields.Monetary(
        compute="_compute_totals", store=True, help="Charges less refunds, disputes, adjustments."
    )
    fee_amount = fields.Monetary(string="Fees", compute="_compute_totals", store=True)
    net_amount = fields.Monetary(compute="_compute_totals", store=True)
    difference = fields.Monetary(
        compute="_compute_totals",
        store=True,
        help="Payout amount less the net of its transactions: zero when they add up.",
    )
    composition_loaded = fields.Boolean(
        string="Transactions Known",
        readonly=True,
        help="Whether the payout's transactions were read from Stripe.",
    )
    state = fields.Selection(
        [
            ("in_transit", "In Transit"),
            ("paid", "Paid"),
            ("reconciled", "Reconciled"),
            ("failed", "Failed"),
        ],
        default="in_transit",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
    )
    bank_line_id = fields.Many2one(
        "account.bank.statement.line",
        string="Bank Line",
        readonly=True,
        check_company=True,
        index="btree_not_null",
        help="The bank statement line that received the payout.",
    )
    bank_line_label = fields.Char(related="bank_line_id.payment_ref", string="Bank Line Label")
    bank_line_date = fields.Date(related="bank_line_id.date", string="Received On")
    bank_line_amount = fields.Monetary(related="bank_line_id.amount", string="Amount Received")
    bank_journal_id = fields.Many2one(related="bank_line_id.journal_id", string="Bank Journal")
    days_late = fields.Integer(compute="_compute_aging", store=True)
    aging_bucket = fields.Selection(AGING_BUCKETS, compute="_compute_aging", store=True)
    exception_count = fields.Integer(compute="_compute_exception_count")

    _sql_constraints = [
        ("payout_unique", "UNIQUE(backend_id, name)", "This payout already has a settlement."),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends(
        "amount", "transaction_ids.amount", "transaction_ids.fee_amount", "transaction_ids.kind"
    )
    def _compute_totals(self):
        for settlement in self:
            txs = settlement.transaction_ids.filtered(lambda tx: tx.kind != "payout")
            currency = settlement.currency_id
            settlement.transaction_count = len(txs)
            settlement.gross_amount = currency.round(sum(txs.mapped("amount")))
            settlement.fee_amount = currency.round(sum(txs.mapped("fee_amount")))
            settlement.net_amount = currency.round(settlement.gross_amount - settlement.fee_amount)
            settlement.difference = currency.round(settlement.amount - settlement.net_amount)

    @api.depends("state", "expected_date")
    def _compute_aging(self):
        today = fields.Date.context_today(self)
        for settlement in self:
            late = 0
            if settlement.state == "in_transit" and settlement.expected_date:
                late = max((today - settlement.expected_date).days, 0)
            settlement.days_late = late
            settlement.aging_bucket = (
                "not_due"
                if late <= 0
                else "late_1_3"
                if late <= 3
                else "late_4_7"
                if late <= 7
                else "late_8_30"
                if late <= 30
                else "late_30"
            )

    def _compute_exception_count(self):
        keys = {
            f"{prefix}:{self._name}:{rec.id}": rec.id
            for rec in self
            for prefix in ("amount_mismatch", "unmatched")
        }
        counts = dict.fromkeys(self.ids, 0)
        for exc in self.env["finsync.exception"].search(
            [("dedup_key", "in", list(keys)), ("is_open", "=", True)]
        ):
            counts[keys[exc.dedup_key]] += 1
        for settlement in self:
            settlement.exception_count = counts[settlement.id]

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_exceptions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_base.action_finsync_exception"
        )
        action["domain"] = [
            (
                "dedup_key",
                "in",
                [f"{p}:{self._name}:{self.id}" for p in ("amount_mismatch", "unmatched")],
            )
        ]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # From the gateway
    # ------------------------------------------------------------------
    @api.model
    def _sync_from_transactions(self, payouts, by_id):
        """Create or update the settlement of each payout transaction (one per payout)."""
        if not payouts:
            return self.browse()
        payout_ids = {
            vals["stripe"]["payout"] or tx.external_id.split(":")[0]
            for tx in payouts
            for vals in [by_id[tx.external_id]]
        }
        existing = {
            (s.backend_id.id, s.name): s
            for s in self.search(
                [("backend_id", "in", payouts.backend_id.ids), ("name", "in", list(payout_ids))]
            )
        }
        to_create = []
        for tx in payouts:
            stripe = by_id[tx.external_id]["stripe"]
            payout_id = stripe["payout"] or tx.external_id.split(":")[0]
            settlement = existing.get((tx.backend_id.id, payout_id))
            failed = tx.external_id.endswith(":failed") or tx.state == "rejected"
            if not settlement:
                if tx.external_id.endswith(":failed"):
                    continue  # the payout itself will bring its settlement
                to_create.append(self._prepare_settlement(tx, stripe, payout_id))
                continue
            updates = {}
            if stripe["arrival_date"]:
                updates["expected_date"] = stripe["arrival_date"]
            if stripe["payout_status"]:
                updates["gateway_status"] = stripe["payout_status"]
            if failed and settlement.state == "in_transit":
                updates["state"] = "failed"
            if not settlement.payout_transaction_id and not tx.external_id.endswith(":failed"):
                updates["payout_transaction_id"] = tx.id
            if updates:
                settlement.write(updates)
        created = self.create(to_create)
        for settlement in created:
            settlement.payout_transaction_id.settlement_id = settlement
        if not self.env.context.get("finsync_stripe_reads_payouts"):
            # A pull reads the payouts' transactions itself; a webhook asks a job to.
            created.filtered(lambda s: s.backend_id._get_secret("api_key"))._enqueue_composition()
        (created | self.browse([s.id for s in existing.values()])).filtered(
            lambda s: s.state == "paid"
        )._reconcile_bank_line()
        return created

    @api.model
    def _prepare_settlement(self, tx, stripe, payout_id):
        return {
            "name": payout_id,
            "backend_id": tx.backend_id.id,
            "company_id": tx.company_id.id,
            "currency_id": tx.currency_id.id,
            "payout_transaction_id": tx.id,
            "payout_date": tx.booking_date,
            "expected_date": stripe["arrival_date"] or tx.value_date or tx.booking_date,
            "gateway_status": stripe["payout_status"],
            "amount": -tx.amount,
            "state": "failed" if tx.state == "rejected" else "in_transit",
        }

    def _load_composition(self, client):
        """Read each payout's balance transactions from Stripe and link them.

        The pages are stored and processed like pulled ones (creating what was
        not known yet); then the settlement checks that its transactions add up.
        """
        for settlement in self:
            for page in client.balance_transaction_pages(payout=settlement.name):
                settlement._link_page(page)
            settlement.composition_loaded = True
        self._check_totals()

    def _enqueue_composition(self):
        for settlement in self:
            settlement.with_delay(
                channel="root.finsync.stripe",
                description=self.env._(
                    "Read the transactions of payout %(name)s", name=settlement.name
                ),
                identity_key=identity_exact,
                max_retries=settlement.backend_id.max_attempts,
            )._load_composition_job()

    def _load_composition_job(self):
        """Job: read from Stripe what each payout paid out (connectors with an API key).

        Throttling and outages are retried; a refusal opens a ``sync_failed``
        exception on the connector, as a refused pull does.
        """
        todo = self.filtered(lambda s: not s.composition_loaded)
        for backend in todo.backend_id:
            try:
                client = backend._stripe_client()
                todo.filtered(lambda s, b=backend: s.backend_id == b)._load_composition(client)
            except StripeTransientError as err:
                raise RetryableJobError(str(err), seconds=int(err.retry_after or 60)) from err
            except StripeApiError as err:
                return backend._stripe_pull_failed(str(err))
        return self.env._("%(count)s payouts read", count=len(todo))

    def _link_page(self, page):
        """Store a page of this payout's balance transactions and link them to it."""
        self.ensure_one()
        if not page.get("data"):
            self.composition_loaded = True
            return
        self.backend_id._stripe_store_page(page, "payout_transactions")
        external_ids = [map_balance_transaction(bt)["external_id"] for bt in page["data"]]
        self.env["finsync.transaction"].search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("external_id", "in", external_ids),
                ("kind", "!=", "payout"),
            ]
        ).write({"settlement_id": self.id})
        self.composition_loaded = True

    def _check_totals(self):
        """An exception for each settlement whose transactions do not add up to it."""
        wrong = self.filtered(
            lambda s: s.composition_loaded and not s.currency_id.is_zero(s.difference)
        )
        if wrong:
            self.env["finsync.exception"]._open_for_records(
                "amount_mismatch",
                wrong,
                lambda s: {
                    "name": self.env._(
                        "Payout %(name)s: its transactions net %(net)s, the payout is %(amount)s",
                        name=s.name,
                        net=s.net_amount,
                        amount=s.amount,
                    ),
                    "description": self.env._(
                        "%(count)s transactions, gross %(gross)s, fees %(fees)s, difference "
                        "%(diff)s %(currency)s.",
                        count=s.transaction_count,
                        gross=s.gross_amount,
                        fees=s.fee_amount,
                        diff=s.difference,
                        currency=s.currency_id.name,
                    ),
                    "backend_id": s.backend_id.id,
                    "transaction_ids": [Command.set(s.transaction_ids.ids)],
                },
            )
        return wrong

    # ------------------------------------------------------------------
    # Bank side
    # ------------------------------------------------------------------
    @api.model
    def _match_bank_lines(self, st_lines):
        """Pair incoming bank lines with payouts in transit; returns the lines paired.

        A line pairs with a settlement of the same company, currency and amount
        whose expected arrival is within the connector's grace period of the
        line's date; when several qualify, the one whose payout id or
        "STRIPE" is in the line's label. Lines still ambiguous are left to the
        matching rules.
        """
        incoming = st_lines.filtered(
            lambda line: line.amount > 0
            and not line.is_reconciled
            and line.journal_id not in self._gateway_journals()
        )
        if not incoming:
            return st_lines.browse()
        candidates = self.search(
            [("state", "=", "in_transit"), ("company_id", "in", incoming.company_id.ids)]
        )
        paired = st_lines.browse()
        taken = set()
        for line in incoming:
            settlement = self._pick_settlement(line, candidates, taken)
            if settlement:
                taken.add(settlement.id)
                settlement._mark_paid(line)
                paired |= line
        return paired

    @api.model
    def _gateway_journals(self):
        return (
            self.env["finsync.backend"].sudo().search([("backend_type", "=", "stripe")]).journal_ids
        )

    @api.model
    def _pick_settlement(self, line, candidates, taken):
        currency = line.journal_id.currency_id or line.company_id.currency_id
        fitting = candidates.filtered(
            lambda s: s.id not in taken
            and s.company_id == line.company_id
            and s.currency_id == currency
            and not currency.compare_amounts(s.amount, line.amount)
            and abs((line.date - s.expected_date).days) <= s.backend_id.settlement_grace_days + 3
        )
        if len(fitting) > 1:
            label = (line.payment_ref or "").upper()
            named = fitting.filtered(lambda s: s.name.upper() in label)
            fitting = named or fitting.filtered(lambda s: "STRIPE" in label)
        return fitting if len(fitting) == 1 else self.browse()

    def _mark_paid(self, line):
        self.ensure_one()
        self.write({"state": "paid", "bank_line_id": line.id})
        self.message_post(
            body=self.env._(
                "Paid by bank line %(line)s of %(date)s.", line=line.display_name, date=line.date
            )
        )
        self._reconcile_bank_line()

    def _reconcile_bank_line(self):
        """Book the bank line against money in transit and reconcile it with the payout."""
        for settlement in self.filtered(lambda s: s.state == "paid" and s.bank_line_id):
            payout_line = settlement.payout_transaction_id.statement_line_id
            if not payout_line:
                continue  # the payout is not booked yet: reconciled when it is
            _fee, _dispute, transit = settlement.backend_id._stripe_accounts()
            st_line = settlement.bank_line_id
            _liquidity, suspense, _other = st_line._seek_for_lines()
            if suspense:
                st_line.move_id.with_context(force_delete=True, skip_readonly_check=True).write(
                    {
                        "line_ids": [Command.delete(line.id) for line in suspense]
                        + [
                            Command.create(
                                {
                                    "name": settlement.name,
                                    "account_id": transit.id,
                                    "balance": sum(suspense.mapped("balance")),
                                    "amount_currency": sum(suspense.mapped("amount_currency")),
                                    "currency_id": suspense[0].currency_id.id,
                                }
                            )
                        ]
                    }
                )
            pair = (st_line.move_id.line_ids | payout_line.move_id.line_ids).filtered(
                lambda line, account=transit: line.account_id == account and not line.reconciled
            )
            if len(pair) == 2:
                pair.reconcile()
            if all(line.reconciled for line in pair):
                settlement.state = "reconciled"
                settlement.message_post(body=self.env._("Reconciled with the payout's entry."))
                bank_txs = st_line.finsync_transaction_ids.filtered(
                    lambda tx: tx.state == "settled"
                )
                if bank_txs:
                    bank_txs._transition(
                        "reconciled",
                        reason=self.env._("Payout %(name)s", name=settlement.name),
                    )
            self._close_overdue(settlement)

    def _close_overdue(self, settlement):
        open_exc = self.env["finsync.exception"].search(
            [("dedup_key", "=", f"unmatched:{self._name}:{settlement.id}"), ("is_open", "=", True)]
        )
        if open_exc:
            # sudo: the bank line's posting closes what was open about it not arriving.
            open_exc.sudo()._close(
                self.env.ref("finsync_base.reason_matched"),
                note=self.env._("The bank line arrived."),
            )

    # ------------------------------------------------------------------
    # Schedule
    # ------------------------------------------------------------------
    @api.model
    def _cron_check_in_transit(self):
        """Refresh the aging of payouts in transit and flag those overdue at the bank."""
        in_transit = self.search([("state", "=", "in_transit")])
        in_transit._compute_aging()
        today = fields.Date.context_today(self)
        overdue = in_transit.filtered(
            lambda s: s.expected_date
            and s.expected_date + timedelta(days=s.backend_id.settlement_grace_days) < today
        )
        if overdue:
            self.env["finsync.exception"]._open_for_records(
                "unmatched",
                overdue,
                lambda s: {
                    "name": self.env._(
                        "Payout %(name)s of %(amount)s %(currency)s has not reached the bank",
                        name=s.name,
                        amount=s.amount,
                        currency=s.currency_id.name,
                    ),
                    "description": self.env._(
                        "Expected on %(date)s; no bank line of that amount within %(days)s days.",
                        date=s.expected_date,
                        days=s.backend_id.settlement_grace_days,
                    ),
                    "backend_id": s.backend_id.id,
                    "transaction_ids": [Command.set(s.payout_transaction_id.ids)],
                },
            )
        _logger.info(
            "FinSync settlements: %d in transit, %d overdue", len(in_transit), len(overdue)
        )
        return overdue
