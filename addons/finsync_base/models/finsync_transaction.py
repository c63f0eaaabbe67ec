import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools.canonical import KINDS
from ..tools.redact import mask_account
from ..tools.server_only import ServerOnly
from ..tools.state_machine import STATES, is_legal
from .bulk_sql import execute_bulk

_logger = logging.getLogger(__name__)

# The pass of protected writes and creates (``_write_protected``,
# ``_create_from_source``): no client can send it, whatever context it forges.
_GUARD = ServerOnly("finsync_transaction_protected")

# Moves a person may make from the form (``action_transition``); ``reconciled``
# is reached only through a reconciliation in the ledger.
MANUAL_MOVES = frozenset(
    {
        ("initiated", "acknowledged"),
        ("initiated", "settled"),
        ("acknowledged", "settled"),
        ("initiated", "rejected"),
        ("acknowledged", "rejected"),
        ("reconciled", "settled"),
        ("settled", "reversed"),
        ("reconciled", "reversed"),
    }
)


class FinsyncTransaction(models.Model):
    """The canonical money movement, whatever its source."""

    _name = "finsync.transaction"
    _description = "FinSync Transaction"
    _inherit = ["mail.thread"]
    _order = "booking_date desc, id desc"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    name = fields.Char(compute="_compute_name", store=True)
    backend_id = fields.Many2one(
        "finsync.backend",
        string="Connector",
        required=True,
        index=True,
        readonly=True,
        ondelete="restrict",
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    external_id = fields.Char(string="External ID", required=True, readonly=True)
    event_id = fields.Many2one(
        "finsync.event", string="Source Event", readonly=True, index="btree_not_null"
    )
    correlation_id = fields.Char(readonly=True, index="btree_not_null")
    kind = fields.Selection(KINDS, required=True, default="bank_credit")
    state = fields.Selection(
        STATES, required=True, default="initiated", readonly=True, index=True, tracking=True
    )
    currency_id = fields.Many2one("res.currency", required=True)
    amount = fields.Monetary(string="Gross Amount", help="Signed: money in is positive.")
    fee_amount = fields.Monetary(string="Fee")
    net_amount = fields.Monetary(compute="_compute_net_amount", store=True)
    company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )
    amount_company_currency = fields.Monetary(
        currency_field="company_currency_id",
        compute="_compute_amount_company_currency",
        store=True,
        string="Amount (company currency)",
    )
    booking_date = fields.Date(required=True, index=True)
    value_date = fields.Date()
    counterparty_name = fields.Char()
    counterparty_account = fields.Char(
        string="Counterparty Account (full)", groups="finsync_base.group_finsync_accountant"
    )
    counterparty_account_masked = fields.Char(
        string="Counterparty Account", compute="_compute_account_masked", store=True
    )
    end_to_end_id = fields.Char(string="End-to-end ID", index="btree_not_null")
    payment_reference = fields.Char(
        index="btree_not_null", help="Payment intent or payment id at the source."
    )
    remittance = fields.Text(string="Remittance Information")
    structured_reference = fields.Char(help="Structured creditor reference (ISO 11649, ...)")
    bank_reference = fields.Char()
    bank_transaction_code = fields.Char(help="The bank's code for the kind of booking.")
    partner_id = fields.Many2one("res.partner", check_company=True, index="btree_not_null")
    statement_line_id = fields.Many2one(
        "account.bank.statement.line", check_company=True, index="btree_not_null", readonly=True
    )
    invoice_ids = fields.Many2many("account.move", string="Invoices", check_company=True)
    payment_ids = fields.Many2many("account.payment", string="Payments", check_company=True)
    reversed_transaction_id = fields.Many2one(
        "finsync.transaction", string="Reverses", check_company=True, index="btree_not_null"
    )
    transition_ids = fields.One2many(
        "finsync.transaction.transition", "transaction_id", readonly=True
    )
    exception_ids = fields.Many2many(
        "finsync.exception",
        "finsync_exception_transaction_rel",
        "transaction_id",
        "exception_id",
        readonly=True,
    )
    payload_text = fields.Text(
        related="event_id.payload_text", groups="finsync_base.group_finsync_accountant"
    )

    _sql_constraints = [
        (
            "external_id_unique",
            "UNIQUE(backend_id, external_id)",
            "A transaction with this external id already exists for this connector.",
        ),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends("external_id", "backend_id.name")
    def _compute_name(self):
        for tx in self:
            tx.name = f"{tx.backend_id.name or ''}/{tx.external_id or ''}"

    @api.depends("amount", "fee_amount", "currency_id")
    def _compute_net_amount(self):
        for tx in self:
            tx.net_amount = tx.currency_id.round(tx.amount - tx.fee_amount)

    @api.depends("amount", "currency_id", "company_id", "booking_date")
    def _compute_amount_company_currency(self):
        # One rate lookup per (currency, company, date), not per transaction.
        rates = {}
        for tx in self:
            company_currency = tx.company_id.currency_id
            if not tx.currency_id or tx.currency_id == company_currency:
                tx.amount_company_currency = tx.amount
                continue
            key = (tx.currency_id, tx.company_id, tx.booking_date)
            if key not in rates:
                rates[key] = self.env["res.currency"]._get_conversion_rate(
                    tx.currency_id,
                    company_currency,
                    tx.company_id,
                    tx.booking_date or fields.Date.context_today(tx),
                )
            tx.amount_company_currency = company_currency.round(tx.amount * rates[key])

    @api.depends("counterparty_account")
    def _compute_account_masked(self):
        # sudo: the full account is for accountants; whoever writes it (a connector's
        # technical user, a file import) stores its masked form, which all may read.
        for tx in self.sudo():
            tx.counterparty_account_masked = mask_account(tx.counterparty_account)

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    # What only FinSync's own flows write (``_write_protected``): the money, the
    # source's facts, the state and the lineage. People link partners, invoices
    # and payments, and nothing else of what a connector brought.
    PROTECTED_FIELDS = frozenset(
        {
            "backend_id",
            "company_id",
            "external_id",
            "event_id",
            "correlation_id",
            "kind",
            "state",
            "currency_id",
            "amount",
            "fee_amount",
            "booking_date",
            "value_date",
            "counterparty_name",
            "counterparty_account",
            "end_to_end_id",
            "payment_reference",
            "remittance",
            "structured_reference",
            "bank_reference",
            "bank_transaction_code",
            "statement_line_id",
            "transition_ids",
            # Stored computes: the ORM would take a value for them too.
            "name",
            "net_amount",
            "amount_company_currency",
            "counterparty_account_masked",
        }
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not _GUARD.granted(self.env):
            raise AccessError(
                self.env._(
                    "FinSync transactions are created only by connectors, from the "
                    "events they receive."
                )
            )
        transactions = super().create(vals_list)
        transactions._log_creation(self.env.context.get("finsync_reason") or self.env._("Received"))
        return transactions

    def write(self, vals):
        protected = self._protected_fields().intersection(vals)
        if protected and not _GUARD.granted(self.env):
            raise AccessError(
                self.env._(
                    "These fields of a FinSync transaction can be changed only by its connector "
                    "or its state transitions: %(fields)s.",
                    fields=", ".join(
                        self._fields[name]._description_string(self.env)
                        for name in sorted(protected)
                    ),
                )
            )
        return super().write(vals)

    def _protected_fields(self):
        """Hook: the fields ``write`` refuses outside ``_write_protected``."""
        return self.PROTECTED_FIELDS

    def _write_protected(self, vals):
        """Write protected fields: for FinSync's flows (upserts, completions, transitions).

        Private, so no client reaches it; the context carries a module-private
        object that no request can forge.
        """
        return _GUARD.grant(self).write(vals)

    @api.model
    def _create_from_source(self, vals_list, reason=None):
        """Create transactions from what connectors received: the one way to create them.

        The caller must be allowed to bring data in for their connectors
        (``finsync.event._check_can_ingest``); people have no create right.
        """
        if not vals_list:
            return self.browse()
        backends = self.env["finsync.backend"].browse({vals["backend_id"] for vals in vals_list})
        self.env["finsync.event"]._check_can_ingest(backends)
        # sudo: no person may create transactions; this caller may ingest for
        # these connectors (checked above). The user stays the creator.
        creator = _GUARD.grant(self.sudo()).with_context(finsync_reason=reason)
        return creator.create(vals_list).with_env(self.env)

    # Columns the bulk path writes; every other column keeps its SQL default (NULL).
    BULK_FIELDS = (
        "backend_id",
        "company_id",
        "external_id",
        "event_id",
        "correlation_id",
        "kind",
        "state",
        "currency_id",
        "amount",
        "fee_amount",
        "booking_date",
        "value_date",
        "counterparty_name",
        "counterparty_account",
        "end_to_end_id",
        "payment_reference",
        "remittance",
        "structured_reference",
        "bank_reference",
        "bank_transaction_code",
        "partner_id",
    )

    @api.model
    def _create_bulk(self, vals_list, reason=None):
        """``create`` for large trusted batches from connectors: one INSERT per 1,000 rows.

        The values are those ``create`` takes, restricted to ``BULK_FIELDS`` plus
        the many2one columns extensions register in ``_bulk_extra_fields``; the
        stored computed fields are computed here exactly as their compute
        methods do, so the rows are the ones ``create`` would write. Meant for
        statement imports of thousands of lines, where the ORM's per-record
        bookkeeping (not PostgreSQL) is the cost.
        """
        if not vals_list:
            return self.browse()
        self.env["finsync.event"]._check_can_ingest(
            self.env["finsync.backend"].browse(
                {vals["backend_id"] for vals in vals_list if vals.get("backend_id")}
            )
        )
        columns = list(self.BULK_FIELDS) + list(self._bulk_extra_fields())
        unknown = {key for vals in vals_list for key in vals} - set(columns)
        if unknown:
            raise UserError(
                self.env._("Unsupported fields for a bulk insert: %(f)s", f=", ".join(unknown))
            )
        self.env.flush_all()
        backends = {
            b.id: b
            for b in self.env["finsync.backend"].browse({v["backend_id"] for v in vals_list})
        }
        currencies = {
            c.id: c for c in self.env["res.currency"].browse({v["currency_id"] for v in vals_list})
        }
        companies = self.env["res.company"].browse({vals["company_id"] for vals in vals_list})
        context = {
            "backends": backends,
            "currencies": currencies,
            "companies": {company.id: company for company in companies},
            "rates": {},
            "now": fields.Datetime.now(),
        }
        rows = [self._bulk_row(vals, columns, context) for vals in vals_list]
        computed = ["name", "net_amount", "amount_company_currency", "counterparty_account_masked"]
        audit = ["create_uid", "create_date", "write_uid", "write_date"]
        names = columns + computed + audit
        # Plain placeholders: composing one SQL object per value cost more than the INSERT.
        row_placeholder = "(" + ", ".join(["%s"] * len(names)) + ")"
        head = "INSERT INTO finsync_transaction ({}) VALUES ".format(
            ", ".join(f'"{name}"' for name in names)
        )
        ids = []
        for start in range(0, len(rows), 1000):
            batch = rows[start : start + 1000]
            query = head + ", ".join([row_placeholder] * len(batch)) + " RETURNING id"
            execute_bulk(
                self.env,
                self.env._(
                    "Transactions %(first)s to %(last)s of %(count)s",
                    first=start + 1,
                    last=start + len(batch),
                    count=len(rows),
                ),
                query,
                [value for row in batch for value in row],
            )
            ids += [row[0] for row in self.env.cr.fetchall()]
        transactions = self.browse(ids)
        transactions._log_creation(reason or self.env._("Received"))
        return transactions

    def _bulk_extra_fields(self):
        """Hook: many2one columns an extension lets ``_create_bulk`` write."""
        return ()

    def _bulk_row(self, vals, columns, context):
        currency = context["currencies"][vals["currency_id"]]
        company = context["companies"][vals["company_id"]]
        amount = currency.round(vals.get("amount") or 0.0)
        fee = currency.round(vals.get("fee_amount") or 0.0)
        company_amount = amount
        if company.currency_id != currency:
            key = (currency.id, company.id, vals["booking_date"])
            if key not in context["rates"]:
                context["rates"][key] = self.env["res.currency"]._get_conversion_rate(
                    currency, company.currency_id, company, vals["booking_date"]
                )
            company_amount = company.currency_id.round(amount * context["rates"][key])
        now = context["now"]
        values = [vals.get(name) for name in columns]
        values[columns.index("amount")] = amount
        values[columns.index("fee_amount")] = fee
        values += [
            f"{context['backends'][vals['backend_id']].name or ''}/{vals['external_id']}",
            currency.round(amount - fee),
            company_amount,
            mask_account(vals.get("counterparty_account")),
            self.env.uid,
            now,
            self.env.uid,
            now,
        ]
        # Odoo writes "no value" as False; PostgreSQL wants NULL.
        return [None if value is False else value for value in values]

    def _log_creation(self, reason):
        """The first line of each history, written set-based: imports create thousands."""
        if not self:
            return
        # No access check: the history is append-only, for no one to write; the
        # callers (``create``, ``_create_bulk``) checked who brings the data in.
        self.flush_recordset(["state", "company_id", "event_id"])
        now = fields.Datetime.now()
        execute_bulk(
            self.env,
            self.env._("History of %(count)s new transactions", count=len(self)),
            SQL(
                """
                INSERT INTO finsync_transaction_transition (
                    transaction_id, company_id, to_state, user_id, date, reason, event_id,
                    create_uid, create_date, write_uid, write_date)
                SELECT id, company_id, state, %(uid)s, %(now)s, %(reason)s, event_id,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM finsync_transaction
                 WHERE id = ANY(%(ids)s)
                """,
                uid=self.env.uid,
                now=now,
                reason=reason,
                ids=self.ids,
            ),
        )
        self.invalidate_recordset(["transition_ids"])
        for state in ("settled", "reconciled"):
            self.filtered(lambda tx, state=state: tx.state == state)._emit_outbox(state)

    # ------------------------------------------------------------------
    # State machine
    # ------------------------------------------------------------------
    def _transition(self, to_state, reason=None, event=None):
        """Move every transaction to ``to_state``; an illegal move raises and moves none."""
        labels = dict(self._fields["state"]._description_selection(self.env))
        for tx in self:
            if not is_legal(tx.state, to_state):
                raise UserError(
                    self.env._(
                        "Transaction %(name)s cannot go from %(from_state)s to %(to_state)s.",
                        name=tx.name,
                        from_state=labels.get(tx.state, tx.state),
                        to_state=labels.get(to_state, to_state),
                    )
                )
        history = [
            {
                "transaction_id": tx.id,
                "from_state": tx.state,
                "to_state": to_state,
                "reason": reason,
                "event_id": (event or tx.event_id).id,
            }
            for tx in self
        ]
        self._write_protected({"state": to_state})
        # sudo: the history is append-only, no person may write it; the move was
        # checked legal above. The user stays its author.
        self.env["finsync.transaction.transition"].sudo().create(history)
        if to_state in ("settled", "reconciled"):
            self._emit_outbox(to_state)
        return True

    def _emit_outbox(self, state):
        """``transaction.settled`` / ``transaction.reconciled`` in the move's transaction."""
        self.env["finsync.outbox.event"]._emit(
            f"transaction.{state}",
            self,
            FinsyncTransaction._outbox_payload,
            lambda tx: tx.correlation_id or tx.event_id.correlation_id,
        )

    def _outbox_payload(self):
        """The ``data`` of transaction events (version 1): no full account number."""
        return {
            "id": self.id,
            "name": self.name,
            "connector": {"id": self.backend_id.id, "name": self.backend_id.name},
            "external_id": self.external_id,
            "kind": self.kind,
            "state": self.state,
            "currency": self.currency_id.name,
            "amount": self.amount,
            "fee_amount": self.fee_amount,
            "net_amount": self.net_amount,
            "booking_date": fields.Date.to_string(self.booking_date),
            "value_date": fields.Date.to_string(self.value_date),
            "partner_id": self.partner_id.id or None,
            "payment_reference": self.payment_reference or None,
            "invoice_ids": self.invoice_ids.ids,
        }

    def action_transition(self):
        """Button: move to the state given in the context (``finsync_to_state``).

        Only accountants, only along the moves the form offers (``MANUAL_MOVES``),
        always with a history row.
        """
        if not self.env.user.has_group("finsync_base.group_finsync_accountant"):
            raise AccessError(
                self.env._("Only FinSync accountants can change a transaction's state.")
            )
        to_state = self.env.context.get("finsync_to_state")
        labels = dict(self._fields["state"]._description_selection(self.env))
        refused = self.filtered(lambda tx: (tx.state, to_state) not in self._manual_moves())
        if refused:
            raise UserError(
                self.env._(
                    "Transaction %(name)s cannot be moved by hand from %(from_state)s "
                    "to %(to_state)s.",
                    name=refused[0].name,
                    from_state=labels.get(refused[0].state, refused[0].state),
                    to_state=labels.get(to_state, to_state),
                )
            )
        reason = self.env.context.get("finsync_reason") or self.env._("Changed by hand")
        return self._transition(to_state, reason=reason)

    def _manual_moves(self):
        """Hook: the (from, to) state moves a person may make with ``action_transition``."""
        return MANUAL_MOVES

    # ------------------------------------------------------------------
    # Upsert from canonical values
    # ------------------------------------------------------------------
    @api.model
    def _upsert_canonical(self, event, vals_list):
        """Create or update the transactions an event describes (see tools.canonical).

        Existing transactions (same connector and external id) move to the new
        state when the transition is legal; stale updates are ignored, so
        out-of-order deliveries end in the same state as in-order ones. An
        external id told several times in ``vals_list`` (a page listing a
        payment initiated, then accepted) is merged in order: created in its
        first state, then moved through each later one that is legal, so the
        last legal state wins and the history shows every step.
        """
        # The history of each transaction is its transitions (on its form): the
        # chatter does not repeat it for what connectors create and move, which
        # would cost a message per transaction and per move.
        quiet = self.with_context(tracking_disable=True, mail_create_nolog=True)
        backend = event.backend_id
        currencies = self._prefetch_currencies(event, vals_list)
        existing = {
            tx.external_id: tx
            for tx in quiet.search(
                [
                    ("backend_id", "=", backend.id),
                    ("external_id", "in", [vals["external_id"] for vals in vals_list]),
                ]
            )
        }
        to_create, steps, current = [], {}, {}
        for vals in vals_list:
            key = vals["external_id"]
            tx = existing.get(key)
            if not tx and key not in current:
                # An id told twice in one batch is created once, in its first state;
                # the later tellings move it like updates of a known transaction.
                to_create.append(self._prepare_canonical_vals(event, vals, currencies))
                current[key] = vals["state"]
                continue
            state = current.get(key, tx.state if tx else None)
            if state != vals["state"] and is_legal(state, vals["state"]):
                steps.setdefault(key, []).append((vals["state"], vals.get("reason")))
                current[key] = vals["state"]
            elif state != vals["state"]:
                _logger.info(
                    "FinSync transaction %s: stale update %s -> %s ignored (correlation %s)",
                    tx.id if tx else key,
                    state,
                    vals["state"],
                    event.correlation_id,
                )
        created = quiet._create_from_source(
            to_create, reason=self.env._("Received in event %(name)s", name=event.name)
        )
        if steps:
            by_key = {**{tx.external_id: tx for tx in created}, **existing}
            self._apply_canonical_steps(event, quiet, by_key, steps)
        return created.with_env(self.env)

    @api.model
    def _apply_canonical_steps(self, event, quiet, by_key, steps):
        """Move each transaction through its ``steps`` (``{external id: [(state, reason)]}``),
        in order: the n-th moves of all transactions together, grouped by state and reason."""
        for rank in range(max(len(moves) for moves in steps.values())):
            groups = {}
            for key, moves in steps.items():
                if rank < len(moves):
                    groups.setdefault(moves[rank], []).append(by_key[key].id)
            for (to_state, reason), ids in groups.items():
                quiet.browse(ids)._transition(
                    to_state,
                    reason=reason or self.env._("Updated by event %(name)s", name=event.name),
                    event=event,
                )

    @api.model
    def _prefetch_currencies(self, event, vals_list):
        return self._currencies_by_code({vals["currency"] for vals in vals_list}, event.name)

    @api.model
    def _currencies_by_code(self, codes, source):
        """{ISO code: currency} for ``codes``, inactive ones included; unknown ones raise."""
        currencies = {
            currency.name: currency
            for currency in self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "in", list(codes))])
        }
        missing = sorted(set(codes) - set(currencies))
        if missing:
            raise UserError(
                self.env._(
                    "%(where)s: unknown currency %(codes)s.",
                    where=source,
                    codes=", ".join(missing),
                )
            )
        return currencies

    @api.model
    def _prepare_canonical_vals(self, event, vals, currencies):
        return {
            "backend_id": event.backend_id.id,
            "company_id": event.company_id.id,
            "event_id": event.id,
            "correlation_id": event.correlation_id,
            "external_id": vals["external_id"],
            "kind": vals["kind"],
            "state": vals["state"],
            "currency_id": currencies[vals["currency"]].id,
            "amount": float(vals["amount"]),
            "fee_amount": float(vals["fee"]),
            "booking_date": vals["booking_date"],
            "value_date": vals["value_date"],
            "counterparty_name": vals["counterparty_name"],
            "counterparty_account": vals["counterparty_account"],
            "remittance": vals["remittance"],
            "structured_reference": vals["structured_reference"],
            "end_to_end_id": vals["end_to_end_id"],
            "payment_reference": vals["payment_reference"],
            "bank_reference": vals["bank_reference"],
        }
