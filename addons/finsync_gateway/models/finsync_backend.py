import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


class FinsyncBackend(models.Model):
    _inherit = "finsync.backend"

    settlement_grace_days = fields.Integer(
        string="Payout Arrives Within (days)",
        default=3,
        help="Days after a payout's expected arrival before a missing bank line opens "
        "an exception.",
    )
    settlement_count = fields.Integer(compute="_compute_settlement_count")
    gateway_fee_account_id = fields.Many2one(
        "account.account",
        string="Fee Account",
        check_company=True,
        help="Expense account of the gateway's fees and other charges; the first expense "
        "account when empty.",
    )
    gateway_dispute_account_id = fields.Many2one(
        "account.account",
        string="Dispute Account",
        check_company=True,
        help="Account of disputed and charged back amounts withdrawn (and of the money won "
        "back); the fee account when empty.",
    )
    gateway_transit_account_id = fields.Many2one(
        "account.account",
        string="Money in Transit Account",
        check_company=True,
        help="Where payouts wait between the gateway and the bank (and, at PayPal, held funds "
        "their release and currency conversions meet); the company's liquidity transfer "
        "account when empty. Must allow reconciliation.",
    )
    gateway_sales_account_id = fields.Many2one(
        "account.account",
        string="Sales Without Invoices",
        check_company=True,
        help="For sales that have no invoice in Odoo: the gateway's charges (and their "
        "refunds) are booked against this account (income, or an interim account your "
        "shop's sales are booked to) and not matched. When empty, they wait in the suspense "
        "account for the matching engine, which pairs them with invoices and opens an "
        "exception for each one it cannot pair.",
    )
    webhook_rejected_count = fields.Integer(
        string="Rejected Deliveries",
        readonly=True,
        copy=False,
        help="Webhook deliveries refused because the gateway's signature or confirmation "
        "was missing, wrong or expired.",
    )
    webhook_max_kb = fields.Integer(
        string="Largest Delivery (KB)",
        default=512,
        help="Webhook bodies over this size are refused before they are read.",
    )
    is_payment_gateway = fields.Boolean(compute="_compute_is_payment_gateway")

    _sql_constraints = [
        (
            "settlement_grace_not_negative",
            "CHECK(settlement_grace_days >= 0)",
            "The payout grace period cannot be negative.",
        ),
        (
            "webhook_max_kb_positive",
            "CHECK(webhook_max_kb > 0)",
            "The largest webhook delivery must be positive.",
        ),
    ]

    # ------------------------------------------------------------------
    # Gateway connectors
    # ------------------------------------------------------------------
    @api.depends("backend_type")
    def _compute_is_payment_gateway(self):
        for backend in self:
            backend.is_payment_gateway = backend._connector_class().payment_gateway

    def _compute_settlement_count(self):
        counts = dict(
            self.env["finsync.settlement"]._read_group(
                [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]
            )
        )
        for backend in self:
            backend.settlement_count = counts.get(backend, 0)

    def action_view_settlements(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_gateway.action_finsync_settlement"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # Clearing journals
    # ------------------------------------------------------------------
    def _gateway_journal_prefix(self):
        """First letter of the clearing journals' codes (S for Stripe, P for PayPal...)."""
        self.ensure_one()
        return self._connector_class().label[:1].upper()

    def _gateway_journal(self, currency):
        """The clearing journal of ``currency``, created with the first balance in it.

        Journals are never dropped. The connector row is locked (and touched) when
        one is created, so two deliveries racing for a new currency cannot create
        two journals: the loser fails on the lock and its job is retried. The
        journal is flagged as a gateway clearing journal: its lines are never
        taken for the bank receipt of any gateway's payout.
        """
        self.ensure_one()
        journal = self._gateway_find_journal(currency)
        if journal:
            return journal
        # NO KEY UPDATE: deliveries inserting events of this connector (foreign key
        # share locks) do not block it; only another journal creation does.
        self.env.cr.execute(
            SQL("SELECT id FROM finsync_backend WHERE id = %s FOR NO KEY UPDATE NOWAIT", self.id)
        )
        self.env.cr.execute(
            SQL("UPDATE finsync_backend SET write_date = now() WHERE id = %s", self.id)
        )
        self.invalidate_recordset(["journal_ids"])
        journal = self._gateway_find_journal(currency)
        if journal:
            return journal
        # sudo: journals are created by accounting managers; a delivery creates the
        # clearing journal of a new currency on the connector's behalf, and the
        # currency must be active for its entries to post.
        if not currency.active:
            currency.sudo().active = True
        journal = (
            self.env["account.journal"]
            .sudo()
            .create(
                {
                    "name": f"{self.name} {currency.name}",
                    "code": self._gateway_journal_code(currency),
                    "type": "bank",
                    "currency_id": currency.id,
                    "company_id": self.company_id.id,
                    "bank_statements_source": "undefined",
                    "finsync_gateway_clearing": True,
                }
            )
        )
        # sudo: callers do not write connectors; only the new journal is linked.
        self.sudo().journal_ids = [fields.Command.link(journal.id)]
        _logger.info(
            "FinSync %s %s: journal %s created for %s",
            self.backend_type,
            self.id,
            journal.id,
            currency.name,
        )
        return journal.sudo(False)

    def _gateway_find_journal(self, currency):
        """The clearing journal of ``currency`` if there is one (an empty recordset if not)."""
        company_currency = self.company_id.currency_id
        # sudo: see every journal of the connector, also those outside the caller's
        # current companies, so a currency never gets a second clearing journal; the
        # journal found is returned with the caller's rights.
        return (
            self.sudo()
            .journal_ids.filtered(
                lambda j: (j.currency_id or company_currency) == currency and j.type == "bank"
            )[:1]
            .sudo(False)
        )

    def _gateway_journal_code(self, currency):
        # sudo: codes are unique per company, so every journal's code counts,
        # archived ones and those the caller may not read included.
        used = set(
            self.env["account.journal"]
            .sudo()
            .with_context(active_test=False)
            .search([("company_id", "=", self.company_id.id)])
            .mapped("code")
        )
        # Codes have at most 5 characters: SUSD, then SUSD1..SUSD9, SUS10..SUS99, SU100..
        base = f"{self._gateway_journal_prefix()}{currency.name}"[:5]
        candidates = [base] + [f"{base[: 5 - len(str(n))]}{n}" for n in range(1, 1000)]
        return next(code for code in candidates if code not in used)

    # ------------------------------------------------------------------
    # Accounts
    # ------------------------------------------------------------------
    def _gateway_accounts(self):
        """{"fee", "dispute", "transit"} accounts of the connector, with their defaults:
        the first expense account for fees, the fee account for disputes, the company's
        liquidity transfer account for money in transit."""
        self.ensure_one()
        if not self.is_payment_gateway:
            raise UserError(
                self.env._(
                    "Connector %(name)s (%(type)s) is not a payment gateway.",
                    name=self.name,
                    type=self.backend_type,
                )
            )
        company = self.company_id
        fee = self.gateway_fee_account_id or self.env["account.account"].search(
            [("company_ids", "in", company.id), ("account_type", "=", "expense")], limit=1
        )
        transit = self.gateway_transit_account_id or company.transfer_account_id
        if not fee or not transit:
            raise UserError(
                self.env._(
                    "Connector %(name)s needs a fee account and a money in transit account.",
                    name=self.name,
                )
            )
        return {
            "fee": fee,
            "dispute": self.gateway_dispute_account_id or fee,
            "transit": transit,
        }

    # ------------------------------------------------------------------
    # Webhooks, health, technical user
    # ------------------------------------------------------------------
    def _webhook_limit_kb(self):
        return self.webhook_max_kb

    def _webhook_count_rejection(self, code):
        """Count a refused delivery on the connector (logged as finsync_base does)."""
        self.ensure_one()
        # Atomic increment: concurrent refusals each count once.
        self.env.cr.execute(
            SQL(
                "UPDATE finsync_backend SET webhook_rejected_count = "
                "COALESCE(webhook_rejected_count, 0) + 1 WHERE id = %s",
                self.id,
            )
        )
        self.invalidate_recordset(["webhook_rejected_count"])
        return super()._webhook_count_rejection(code)

    def _gateway_technical_user(self, xmlid):
        """The least-privileged user webhook deliveries are stored and processed as.

        ``xmlid`` names the gateway's technical user, a FinSync accountant
        (never an admin); it is added to the connector's company on first use.
        """
        self.ensure_one()
        # Called by every webhook delivery: the id comes from the ORM's cache of
        # XML ids and membership from one small query, instead of reading the
        # user's companies. sudo: users are managed in Settings; a delivery (a public
        # request) adds its technical user to the connector's company below.
        user = (
            self.env["res.users"]
            .sudo()
            .browse(self.env["ir.model.data"]._xmlid_to_res_id(xmlid, raise_if_not_found=True))
        )
        self.env.cr.execute(
            SQL(
                "SELECT 1 FROM res_company_users_rel WHERE user_id = %s AND cid = %s",
                user.id,
                self.company_id.id,
            )
        )
        if not self.env.cr.fetchone():
            # sudo: the technical user follows the connectors it serves.
            user.write({"company_ids": [fields.Command.link(self.company_id.id)]})
        return user

    def _mark_sync_success(self):
        """Healthy gateway connectors are marked at most once a minute.

        Every processed webhook reports success; rewriting the connector row each
        time would make concurrent jobs collide on it (and retry) for nothing.
        """
        recent = fields.Datetime.subtract(fields.Datetime.now(), minutes=1)
        fresh = self.filtered(
            lambda b: b.is_payment_gateway
            and b.health == "ok"
            and not b.last_error
            and b.last_sync_date
            and b.last_sync_date >= recent
        )
        return super(FinsyncBackend, self - fresh)._mark_sync_success()

    # ------------------------------------------------------------------
    # Demo
    # ------------------------------------------------------------------
    def _gateway_demo_bank_line(self, settlement, label):
        """The demo bank's line that receives ``settlement``, paired with it; the
        connector's lines left for matching are matched first.

        The demo bank journal is finsync_bank's (code FSDB); nothing is created
        when it is absent or in another currency.
        """
        self.ensure_one()
        # Demo data ends matched: matching runs now rather than in queued jobs.
        transactions = self.env["finsync.transaction"].search(
            [("backend_id", "=", self.id), ("statement_line_id", "!=", False)]
        )
        transactions.filtered(lambda tx: tx._gateway_to_match()).statement_line_id.filtered(
            lambda line: not line.is_reconciled
        ).with_context(queue_job__no_delay=True)._finsync_lines_posted()
        journal = self.env["account.journal"].search(
            [("code", "=", "FSDB"), ("company_id", "=", self.company_id.id)], limit=1
        )
        if (
            not settlement
            or not journal
            or settlement.currency_id != (journal.currency_id or journal.company_id.currency_id)
        ):
            return self.env["account.bank.statement.line"]
        line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": journal.id,
                "date": settlement.expected_date,
                "payment_ref": label,
                "amount": settlement.amount,
            }
        )
        paired = line._finsync_match_known()
        (line - paired).with_context(queue_job__no_delay=True)._finsync_lines_posted()
        return line
