import base64
import logging
import secrets
from datetime import timedelta

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, ValidationError

from ..tools.server_only import ServerOnly
from .finsync_outbox_event import target_key_of_subscription

_logger = logging.getLogger(__name__)

# The pass of the subscription's own methods to write its health (pause, resume).
_GUARD = ServerOnly("finsync_outbox_subscription_protected")
# Failing for this long without one success pauses a subscription.
PAUSE_AFTER = timedelta(hours=24)
HEALTH_REFRESH = timedelta(minutes=1)


class FinsyncOutboxSubscription(models.Model):
    """A webhook endpoint receiving a company's outbound events of chosen types."""

    _name = "finsync.outbox.subscription"
    _description = "FinSync Webhook Subscription"
    _inherit = ["mail.thread"]
    _order = "name, id"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    url = fields.Char(
        string="URL",
        required=True,
        tracking=True,
        help="Where deliveries are POSTed; changed by Settings administrators only.",
    )
    event_type_ids = fields.Many2many(
        "finsync.outbox.event.type", string="Event Types", required=True
    )
    secret = fields.Char(
        groups="base.group_system",
        copy=False,
        help="Signs every delivery (Standard Webhooks); whsec_<base64> or any text.",
    )
    has_secret = fields.Boolean(compute="_compute_has_secret")
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        required=True,
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
        tracking=True,
        help="Gets the exceptions of dead deliveries and of a pause.",
    )
    state = fields.Selection(
        [("active", "Active"), ("paused", "Paused")],
        default="active",
        required=True,
        readonly=True,
        tracking=True,
    )
    paused_reason = fields.Text(readonly=True)
    paused_at = fields.Datetime(readonly=True)
    failing_since = fields.Datetime(
        readonly=True, help="First failed attempt since the last successful one."
    )
    last_success_at = fields.Datetime(readonly=True)
    delivery_ids = fields.One2many("finsync.outbox.delivery", "subscription_id", readonly=True)
    pending_count = fields.Integer(compute="_compute_counts")
    dead_count = fields.Integer(compute="_compute_counts")

    # Written only by the subscription's methods (pause, resume, delivery results).
    PROTECTED_FIELDS = frozenset(
        {"state", "paused_reason", "paused_at", "failing_since", "last_success_at"}
    )
    # Decide where the events and their signatures go: Settings only, like the secret.
    ENDPOINT_FIELDS = frozenset({"url", "secret", "company_id"})

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends_context("uid")
    def _compute_has_secret(self):
        # sudo: only tells whether a secret exists, never its value.
        for sub, sudo_sub in zip(self, self.sudo(), strict=True):
            sub.has_secret = bool(sudo_sub.secret)

    def _compute_counts(self):
        counts = {
            (sub.id, state): count
            for sub, state, count in self.env["finsync.outbox.delivery"]._read_group(
                [("subscription_id", "in", self.ids)], ["subscription_id", "state"], ["__count"]
            )
        }
        for sub in self:
            sub.pending_count = counts.get((sub.id, "pending"), 0) + counts.get(
                (sub.id, "retrying"), 0
            )
            sub.dead_count = counts.get((sub.id, "dead"), 0)

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_write_vals(vals, vals.get("name"))
        subscriptions = super().create(vals_list)
        self.env.registry.clear_cache()  # _listening_ids
        return subscriptions

    def write(self, vals):
        for sub in self:
            self._check_write_vals(vals, sub.name)
        result = super().write(vals)
        if {"active", "company_id", "event_type_ids"} & set(vals):
            self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    def _check_write_vals(self, vals, name):
        protected = self.PROTECTED_FIELDS.intersection(vals)
        if protected and not _GUARD.granted(self.env):
            raise AccessError(
                self.env._(
                    "The state of webhook subscription %(name)s changes only through its "
                    "Pause and Resume actions and its deliveries.",
                    name=name or self.env._("(new)"),
                )
            )
        endpoint = self.ENDPOINT_FIELDS.intersection(vals)
        if endpoint and not (self.env.su or self.env.user.has_group("base.group_system")):
            raise AccessError(
                self.env._(
                    "Only Settings administrators can set %(fields)s of webhook subscription "
                    "%(name)s: it decides where finance events and their signatures are sent.",
                    fields=", ".join(sorted(endpoint)),
                    name=name or self.env._("(new)"),
                )
            )

    def _write_protected(self, vals):
        # sudo: the health fields are the system's; the caller checked who asks.
        return _GUARD.grant(self.sudo()).write(vals)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_generate_secret(self):
        """Button (Settings): a new ``whsec_`` secret of 32 random bytes."""
        self.ensure_one()
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(self.env._("Only Settings administrators can set secrets."))
        self.secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        return True

    def action_resume(self):
        """Button: deliver again what the pause held back (FinSync managers)."""
        self._check_manager()
        paused = self.filtered(lambda sub: sub.state == "paused")
        paused._write_protected(
            {"state": "active", "paused_reason": False, "paused_at": False, "failing_since": False}
        )
        deliveries = self.env["finsync.outbox.delivery"].sudo()
        waiting = deliveries.search(
            [("subscription_id", "in", paused.ids), ("state", "in", ("pending", "retrying"))]
        )
        waiting.write({"next_attempt_at": fields.Datetime.now()})
        for sub in paused.sudo():  # sudo: the chatter note of a checked action (managers read only)
            sub.message_post(body=self.env._("Resumed by %(user)s.", user=self.env.user.name))
        deliveries._schedule([target_key_of_subscription(sub.id) for sub in paused])
        return True

    def action_pause(self):
        self._check_manager()
        self.filtered(lambda sub: sub.state == "active")._pause(
            self.env._("Paused by %(user)s.", user=self.env.user.name), notify=False
        )
        return True

    def action_view_deliveries(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_base.action_finsync_outbox_delivery"
        )
        action["domain"] = [("subscription_id", "=", self.id)]
        return action

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _check_manager(self):
        if not self.env.user.has_group("finsync_base.group_finsync_manager"):
            raise AccessError(
                self.env._("Only FinSync managers can pause, resume or replay webhook deliveries.")
            )

    def _get_secret(self):
        """The one accessor of the signing secret: for the delivery job only; never logged."""
        self.ensure_one()
        # sudo: the delivery job signs with a secret only Settings may read.
        return self.sudo().secret or False

    @api.model
    @tools.ormcache("event_type", "company_id")
    def _listening_ids(self, event_type, company_id):
        """Ids of the subscriptions (not archived) of ``company_id`` wanting ``event_type``."""
        # sudo: who emits an event needs not read subscriptions; only ids leave here.
        return tuple(
            self.sudo()
            .search(
                [
                    ("company_id", "=", company_id),
                    ("event_type_ids.code", "=", event_type),
                ]
            )
            .ids
        )

    def _pause(self, reason, notify=True):
        """Pause: deliveries wait (nothing is lost) until a manager resumes."""
        self._write_protected(
            {"state": "paused", "paused_reason": reason, "paused_at": fields.Datetime.now()}
        )
        for sub in self:
            sub.sudo().message_post(body=reason)
        if notify and self:
            self.env["finsync.exception"]._open_for_records(
                "delivery_failed",
                self,
                lambda sub: {
                    "name": self.env._("Webhook subscription %(name)s paused", name=sub.name),
                    "description": reason,
                    "user_id": sub.user_id.id,
                },
            )
        _logger.warning("FinSync outbox: subscriptions %s paused", self.ids)

    def _record_health(self, succeeded, failed, now):
        """After a delivery round: reset on success, pause after 24 h of failures only."""
        if succeeded:
            # Written at most once a minute: concurrent rounds would otherwise all
            # update this one row.
            stale = self.filtered(
                lambda sub: sub.failing_since
                or not sub.last_success_at
                or now - sub.last_success_at >= HEALTH_REFRESH
            )
            stale._write_protected({"last_success_at": now, "failing_since": False})
        if failed and not succeeded:
            starting = self.filtered(lambda sub: not sub.failing_since)
            starting._write_protected({"failing_since": now})
            failing = self.filtered(
                lambda sub: sub.state == "active"
                and sub.failing_since
                and now - sub.failing_since >= PAUSE_AFTER
            )
            if failing:
                failing._pause(
                    self.env._(
                        "Every delivery failed since %(since)s (more than 24 hours): the "
                        "subscription is paused. Fix the endpoint, then resume it.",
                        since=fields.Datetime.to_string(failing[0].failing_since),
                    )
                )

    @api.constrains("url")
    def _check_url(self):
        for sub in self:
            if sub.url and not sub.url.startswith(("https://", "http://")):
                raise ValidationError(
                    self.env._(
                        "Webhook subscription %(name)s: the URL must start with https:// "
                        "(or http:// for a local test).",
                        name=sub.name,
                    )
                )
