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
# A bank line may be dated this many days beyond the grace period (bank value dates).
PAIRING_SLACK_DAYS = 3


class FinsyncSettlement(models.Model):
    """A gateway payout: the transactions it paid out, and the bank line that received it.

    Each gateway addon creates its payouts' settlements from its own transactions
    (and links what each payout paid out); pairing with the bank line, the
    reconciliation through money in transit, aging and overdue exceptions are
    the same for every gateway and live here.
    """

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
    backend_type = fields.Selection(related="backend_id.backend_type", string="Gateway")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    payout_transaction_id = fields.Many2one(
        "finsync.transaction", string="Payout Transaction", readonly=True, check_company=True
    )
    payout_date = fields.Date(readonly=True, index=True)
    expected_date = fields.Date(string="Expected Arrival", readonly=True, index=True)
    gateway_status = fields.Char(
        string="Status at the Gateway", readonly=True, help="pending, in_transit, paid, failed..."
    )
    bank_reference = fields.Char(
        readonly=True, help="The gateway's reference of the bank transfer, as the bank may show it."
    )
    amount = fields.Monetary(string="Payout Amount", readonly=True, help="What the bank receives.")
    transaction_ids = fields.One2many(
        "finsync.transaction", "settlement_id", string="Transactions", readonly=True
    )
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
        help="Whether the gateway said which transactions the payout paid out (then they "
        "must add up to it).",
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

    def _exception_keys(self):
        return [
            f"{p}:{self._name}:{rec.id}" for rec in self for p in ("amount_mismatch", "unmatched")
        ]

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
        action["domain"] = [("dedup_key", "in", self._exception_keys())]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # From the gateway
    # ------------------------------------------------------------------
    @api.model
    def _gateway_sync_payouts(self, payouts, by_id):
        """Create or update the settlements of ``payouts`` (payout transactions, with
        the values ``by_id`` an event told about them); each gateway its own.
        Returns the settlements created."""
        return self.browse()

    # ------------------------------------------------------------------
    # Totals
    # ------------------------------------------------------------------
    def _check_totals(self):
        """An exception for each settlement whose known transactions do not add up to it."""
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
    def _arrival_window(self):
        """(first, last) day the payout's bank line may be dated.

        By default the expected arrival, give or take the connector's grace
        period and a few days of bank value dates; a gateway whose expected date
        is a guess overrides it.
        """
        self.ensure_one()
        margin = timedelta(days=self.backend_id.settlement_grace_days + PAIRING_SLACK_DAYS)
        expected = self.expected_date or self.payout_date
        return expected - margin, expected + margin

    def _overdue_after(self):
        """The last day the bank line may arrive before the payout is overdue."""
        self.ensure_one()
        expected = self.expected_date or self.payout_date
        return expected and expected + timedelta(days=self.backend_id.settlement_grace_days)

    @api.model
    def _match_bank_lines(self, st_lines):
        """Pair incoming bank lines with payouts in transit; returns the lines paired.

        A line pairs with a settlement of the same company, currency and amount
        whose arrival window (a few days of slack either side) holds the line's
        date; when several qualify, the one whose payout id or bank reference
        is in the line's label, else the one whose gateway is named there
        ("STRIPE", "PAYPAL"). Lines still ambiguous are left to the matching
        rules. Lines of a gateway's own clearing journal are never a payout's
        arrival, whichever gateway they belong to.
        """
        incoming = st_lines.filtered(
            lambda line: line.amount > 0
            and not line.is_reconciled
            and not line.journal_id.finsync_gateway_clearing
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
    def _pick_settlement(self, line, candidates, taken):
        currency = line.journal_id.currency_id or line.company_id.currency_id

        def in_window(settlement):
            first, last = settlement._arrival_window()
            return first <= line.date <= last

        fitting = candidates.filtered(
            lambda s: s.id not in taken
            and s.company_id == line.company_id
            and s.currency_id == currency
            and not currency.compare_amounts(s.amount, line.amount)
            and in_window(s)
        )
        if len(fitting) > 1:
            label = (line.payment_ref or "").upper()
            named = fitting.filtered(
                lambda s: s.name.upper() in label
                or (s.bank_reference and s.bank_reference.upper() in label)
            )
            fitting = named or fitting.filtered(
                lambda s: s.backend_id._connector_class().label.upper() in label
            )
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
        """Book the bank line against money in transit and reconcile it with the payout.

        The bank line's suspense line is replaced by one on the connector's money
        in transit account, which the payout's entry in the clearing journal
        debited: both are reconciled, and the settlement is reconciled once they
        are. A payout not booked yet is reconciled when it is.
        """
        for settlement in self.filtered(lambda s: s.state == "paid" and s.bank_line_id):
            payout_line = settlement.payout_transaction_id.statement_line_id
            if not payout_line:
                continue
            transit = settlement.backend_id._gateway_accounts()["transit"]
            st_line = settlement.bank_line_id
            ledger = self.env["finsync.ledger"]
            _liquidity, suspense, _other = st_line._seek_for_lines()
            if suspense:
                ledger._replace_suspense(
                    [
                        (
                            st_line,
                            [
                                {
                                    "name": settlement.name,
                                    "account_id": transit.id,
                                    "balance": sum(suspense.mapped("balance")),
                                    "amount_currency": sum(suspense.mapped("amount_currency")),
                                    "currency_id": suspense[0].currency_id.id,
                                }
                            ],
                        )
                    ]
                )
            pair = (st_line.move_id.line_ids | payout_line.move_id.line_ids).filtered(
                lambda line, account=transit: line.account_id == account and not line.reconciled
            )
            if len(pair) == 2:
                ledger._reconcile_plan([pair])
            if pair and all(line.reconciled for line in pair):
                settlement.state = "reconciled"
                settlement.message_post(body=self.env._("Reconciled with the payout's entry."))
                ledger._mark_reconciled(
                    [
                        {
                            "st_line": st_line,
                            "allocations": [],
                            "explanation": self.env._("Payout %(name)s", name=settlement.name),
                        }
                    ]
                )
            settlement._close_overdue()

    def _close_overdue(self):
        open_exc = self.env["finsync.exception"].search(
            [
                ("dedup_key", "in", [f"unmatched:{self._name}:{s.id}" for s in self]),
                ("is_open", "=", True),
            ]
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
        overdue = in_transit.filtered(lambda s: s._overdue_after() and s._overdue_after() < today)
        if overdue:
            self.env["finsync.exception"]._open_for_records(
                "unmatched",
                overdue,
                lambda s: {
                    "name": self.env._(
                        "Payout %(name)s of %(amount)s %(currency)s (%(connector)s) has not "
                        "reached the bank",
                        name=s.name,
                        amount=s.amount,
                        currency=s.currency_id.name,
                        connector=s.backend_id.name,
                    ),
                    "description": self.env._(
                        "Sent on %(sent)s, expected on %(date)s; no bank line of that amount "
                        "within %(days)s days.",
                        sent=s.payout_date,
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
