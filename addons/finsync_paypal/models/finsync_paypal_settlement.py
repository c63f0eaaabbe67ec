import logging
from datetime import timedelta

from odoo import Command, api, fields, models

_logger = logging.getLogger(__name__)

AGING_BUCKETS = [
    ("not_due", "Not due yet"),
    ("late_1_3", "1-3 days late"),
    ("late_4_7", "4-7 days late"),
    ("late_8_30", "8-30 days late"),
    ("late_30", "Over 30 days late"),
]


class FinsyncPaypalSettlement(models.Model):
    """A PayPal payout to the bank: what it swept, and the bank line that received it.

    Same shape as ``finsync.settlement`` of finsync_stripe (field for field where
    they mean the same), so that both can become one gateway settlement model in
    a shared addon. A PayPal payout (T04xx) moves an amount chosen by the user
    or the sweep schedule, not "everything since the last payout", so its
    transactions are the ones booked since the previous payout in its currency,
    and their net need not equal the payout.
    """

    _name = "finsync.paypal.settlement"
    _description = "FinSync PayPal Payout"
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
    bank_reference = fields.Char(
        readonly=True, help="PayPal's reference of the bank transfer, as the bank may show it."
    )
    amount = fields.Monetary(string="Payout Amount", readonly=True, help="What the bank receives.")
    transaction_ids = fields.One2many(
        "finsync.transaction", "paypal_settlement_id", string="Transactions", readonly=True
    )
    transaction_count = fields.Integer(compute="_compute_totals", store=True)
    gross_amount = fields.Monetary(compute="_compute_totals", store=True)
    fee_amount = fields.Monetary(string="Fees", compute="_compute_totals", store=True)
    net_amount = fields.Monetary(compute="_compute_totals", store=True)
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

    _sql_constraints = [
        ("payout_unique", "UNIQUE(backend_id, name)", "This payout already has a settlement."),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends(
        "transaction_ids.amount", "transaction_ids.fee_amount", "transaction_ids.paypal_category"
    )
    def _compute_totals(self):
        for settlement in self:
            txs = settlement.transaction_ids.filtered(lambda tx: tx.paypal_category != "withdrawal")
            currency = settlement.currency_id
            settlement.transaction_count = len(txs)
            settlement.gross_amount = currency.round(sum(txs.mapped("amount")))
            settlement.fee_amount = currency.round(sum(txs.mapped("fee_amount")))
            settlement.net_amount = currency.round(settlement.gross_amount - settlement.fee_amount)

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

    # ------------------------------------------------------------------
    # From PayPal
    # ------------------------------------------------------------------
    @api.model
    def _sync_from_transactions(self, withdrawals, by_id):
        """Create the settlement of each payout (returned payouts fail theirs)."""
        if not withdrawals:
            return self.browse()
        existing = {
            (s.backend_id.id, s.name): s
            for s in self.search(
                [
                    ("backend_id", "in", withdrawals.backend_id.ids),
                    ("name", "in", withdrawals.mapped("external_id")),
                ]
            )
        }
        returned = withdrawals.filtered(lambda tx: tx.amount > 0)
        to_create = []
        for tx in withdrawals - returned:
            settlement = existing.get((tx.backend_id.id, tx.external_id))
            if settlement:
                if tx.state == "rejected" and settlement.state == "in_transit":
                    settlement.state = "failed"
                continue
            to_create.append(self._prepare_settlement(tx, by_id[tx.external_id]["paypal"]))
        created = self.create(to_create)
        for settlement in created:
            settlement.payout_transaction_id.paypal_settlement_id = settlement
        created._link_composition()
        for tx in returned.filtered("reversed_transaction_id"):
            failed = self.search(
                [
                    ("backend_id", "=", tx.backend_id.id),
                    ("name", "=", tx.reversed_transaction_id.external_id),
                    ("state", "=", "in_transit"),
                ]
            )
            failed.write({"state": "failed"})
            failed.message_post(
                body=self.env._("PayPal returned the payout (%(ref)s).", ref=tx.external_id)
            )
        return created

    @api.model
    def _prepare_settlement(self, tx, paypal):
        return {
            "name": tx.external_id,
            "backend_id": tx.backend_id.id,
            "company_id": tx.company_id.id,
            "currency_id": tx.currency_id.id,
            "payout_transaction_id": tx.id,
            "payout_date": tx.booking_date,
            "expected_date": tx.booking_date + timedelta(days=1),
            "bank_reference": paypal.get("bank_reference_id"),
            "amount": -tx.amount,
            "state": "failed" if tx.state == "rejected" else "in_transit",
        }

    def _link_composition(self):
        """Link each payout to the transactions booked since the previous one in its currency."""
        Transaction = self.env["finsync.transaction"]
        for settlement in self.sorted(lambda s: (s.payout_date, s.id)):
            Transaction.search(
                [
                    ("backend_id", "=", settlement.backend_id.id),
                    ("currency_id", "=", settlement.currency_id.id),
                    ("paypal_settlement_id", "=", False),
                    ("paypal_category", "not in", ("withdrawal", False)),
                    ("booking_date", "<=", settlement.payout_date),
                    ("state", "!=", "rejected"),
                ]
            ).write({"paypal_settlement_id": settlement.id})

    # ------------------------------------------------------------------
    # Bank side
    # ------------------------------------------------------------------
    @api.model
    def _match_bank_lines(self, st_lines):
        """Pair incoming bank lines with PayPal payouts in transit; returns the lines paired.

        A line pairs with a payout of the same company, currency and amount whose
        expected arrival is within the connector's grace period of the line's
        date; when several qualify, the one whose id or bank reference, or
        "PAYPAL", is in the line's label. Lines still ambiguous are left to the
        matching rules.
        """
        gateway_journals = self._gateway_journals()
        incoming = st_lines.filtered(
            lambda line: line.amount > 0
            and not line.is_reconciled
            and line.journal_id not in gateway_journals
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
        """Clearing journals of every gateway connector: their lines are no bank receipts."""
        return (
            self.env["finsync.backend"]
            .sudo()
            .search([("backend_type", "in", ("paypal", "stripe"))])
            .journal_ids
        )

    @api.model
    def _pick_settlement(self, line, candidates, taken):
        currency = line.journal_id.currency_id or line.company_id.currency_id
        fitting = candidates.filtered(
            lambda s: s.id not in taken
            and s.company_id == line.company_id
            and s.currency_id == currency
            and not currency.compare_amounts(s.amount, line.amount)
            and -1
            <= (line.date - s.payout_date).days
            <= s.backend_id.paypal_settlement_grace_days + 3
        )
        if len(fitting) > 1:
            label = (line.payment_ref or "").upper()
            named = fitting.filtered(
                lambda s: s.name.upper() in label
                or (s.bank_reference and s.bank_reference.upper() in label)
            )
            fitting = named or fitting.filtered(lambda s: "PAYPAL" in label)
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
            transit = settlement.backend_id._paypal_accounts()["transit"]
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
            if pair and all(line.reconciled for line in pair):
                settlement.state = "reconciled"
                settlement.message_post(body=self.env._("Reconciled with the payout's entry."))
                bank_txs = st_line.finsync_transaction_ids.filtered(
                    lambda tx: tx.state == "settled"
                )
                if bank_txs:
                    bank_txs._transition(
                        "reconciled",
                        reason=self.env._("PayPal payout %(name)s", name=settlement.name),
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
            lambda s: s.payout_date
            and s.payout_date + timedelta(days=s.backend_id.paypal_settlement_grace_days) < today
        )
        if overdue:
            self.env["finsync.exception"]._open_for_records(
                "unmatched",
                overdue,
                lambda s: {
                    "name": self.env._(
                        "PayPal payout %(name)s of %(amount)s %(currency)s has not reached "
                        "the bank",
                        name=s.name,
                        amount=s.amount,
                        currency=s.currency_id.name,
                    ),
                    "description": self.env._(
                        "Sent on %(date)s; no bank line of that amount within %(days)s days.",
                        date=s.payout_date,
                        days=s.backend_id.paypal_settlement_grace_days,
                    ),
                    "backend_id": s.backend_id.id,
                    "transaction_ids": [Command.set(s.payout_transaction_id.ids)],
                },
            )
        _logger.info(
            "FinSync PayPal payouts: %d in transit, %d overdue", len(in_transit), len(overdue)
        )
        return overdue
