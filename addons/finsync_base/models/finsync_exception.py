import logging
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError

from ..tools.server_only import ServerOnly
from .finsync_exception_sla import EXCEPTION_TYPES, SEVERITIES

_logger = logging.getLogger(__name__)

OPEN_STATES = ("new", "in_progress", "waiting")

# The pass of the exception's own methods to write its state and closing fields
# (``_write_protected``): no client can send it, whatever context it forges.
_GUARD = ServerOnly("finsync_exception_protected")
SEVERITY_ORDER = [code for code, _label in SEVERITIES]


class FinsyncException(models.Model):
    """What FinSync could not do on its own, with an owner, a severity and a due date."""

    _name = "finsync.exception"
    _description = "FinSync Exception"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "priority_rank desc, due_date, id desc"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    name = fields.Char(string="Summary", required=True, tracking=True)
    description = fields.Text()
    exception_type = fields.Selection(
        EXCEPTION_TYPES, string="Type", required=True, index=True, tracking=True
    )
    severity = fields.Selection(SEVERITIES, required=True, default="medium", tracking=True)
    priority_rank = fields.Integer(compute="_compute_priority_rank", store=True)
    state = fields.Selection(
        [
            ("new", "New"),
            ("in_progress", "In Progress"),
            ("waiting", "Waiting"),
            ("resolved", "Resolved"),
            ("ignored", "Ignored"),
        ],
        default="new",
        required=True,
        index=True,
        tracking=True,
        group_expand="_group_expand_states",
    )
    is_open = fields.Boolean(compute="_compute_is_open", store=True, index=True)
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        index=True,
        tracking=True,
        domain="[('share', '=', False)]",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    backend_id = fields.Many2one(
        "finsync.backend", string="Connector", index=True, check_company=True
    )
    event_id = fields.Many2one(
        "finsync.event", string="Event", index="btree_not_null", check_company=True
    )
    transaction_ids = fields.Many2many(
        "finsync.transaction",
        "finsync_exception_transaction_rel",
        "exception_id",
        "transaction_id",
        string="Transactions",
        check_company=True,
    )
    # What an accountant sorts and groups the backlog by, from the transactions.
    currency_id = fields.Many2one(
        "res.currency", compute="_compute_transaction_summary", store=True
    )
    amount = fields.Monetary(
        compute="_compute_transaction_summary",
        store=True,
        help="The sum of its transactions, in their currency (the company's when they differ).",
    )
    transaction_date = fields.Date(
        string="Date",
        compute="_compute_transaction_summary",
        store=True,
        index="btree_not_null",
        help="The earliest booking date of its transactions.",
    )
    partner_id = fields.Many2one(
        "res.partner",
        compute="_compute_transaction_summary",
        store=True,
        index="btree_not_null",
        help="The partner of its transactions, when they have one.",
    )
    counterparty_name = fields.Char(
        string="Counterparty",
        compute="_compute_transaction_summary",
        store=True,
        help="The payer or payee as the bank or gateway names them, until a partner is known.",
    )
    dedup_key = fields.Char(
        index="btree_not_null",
        readonly=True,
        help="Identifies the problem, so that it updates one open exception instead "
        "of opening another.",
    )
    occurrence_count = fields.Integer(string="Occurrences", default=1, readonly=True)
    due_date = fields.Datetime(index=True, tracking=True)
    is_overdue = fields.Boolean(compute="_compute_is_overdue", search="_search_is_overdue")
    age_days = fields.Integer(
        string="Age (days)",
        compute="_compute_age_days",
        search="_search_age_days",
        help="Days since it was opened.",
    )
    escalated = fields.Boolean(readonly=True, tracking=True)
    reason_id = fields.Many2one("finsync.exception.reason", string="Reason Code", tracking=True)
    resolution_note = fields.Text()
    resolved_by_id = fields.Many2one("res.users", string="Closed By", readonly=True)
    resolved_date = fields.Datetime(string="Closed On", readonly=True)

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends("severity")
    def _compute_priority_rank(self):
        for exc in self:
            exc.priority_rank = SEVERITY_ORDER.index(exc.severity) if exc.severity else 0

    @api.depends("state")
    def _compute_is_open(self):
        for exc in self:
            exc.is_open = exc.state in OPEN_STATES

    @api.depends("due_date", "state")
    def _compute_is_overdue(self):
        now = fields.Datetime.now()
        for exc in self:
            exc.is_overdue = bool(exc.is_open and exc.due_date and exc.due_date < now)

    def _search_is_overdue(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Unsupported search on overdue exceptions."))
        overdue = [("state", "in", OPEN_STATES), ("due_date", "<", fields.Datetime.now())]
        return overdue if (operator == "=") == value else ["!", "&", *overdue]

    def _compute_age_days(self):
        now = fields.Datetime.now()
        for exc in self:
            exc.age_days = (now - exc.create_date).days if exc.create_date else 0

    def _search_age_days(self, operator, value):
        # Age N days means opened in the 24 hours ending N days ago.
        if operator not in ("=", "!=", ">", ">=", "<", "<=") or not isinstance(value, int):
            raise UserError(self.env._("Unsupported search on the age of exceptions."))
        now = fields.Datetime.now()

        def opened_before(days):
            return ("create_date", "<=", now - timedelta(days=days))

        def opened_after(days):
            return ("create_date", ">", now - timedelta(days=days))

        if operator == ">=":
            return [opened_before(value)]
        if operator == ">":
            return [opened_before(value + 1)]
        if operator == "<":
            return [opened_after(value)]
        if operator == "<=":
            return [opened_after(value + 1)]
        exactly = ["&", opened_before(value), opened_after(value + 1)]
        return exactly if operator == "=" else ["!", *exactly]

    @api.depends(
        "company_id",
        "transaction_ids.amount",
        "transaction_ids.amount_company_currency",
        "transaction_ids.currency_id",
        "transaction_ids.booking_date",
        "transaction_ids.partner_id",
        "transaction_ids.counterparty_name",
    )
    def _compute_transaction_summary(self):
        for exc in self:
            transactions = exc.transaction_ids
            if len(transactions.currency_id) == 1:
                exc.currency_id = transactions.currency_id
                exc.amount = sum(transactions.mapped("amount"))
            else:
                exc.currency_id = exc.company_id.currency_id
                exc.amount = sum(transactions.mapped("amount_company_currency"))
            dates = [date for date in transactions.mapped("booking_date") if date]
            exc.transaction_date = min(dates) if dates else False
            exc.partner_id = transactions.partner_id[:1]
            exc.counterparty_name = next(
                (name for name in transactions.mapped("counterparty_name") if name), False
            )

    @api.model
    def _group_expand_states(self, states, domain):
        # Under the "Open" filter, closed columns would always be empty: leave them out.
        only_open = ("is_open", "=", True) in [tuple(leaf) for leaf in domain if len(leaf) == 3]
        return [
            key
            for key, _label in self._fields["state"].selection
            if not only_open or key in OPEN_STATES
        ]

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------
    @api.constrains("state", "reason_id")
    def _check_reason_on_close(self):
        for exc in self:
            if exc.state in ("resolved", "ignored") and not exc.reason_id:
                raise ValidationError(
                    self.env._(
                        "Exception %(name)s: a reason code is required to close it.",
                        name=exc.name,
                    )
                )

    def init(self):
        """One open exception per problem, guarded by PostgreSQL (see ``_open_for_records``)."""
        result = super().init()
        # Databases from before the index may hold several open exceptions for
        # one key: the oldest keeps it, the others stay open, unkeyed.
        self.env.cr.execute(
            SQL(
                """
                UPDATE finsync_exception dup SET dedup_key = NULL
                 WHERE dup.dedup_key IS NOT NULL AND dup.state IN %(open)s
                   AND EXISTS (SELECT 1 FROM finsync_exception first
                                WHERE first.dedup_key = dup.dedup_key
                                  AND first.state IN %(open)s AND first.id < dup.id)
                """,
                open=OPEN_STATES,
            )
        )
        if self.env.cr.rowcount:
            _logger.warning("FinSync: %d duplicate open exceptions unkeyed", self.env.cr.rowcount)
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS finsync_exception_open_dedup_key_uniq
                    ON finsync_exception (dedup_key)
                 WHERE dedup_key IS NOT NULL AND state IN %s
                """,
                OPEN_STATES,
            )
        )
        return result

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    # Written only by the exception's methods (``_write_protected``): how and by
    # whom it was closed, and the key that keeps it unique.
    PROTECTED_FIELDS = frozenset(
        {
            "state",
            "is_open",
            "reason_id",
            "resolved_by_id",
            "resolved_date",
            "dedup_key",
            "occurrence_count",
        }
    )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_protected_vals({key for vals in vals_list for key in vals})
        policies = self.env["finsync.exception.sla"]._policies_for(
            [
                (vals.get("exception_type"), vals.get("company_id") or self.env.company.id)
                for vals in vals_list
            ]
        )
        now = fields.Datetime.now()
        for vals in vals_list:
            policy = policies[
                (vals.get("exception_type"), vals.get("company_id") or self.env.company.id)
            ]
            if policy:
                vals.setdefault("user_id", policy.default_user_id.id)
                vals.setdefault("severity", policy.default_severity)
                vals.setdefault("due_date", now + timedelta(hours=policy.sla_hours))
        exceptions = super().create(vals_list)
        exceptions._raise_severity_by_amount(policies)
        exceptions._emit_outbox("exception.opened")
        return exceptions

    def write(self, vals):
        self._check_protected_vals(vals)
        return super().write(vals)

    def _check_protected_vals(self, fnames):
        protected = self.PROTECTED_FIELDS.intersection(fnames)
        if protected and not _GUARD.granted(self.env):
            raise AccessError(
                self.env._(
                    "These fields of a FinSync exception can be changed only through its actions "
                    "(start, wait, resolve, ignore, reopen): %(fields)s.",
                    fields=", ".join(
                        self._fields[name]._description_string(self.env)
                        for name in sorted(protected)
                    ),
                )
            )

    def _write_protected(self, vals):
        """Write the state or closing fields: for this model's methods, after their checks."""
        return _GUARD.grant(self).write(vals)

    def _raise_severity_by_amount(self, policies):
        """Start one severity higher when the money at stake reaches the policy's amount."""
        by_severity = {}
        for exc in self:
            policy = policies.get((exc.exception_type, exc.company_id.id))
            threshold = policy.raise_severity_amount if policy else 0
            if not threshold or not exc.transaction_ids:
                continue
            at_stake = max(
                abs(amount) for amount in exc.transaction_ids.mapped("amount_company_currency")
            )
            if exc.company_id.currency_id.compare_amounts(at_stake, threshold) >= 0:
                position = SEVERITY_ORDER.index(exc.severity)
                raised = SEVERITY_ORDER[min(position + 1, len(SEVERITY_ORDER) - 1)]
                by_severity.setdefault(raised, self.browse())
                by_severity[raised] |= exc
        for severity, exceptions in by_severity.items():
            exceptions.write({"severity": severity})

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_assign_to_me(self):
        self._check_can_work()
        self.write({"user_id": self.env.uid})
        self.filtered(lambda exc: exc.state == "new")._set_open_state("in_progress")
        return True

    def action_start(self):
        self._check_can_work()
        self._set_open_state("in_progress")
        return True

    def action_wait(self):
        self._check_can_work()
        self._set_open_state("waiting")
        return True

    def action_reopen(self):
        self._check_can_resolve()
        closed = self.filtered(lambda exc: not exc.is_open)
        closed._write_protected(
            {"state": "new", "reason_id": False, "resolved_by_id": False, "resolved_date": False}
        )
        for exc in closed:
            exc.message_post(body=self.env._("Exception reopened."))
        return True

    def action_open_resolve_wizard(self):
        self._check_can_resolve()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_base.action_finsync_exception_resolve"
        )
        action["context"] = {
            "active_model": self._name,
            "active_ids": self.ids,
            "default_mode": self.env.context.get("finsync_resolve_mode", "resolve"),
        }
        return action

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _check_can_work(self):
        user = self.env.user
        if user.has_group("finsync_base.group_finsync_accountant"):
            return
        foreign = self.filtered(lambda exc: exc.user_id and exc.user_id != user)
        if foreign:
            raise AccessError(
                self.env._(
                    "Exception %(name)s belongs to %(owner)s: only accountants work on "
                    "other people's exceptions.",
                    name=foreign[0].name,
                    owner=foreign[0].user_id.name,
                )
            )

    def _check_can_resolve(self):
        if self.env.su:
            return  # FinSync itself closing what it resolved (e.g. a late match)
        if not self.env.user.has_group("finsync_base.group_finsync_accountant"):
            raise AccessError(self.env._("Only FinSync accountants can close exceptions."))

    def _set_open_state(self, state):
        """Move open exceptions between open states; closed ones stay closed (see reopen)."""
        if state not in OPEN_STATES:
            raise UserError(self.env._("Exceptions are closed with a reason code only."))
        self.filtered("is_open")._write_protected({"state": state})
        return True

    def _close(self, reason, note=False, ignore=False):
        """Resolve (or ignore) open exceptions with a reason code."""
        self._check_can_resolve()
        if not reason:
            raise UserError(self.env._("Choose a reason code to close the exceptions."))
        to_close = self.filtered("is_open")
        to_close._write_protected(
            {
                "state": "ignored" if ignore else "resolved",
                "reason_id": reason.id,
                "resolution_note": note,
                "resolved_by_id": self.env.uid,
                "resolved_date": fields.Datetime.now(),
            }
        )
        to_close._emit_outbox("exception.resolved")
        for exc in to_close:
            exc.message_post(
                body=self.env._(
                    "Closed with reason %(reason)s. %(note)s",
                    reason=reason.display_name,
                    note=note or "",
                )
            )
        return to_close

    def _emit_outbox(self, event_type):
        """Outbound event of opened / closed exceptions; those about failed outbound
        deliveries emit none (a failing endpoint would feed itself)."""
        self.env["finsync.outbox.event"]._emit(
            event_type,
            self.filtered(lambda exc: exc.exception_type != "delivery_failed"),
            FinsyncException._outbox_payload,
            lambda exc: exc.event_id.correlation_id,
        )

    def _outbox_payload(self):
        """The ``data`` of exception events (version 1)."""
        return {
            "id": self.id,
            "name": self.name,
            "exception_type": self.exception_type,
            "severity": self.severity,
            "state": self.state,
            "owner": {"id": self.user_id.id, "name": self.user_id.name} if self.user_id else None,
            "due_date": fields.Datetime.to_string(self.due_date) if self.due_date else None,
            "reason": self.reason_id.code or None,
            "connector_id": self.backend_id.id or None,
            "transaction_ids": self.transaction_ids.ids,
        }

    @api.model
    def _open_for_records(self, exception_type, records, vals_getter):
        """One open exception per problem and record: create it, or count a recurrence.

        A unique index keeps one open exception per key. A job racing another
        that opened the same one meanwhile (invisible to this transaction) gets
        a ``RetryableJobError``: run again, it counts a recurrence.
        """
        if not records:
            # Nothing to open: no look-up, and no savepoint (which flushes everything
            # pending, thousands of records in a CRM page).
            return self.sudo().browse()
        keys = {rec.id: f"{exception_type}:{rec._name}:{rec.id}" for rec in records}
        # sudo: a connector's technical user opens exceptions it cannot manage.
        keeper = _GUARD.grant(self.sudo())
        existing = {
            exc.dedup_key: exc
            for exc in keeper.search(
                [("dedup_key", "in", list(keys.values())), ("is_open", "=", True)]
            )
        }
        vals_list = []
        for rec in records:
            exc = existing.get(keys[rec.id])
            if exc:
                exc.occurrence_count += 1
                exc.message_post(body=self.env._("The problem occurred again."))
                continue
            vals = vals_getter(rec)
            vals.update(
                exception_type=exception_type,
                dedup_key=keys[rec.id],
                company_id=rec.company_id.id,
            )
            vals_list.append(vals)
        try:
            created = keeper.browse()
            if vals_list:
                with self.env.cr.savepoint():
                    created = keeper.create(vals_list)
        except psycopg2.errors.UniqueViolation as err:
            raise RetryableJobError(
                self.env._(
                    "Another job opened the same %(type)s exception meanwhile: run again "
                    "to count it as a recurrence.",
                    type=exception_type,
                ),
                seconds=2,
            ) from err
        opened = created | keeper.browse([exc.id for exc in existing.values()])
        # sudo, without the write key: callers post on and link exceptions they
        # opened as the system, not as a manager of exceptions.
        return opened.with_env(self.sudo().env)

    @api.model
    def _cron_escalate_overdue(self, limit=500):
        """Raise the severity of overdue exceptions once and ask someone to act."""
        overdue = self.search([("is_overdue", "=", True), ("escalated", "=", False)], limit=limit)
        policies = self.env["finsync.exception.sla"]._policies_for(
            [(exc.exception_type, exc.company_id.id) for exc in overdue]
        )
        activity_type = self.env.ref("mail.mail_activity_data_todo")
        for exc in overdue:
            position = SEVERITY_ORDER.index(exc.severity)
            exc.write(
                {
                    "severity": SEVERITY_ORDER[min(position + 1, len(SEVERITY_ORDER) - 1)],
                    "escalated": True,
                }
            )
            exc.message_post(body=self.env._("Overdue: escalated."))
            owner = (
                policies[(exc.exception_type, exc.company_id.id)].escalation_user_id or exc.user_id
            )
            if owner:
                exc.activity_schedule(
                    activity_type_id=activity_type.id,
                    summary=self.env._("Overdue FinSync exception"),
                    user_id=owner.id,
                )
        if overdue:
            _logger.info("FinSync: %d overdue exceptions escalated", len(overdue))
        return overdue
