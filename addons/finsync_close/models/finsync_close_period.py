import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from odoo.addons.finsync_base.tools.server_only import ServerOnly

from .finsync_close_check import AUTO_CHECKS

_logger = logging.getLogger(__name__)

# The pass of the close's own methods (state, lock dates, sign-offs): no client
# can send it, whatever context it forges.
CLOSE_GUARD = ServerOnly("finsync_close_protected")
LOCK_FIELDS = ("fiscalyear_lock_date", "tax_lock_date", "sale_lock_date", "purchase_lock_date")
MANAGER_GROUP = "finsync_base.group_finsync_manager"
ACCOUNTANT_GROUP = "finsync_base.group_finsync_accountant"
# What people may write on a close (the rest is written by its methods).
# item_ids: the checklist is edited in the form; items guard their own fields.
PEOPLE_FIELDS = {"name", "note", "date_from", "date_to", "company_id", "item_ids"}


class FinsyncClose(models.Model):
    """The month-end close of one company and period: its checklist, sign-offs and lock dates."""

    _name = "finsync.close"
    _description = "FinSync Period Close"
    _inherit = ["mail.thread"]
    _order = "date_from desc, id desc"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    name = fields.Char(compute="_compute_name", store=True, readonly=False)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    date_from = fields.Date(string="From", required=True, tracking=True)
    date_to = fields.Date(string="To", required=True, tracking=True)
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("not_ready", "Not Ready"),
            ("ready", "Ready"),
            ("closed", "Closed"),
            ("reopened", "Reopened"),
        ],
        default="draft",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
    )
    item_ids = fields.One2many("finsync.close.item", "close_id", string="Checklist", readonly=True)
    readiness = fields.Float(
        compute="_compute_readiness", store=True, help="Share of the checklist signed off (%)."
    )
    item_count = fields.Integer(compute="_compute_readiness", store=True)
    signed_count = fields.Integer(compute="_compute_readiness", store=True)
    note = fields.Text()
    last_refresh = fields.Datetime(readonly=True)
    closed_by_id = fields.Many2one("res.users", string="Closed By", readonly=True, tracking=True)
    closed_on = fields.Datetime(readonly=True)
    override_reason = fields.Text(readonly=True, tracking=True)
    lock_snapshot = fields.Json(
        readonly=True, help="Lock dates the close set: {field: [before, after]}."
    )
    ready_emitted = fields.Boolean(
        string="Close Ready Sent", readonly=True, help="period.close_ready went out (once)."
    )
    log_ids = fields.One2many("finsync.close.log", "close_id", string="History", readonly=True)
    is_manager = fields.Boolean(compute="_compute_is_manager")

    _sql_constraints = [
        (
            "period_unique",
            "UNIQUE(company_id, date_from, date_to)",
            "This company already has a close for this period.",
        ),
        ("dates_ordered", "CHECK(date_from <= date_to)", "A period ends after it starts."),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends("date_from", "date_to", "company_id")
    def _compute_name(self):
        for close in self:
            if close.date_from and close.date_to:
                close.name = f"{close.company_id.name or ''} {close.date_from} - {close.date_to}"
            else:
                close.name = False

    @api.depends("item_ids.state")
    def _compute_readiness(self):
        for close in self:
            total = len(close.item_ids)
            signed = len(close.item_ids.filtered(lambda i: i.state == "signed"))
            close.item_count = total
            close.signed_count = signed
            close.readiness = 100.0 * signed / total if total else 0.0

    def _compute_is_manager(self):
        self.is_manager = self.env.user.has_group(MANAGER_GROUP)

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------
    @api.constrains("date_from", "date_to", "company_id")
    def _check_overlap(self):
        for close in self:
            overlapping = self.search_count(
                [
                    ("id", "!=", close.id),
                    ("company_id", "=", close.company_id.id),
                    ("date_from", "<=", close.date_to),
                    ("date_to", ">=", close.date_from),
                ]
            )
            if overlapping:
                raise ValidationError(
                    self.env._(
                        "The period %(name)s overlaps another close of the company.",
                        name=close.name,
                    )
                )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        if not CLOSE_GUARD.granted(self.env):
            for vals in vals_list:
                self._check_people_fields(vals)
        closes = super().create(vals_list)
        closes._log("create", "")
        return closes

    def write(self, vals):
        if not CLOSE_GUARD.granted(self.env):
            self._check_people_fields(vals)
            if {"date_from", "date_to", "company_id"} & set(vals) and self.filtered(
                lambda c: c.state in ("closed", "reopened") or c.lock_snapshot
            ):
                raise UserError(self.env._("The period of a closed close cannot change."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_closed(self):
        if self.filtered(lambda c: c.state in ("closed", "reopened") or c.lock_snapshot):
            raise UserError(self.env._("A close that was closed is kept: reopen it instead."))

    def _check_people_fields(self, vals):
        protected = {
            f
            for f in vals
            if f not in PEOPLE_FIELDS and not f.startswith(("message_", "activity_"))
        }
        if protected:
            raise AccessError(
                self.env._(
                    "%(fields)s of a period close change only through its buttons.",
                    fields=", ".join(sorted(protected)),
                )
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_refresh(self):
        """Button: run the checks again, re-evaluate sign-offs, update the state."""
        self._check_group(ACCOUNTANT_GROUP)
        if self.filtered(lambda c: c.state == "closed"):
            raise UserError(self.env._("A closed period's checklist is frozen: reopen it first."))
        self._refresh()
        return True

    def action_close(self):
        """Button: lock the period when every item is signed off."""
        self.ensure_one()
        self._check_group(ACCOUNTANT_GROUP)
        self._close()
        return True

    def action_open_override_wizard(self):
        self.ensure_one()
        self._check_group(MANAGER_GROUP)
        return self._reason_wizard("override")

    def action_open_reopen_wizard(self):
        self.ensure_one()
        self._check_group(MANAGER_GROUP)
        return self._reason_wizard("reopen")

    def action_print(self):
        self.ensure_one()
        return self.env.ref("finsync_close.action_report_finsync_close").report_action(self)

    def _reason_wizard(self, mode):
        return {
            "type": "ir.actions.act_window",
            "res_model": "finsync.close.reason.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_close_id": self.id, "default_mode": mode},
        }

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _settings(self):
        self.ensure_one()
        return self.env["finsync.close.setting"]._for_company(self.company_id)

    def _check_group(self, group):
        if not self.env.su and not self.env.user.has_group(group):
            label = self.env.ref(group).full_name
            raise AccessError(
                self.env._("Only %(group)s users may do this on a period close.", group=label)
            )

    def _refresh(self):
        """Run every check, add missing items, reopen sign-offs whose numbers moved."""
        Item = self.env["finsync.close.item"]
        for close in self:
            results = self.env["finsync.close.check"]._run_checks(close)
            close._ensure_items()
            close.item_ids._apply_evidence(results)
            CLOSE_GUARD.grant(close).write({"last_refresh": fields.Datetime.now()})
        Item.flush_model()
        self._update_state()

    def _ensure_items(self):
        """The checklist's items: one per automatic check, one per active template."""
        self.ensure_one()
        settings = self._settings()
        owner = settings.user_id or self.create_uid
        have_codes = set(self.item_ids.mapped("code"))
        have_templates = self.item_ids.template_id
        vals_list = [
            {
                "close_id": self.id,
                "code": code,
                "name": label,
                "sequence": sequence,
                "user_id": owner.id,
            }
            for code, (sequence, label) in AUTO_CHECKS.items()
            if code not in have_codes
        ]
        templates = self.env["finsync.close.template"].search(
            [("company_id", "=", self.company_id.id), ("id", "not in", have_templates.ids)]
        )
        vals_list += [template._item_vals(self, owner) for template in templates]
        if vals_list:
            # sudo: items are created by the checklist only (people have no create right).
            CLOSE_GUARD.grant(self.env["finsync.close.item"].sudo()).create(vals_list)

    def _update_state(self):
        """ready / not ready from the sign-offs; period.close_ready once when ready."""
        for close in self.filtered(lambda c: c.state != "closed"):
            ready = close.item_count and close.signed_count == close.item_count
            state = "ready" if ready else "not_ready"
            if close.state == "reopened" and not ready:
                state = "reopened"
            if state != close.state:
                CLOSE_GUARD.grant(close).write({"state": state})
        became_ready = self.filtered(lambda c: c.state == "ready" and not c.ready_emitted)
        if became_ready:
            became_ready._emit_close_ready()

    def _emit_close_ready(self):
        Outbox = self.env["finsync.outbox.event"]
        pending = self.filtered(
            lambda c: c.id not in Outbox._emitted_ids("period.close_ready", self)
        )
        Outbox._emit(
            "period.close_ready",
            pending,
            lambda close: {
                "date_from": fields.Date.to_string(close.date_from),
                "date_to": fields.Date.to_string(close.date_to),
                "readiness": close.readiness,
                "items": [
                    {"code": i.code, "name": i.name, "count": i.evidence_count}
                    for i in close.item_ids
                ],
            },
        )
        CLOSE_GUARD.grant(self).write({"ready_emitted": True})

    def _close(self, override_reason=None):
        """Lock the period: only when ready, or by a manager with a reason."""
        self.ensure_one()
        if self.state == "closed":
            raise UserError(self.env._("The period %(name)s is already closed.", name=self.name))
        if override_reason is not None:
            self._check_group(MANAGER_GROUP)
            if not override_reason.strip():
                raise UserError(self.env._("Closing with an override needs a reason."))
        self._refresh()
        if self.state != "ready" and override_reason is None:
            missing = self.item_ids.filtered(lambda i: i.state != "signed")
            raise UserError(
                self.env._(
                    "The period %(name)s is not ready to close: %(items)s not signed off.",
                    name=self.name,
                    items=", ".join(missing.mapped("name")),
                )
            )
        snapshot = self._apply_lock_dates()
        CLOSE_GUARD.grant(self).write(
            {
                "state": "closed",
                "closed_by_id": self.env.user.id,
                "closed_on": fields.Datetime.now(),
                "override_reason": override_reason or False,
                "lock_snapshot": snapshot,
            }
        )
        if override_reason:
            self._log("override", override_reason)
            self.message_post(
                body=self.env._("Closed with an override: %(reason)s", reason=override_reason)
            )
        else:
            self._log("close", "")
            self.message_post(body=self.env._("Closed: every checklist item is signed off."))
        _logger.info("Close %s closed (override: %s)", self.id, bool(override_reason))

    def _apply_lock_dates(self):
        """Set the configured lock dates to the period end (never moving one back)."""
        company = self.company_id
        configured = self._settings()._lock_fields()
        snapshot, vals = {}, {}
        for field in configured:
            before = company[field]
            if not before or before < self.date_to:
                vals[field] = self.date_to
                snapshot[field] = [
                    fields.Date.to_string(before) if before else None,
                    fields.Date.to_string(self.date_to),
                ]
        if vals:
            # sudo: lock dates are for Odoo's administrators; the close checked
            # readiness (or the manager's override) before setting them.
            company.sudo().write(vals)
        return snapshot

    def _reopen(self, reason):
        """Reopen a closed period (managers, with a reason) and restore its lock dates."""
        self.ensure_one()
        self._check_group(MANAGER_GROUP)
        if self.state != "closed":
            raise UserError(self.env._("Only a closed period can be reopened."))
        if not (reason or "").strip():
            raise UserError(self.env._("Reopening a period needs a reason."))
        company = self.company_id
        snapshot = self.lock_snapshot or {}
        moved = [
            field
            for field, (_before, after) in snapshot.items()
            if fields.Date.to_string(company[field]) != after
        ]
        if moved:
            labels = ", ".join(
                company._fields[f].get_description(self.env)["string"] for f in moved
            )
            raise UserError(
                self.env._(
                    "%(fields)s of %(company)s changed since %(name)s was closed: the close "
                    "cannot restore them. Set them by hand in the accounting settings first.",
                    fields=labels,
                    company=company.name,
                    name=self.name,
                )
            )
        vals = {field: before or False for field, (before, _after) in snapshot.items()}
        if vals:
            # sudo: restores the lock dates this close set (checked above), for a manager.
            company.sudo().write(vals)
        CLOSE_GUARD.grant(self).write({"state": "reopened", "lock_snapshot": False})
        self._log("reopen", reason)
        self.message_post(body=self.env._("Reopened: %(reason)s", reason=reason))

    def _log(self, action, reason):
        # sudo: the history is append-only; people have no create right on it.
        self.env["finsync.close.log"].sudo().create(
            [{"close_id": close.id, "action": action, "reason": reason or False} for close in self]
        )
