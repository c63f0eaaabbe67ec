import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..components.outbox import consumer_class
from ..tools import standard_webhooks
from ..tools.http_client import RetryingHttpClient
from ..tools.redact import redact_text
from .bulk_sql import CONCURRENCY_ERRORS

_logger = logging.getLogger(__name__)

DELIVERY_STATES = [
    ("pending", "Pending"),
    ("retrying", "Failed, retrying"),
    ("delivered", "Delivered"),
    ("dead", "Dead letter"),
]
OPEN_STATES = ("pending", "retrying")
# Deliveries one round sends to one target (one per record: see ``_lock_heads``).
ROUND_SIZE = 400
# Concurrent HTTP requests of one round.
POOL_SIZE = 32
# Seconds a delivery job keeps starting rounds before it hands over to a new job.
JOB_BUDGET = 30
EXCERPT_CHARS = 300
# Production defaults of the settings (ir.config_parameter) the bench shrinks.
PARAM_TIMEOUT = "finsync_base.outbox_http_timeout"
PARAM_SCALE = "finsync_base.outbox_retry_scale"
DEFAULT_TIMEOUT = 10  # seconds to connect and for each read


class OutboxHttpClient(RetryingHttpClient):
    """The project's HTTP client, one POST per attempt: the outbox keeps its own retries."""

    def post_once(self, body, headers):
        return self._transmit(
            "POST",
            self.base_url,
            data=body,
            headers={**headers, "Content-Type": "application/json"},
            allow_redirects=False,
        )


class FinsyncOutboxDelivery(models.Model):
    """One event to one subscription (or internal consumer): its state, schedule and attempts."""

    _name = "finsync.outbox.delivery"
    _description = "FinSync Outbound Delivery"
    _order = "id desc"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    event_id = fields.Many2one(
        "finsync.outbox.event", required=True, readonly=True, index=True, ondelete="restrict"
    )
    event_type = fields.Char(related="event_id.event_type")
    event_uuid = fields.Char(related="event_id.uuid", string="Event ID")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    subscription_id = fields.Many2one(
        "finsync.outbox.subscription",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
    )
    consumer = fields.Char(string="Internal Consumer", readonly=True)
    target_key = fields.Char(required=True, readonly=True)
    subject_key = fields.Char(
        required=True, readonly=True, help="The record the event is about: model,id."
    )
    state = fields.Selection(
        DELIVERY_STATES, default="pending", required=True, readonly=True, index=True
    )
    attempt_count = fields.Integer(readonly=True)
    next_attempt_at = fields.Datetime(readonly=True)
    first_attempt_at = fields.Datetime(readonly=True)
    delivered_at = fields.Datetime(readonly=True)
    last_status = fields.Integer(string="Last HTTP Status", readonly=True)
    last_error = fields.Char(readonly=True)
    replay_count = fields.Integer(readonly=True)
    attempt_ids = fields.One2many("finsync.outbox.attempt", "delivery_id", readonly=True)

    def init(self):
        """The index of ``_lock_heads``: open deliveries per target and record, oldest first."""
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX IF NOT EXISTS finsync_outbox_delivery_open_idx
                    ON finsync_outbox_delivery (target_key, subject_key, id)
                 WHERE state IN %s
                """,
                OPEN_STATES,
            )
        )

    @api.depends("event_id", "subscription_id", "consumer")
    def _compute_display_name(self):
        for delivery in self:
            target = delivery.subscription_id.name or delivery.consumer or ""
            delivery.display_name = f"{delivery.event_id.event_type} → {target}"

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_replay(self):
        """Button (one or many): send again now (FinSync managers, checked here).

        A dead or delivered delivery starts its retry schedule again with the
        same ``webhook-id`` (receivers dedupe on it); a retrying one is tried now.
        """
        if not self.env.user.has_group("finsync_base.group_finsync_manager"):
            raise AccessError(self.env._("Only FinSync managers can replay outbound deliveries."))
        now = fields.Datetime.now()
        # sudo: nobody writes deliveries; a manager's replay is this method's (checked above).
        deliveries = self.sudo()
        finished = deliveries.filtered(lambda d: d.state in ("dead", "delivered"))
        for replay_count, group in self._group_by(finished, "replay_count").items():
            group.write(
                {
                    "state": "pending",
                    "attempt_count": 0,
                    "next_attempt_at": now,
                    "replay_count": replay_count + 1,
                }
            )
        (deliveries - finished).filtered(lambda d: d.state in OPEN_STATES).write(
            {"next_attempt_at": now}
        )
        _logger.info("FinSync outbox: %d deliveries replayed by user %s", len(self), self.env.uid)
        self._schedule(set(deliveries.mapped("target_key")))
        return True

    # ------------------------------------------------------------------
    # Creating and scheduling
    # ------------------------------------------------------------------
    @api.model
    def _create_for_events(self, events, targets):
        """The deliveries of new ``events`` to their company's ``targets`` (one create)."""
        vals_list = []
        for event in events:
            for target_key in targets[event.company_id.id]:
                kind, _sep, ref = target_key.partition(":")
                vals_list.append(
                    {
                        "event_id": event.id,
                        "company_id": event.company_id.id,
                        "subscription_id": int(ref) if kind == "subscription" else False,
                        "consumer": ref if kind == "consumer" else False,
                        "target_key": target_key,
                        "subject_key": f"{event.res_model},{event.res_id}",
                        "next_attempt_at": event.occurred_at,
                    }
                )
        # sudo: the outbox is append-only for people (see _emit).
        deliveries = self.sudo().create(vals_list)
        self._enqueue({vals["target_key"] for vals in vals_list})
        return deliveries

    @api.model
    def _enqueue(self, target_keys, eta=None):
        """Queue a delivery job per target (one pending job per target and start time)."""
        for target_key in sorted(target_keys):
            stamp = fields.Datetime.to_string(eta) if eta else "now"
            self.with_delay(
                channel="root.finsync.outbox",
                eta=eta,
                identity_key=f"finsync-outbox:{target_key}:{stamp}",
                description=f"FinSync outbox: deliver to {target_key}",
            )._deliver_job(target_key)

    @api.model
    def _schedule(self, target_keys):
        """Queue the next job of each target: now when a delivery is due, else when one is."""
        now = fields.Datetime.now()
        for target_key in target_keys:
            if self._target_paused(target_key):
                continue
            self.flush_model()
            self.env.cr.execute(
                SQL(
                    """
                    SELECT min(next_attempt_at) FROM (
                        SELECT DISTINCT ON (subject_key) next_attempt_at
                          FROM finsync_outbox_delivery
                         WHERE target_key = %s AND state IN %s
                         ORDER BY subject_key, id) heads
                    """,
                    target_key,
                    OPEN_STATES,
                )
            )
            due = self.env.cr.fetchone()[0]
            if due:
                self._enqueue([target_key], eta=due if due > now else None)

    def _target_paused(self, target_key):
        kind, _sep, ref = target_key.partition(":")
        if kind != "subscription":
            return consumer_class(ref) is None
        # sudo: the job reads its subscription's state, whoever queued it.
        sub = self.env["finsync.outbox.subscription"].sudo().browse(int(ref)).exists()
        return not sub or not sub.active or sub.state == "paused"

    # ------------------------------------------------------------------
    # Delivering
    # ------------------------------------------------------------------
    @api.model
    def _deliver_job(self, target_key, budget=JOB_BUDGET):
        """Job: rounds of deliveries to ``target_key`` for up to ``budget`` seconds.

        Each round is its own transaction (a fresh snapshot sees what was
        committed meanwhile; what a round sent is recorded when it commits),
        so one job drains a burst without waiting for the job runner between
        rounds. Runs as the superuser (the job's user may not read
        subscriptions); the next job is queued when the last round ends.
        """
        deadline = time.monotonic() + budget
        while True:
            with self.env.registry.cursor() as cr:
                # sudo: delivering is the system's work, whoever's change queued it.
                deliveries = self.env(cr=cr, su=True)[self._name]
                sent = deliveries._deliver_round(target_key, schedule=False)
                last = not sent or time.monotonic() >= deadline
                if last:
                    deliveries._schedule([target_key])
            if last:
                return True

    @api.model
    def _deliver_round(self, target_key, limit=ROUND_SIZE, schedule=True):
        """Send the due head deliveries of ``target_key`` once; record the outcomes.

        Returns the deliveries attempted; ``schedule`` queues the next job.
        """
        if self._target_paused(target_key):
            return self.browse()
        heads = self._lock_heads(target_key, limit)
        if heads is None:  # another job changed them since this one began: go on later
            self._enqueue([target_key], eta=fields.Datetime.now() + timedelta(seconds=1))
            return self.browse()
        if heads:
            kind, _sep, ref = target_key.partition(":")
            if kind == "subscription":
                subscription = self.env["finsync.outbox.subscription"].browse(int(ref))
                outcomes = heads._send_http(subscription)
            else:
                outcomes = heads._send_consumer(consumer_class(ref)(self.env))
            heads._record_outcomes(outcomes)
        if schedule:
            self._schedule([target_key])
        return heads

    def _lock_heads(self, target_key, limit):
        """The due deliveries of the target that are first in line for their record, locked.

        A delivery waits while an older one of the same record to the same
        target is neither delivered nor dead: an older state never overtakes a
        newer one. ``FOR UPDATE SKIP LOCKED``: a delivery another job is
        sending is skipped, never sent twice at once. Returns None when a
        row changed since this transaction began (run again later).
        """
        self.flush_model()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        """
                        SELECT d.id FROM finsync_outbox_delivery d
                         WHERE d.target_key = %(target)s AND d.state IN %(open)s
                           AND d.next_attempt_at <= %(now)s
                           AND NOT EXISTS (
                               SELECT 1 FROM finsync_outbox_delivery older
                                WHERE older.target_key = d.target_key
                                  AND older.subject_key = d.subject_key
                                  AND older.state IN %(open)s AND older.id < d.id)
                         ORDER BY d.id
                         LIMIT %(limit)s
                           FOR UPDATE SKIP LOCKED
                        """,
                        target=target_key,
                        open=OPEN_STATES,
                        now=fields.Datetime.now(),
                        limit=limit,
                    ),
                    log_exceptions=False,
                )
                ids = [row[0] for row in self.env.cr.fetchall()]
        except CONCURRENCY_ERRORS:
            return None
        return self.browse(ids)

    def _send_http(self, subscription):
        """POST each delivery, signed, from a small thread pool; ``{id: outcome}``.

        The threads only talk HTTP (no ORM); the secret is passed to the
        signature and never logged or stored.
        """
        secret = subscription._get_secret()
        url = subscription.url
        timeout = float(
            self.env["ir.config_parameter"].sudo().get_param(PARAM_TIMEOUT, DEFAULT_TIMEOUT)
        )
        items = [
            (delivery.id, delivery.event_id.uuid, self._body(delivery.event_id))
            for delivery in self
        ]
        local = threading.local()

        def post(item):
            delivery_id, msg_id, body = item
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = OutboxHttpClient(url, timeout=timeout, max_retries=0)
            return delivery_id, self._post_one(client, secret, msg_id, body)

        if not secret:
            return {
                delivery_id: {"error_class": "NoSecret", "excerpt": "no signing secret"}
                for delivery_id, _msg_id, _body in items
            }
        with ThreadPoolExecutor(min(POOL_SIZE, len(items))) as pool:
            return dict(pool.map(post, items))

    @staticmethod
    def _body(event):
        return json.dumps(event.payload, separators=(",", ":"), sort_keys=True).encode()

    @staticmethod
    def _post_one(client, secret, msg_id, body):
        """One signed POST; the outcome (status, latency, redacted excerpt, error class)."""
        started = time.monotonic()
        headers = standard_webhooks.headers(secret, msg_id, time.time(), body)
        try:
            response = client.post_once(body, headers)
        except requests.RequestException as err:
            return {
                "latency_ms": int((time.monotonic() - started) * 1000),
                "error_class": type(err).__name__,
            }
        text = response.text[:EXCERPT_CHARS] if response.content else ""
        return {
            "status": response.status_code,
            "latency_ms": int((time.monotonic() - started) * 1000),
            "excerpt": redact_text(text.replace(secret, "***")),
            "ok": 200 <= response.status_code < 300,
            "error_class": False if 200 <= response.status_code < 300 else "HTTPError",
        }

    def _send_consumer(self, consumer):
        """Call the internal consumer on each delivery, each in a savepoint; ``{id: outcome}``."""
        outcomes = {}
        for delivery in self:
            started = time.monotonic()
            try:
                with self.env.cr.savepoint():
                    consumer.deliver(delivery.event_id, delivery)
                outcome = {"ok": True}
            except Exception as err:  # noqa: BLE001 - any failure is an attempt to retry
                outcome = {
                    "error_class": type(err).__name__,
                    "excerpt": redact_text(str(err)[:EXCERPT_CHARS]),
                }
            outcome["latency_ms"] = int((time.monotonic() - started) * 1000)
            outcomes[delivery.id] = outcome
        return outcomes

    def _record_outcomes(self, outcomes):
        """Log the attempts, mark delivered ones (once), schedule retries, dead-letter the rest."""
        now = fields.Datetime.now()
        scale = float(self.env["ir.config_parameter"].sudo().get_param(PARAM_SCALE, 1.0))
        self.env["finsync.outbox.attempt"].create(
            [
                {
                    "delivery_id": delivery.id,
                    "attempt_no": delivery.attempt_count + 1,
                    "attempted_at": now,
                    "status_code": outcomes[delivery.id].get("status") or 0,
                    "latency_ms": outcomes[delivery.id].get("latency_ms") or 0,
                    "response_excerpt": outcomes[delivery.id].get("excerpt") or False,
                    "error_class": outcomes[delivery.id].get("error_class") or False,
                    "ok": bool(outcomes[delivery.id].get("ok")),
                }
                for delivery in self
            ]
        )
        delivered = self.filtered(lambda d: outcomes[d.id].get("ok"))
        failed = self - delivered
        first = self.filtered(lambda d: not d.first_attempt_at)
        first.write({"first_attempt_at": now})
        for count, group in self._group_by(delivered, "attempt_count").items():
            group.write(
                {
                    "state": "delivered",
                    "delivered_at": now,
                    "attempt_count": count + 1,
                    "last_status": False,
                    "last_error": False,
                }
            )
        for status, group in self._group_by(
            delivered, lambda d: outcomes[d.id].get("status")
        ).items():
            group.write({"last_status": status or 0})
        dead = self.browse()
        for delivery in failed:
            outcome = outcomes[delivery.id]
            count = delivery.attempt_count + 1
            delay = standard_webhooks.retry_delay(count, scale=scale)
            vals = {
                "attempt_count": count,
                "last_status": outcome.get("status") or 0,
                "last_error": outcome.get("error_class") or False,
            }
            if delay is None:
                vals["state"] = "dead"
                dead |= delivery
            else:
                vals.update(state="retrying", next_attempt_at=now + timedelta(seconds=delay))
            delivery.write(vals)
        if dead:
            dead._dead_letter()
        for sub in self.subscription_id:
            mine = self.filtered(lambda d, sub=sub: d.subscription_id == sub)
            try:
                with self.env.cr.savepoint():
                    sub._record_health(bool(mine & delivered), bool(mine & failed), now)
            except CONCURRENCY_ERRORS:
                # Another round recorded the health meanwhile: the outcomes still count.
                _logger.debug(
                    "FinSync outbox: health of subscription %s left to another job", sub.id
                )
        if failed:
            _logger.info(
                "FinSync outbox: %d delivered, %d failed (%d dead) for %s",
                len(delivered),
                len(failed),
                len(dead),
                ", ".join(sorted(set(self.mapped("target_key")))),
            )

    def _dead_letter(self):
        """An exception per dead delivery, for the subscription's owner (or the consumer's)."""

        def vals(delivery):
            target = delivery.subscription_id.name or delivery.consumer
            owner = delivery.subscription_id.user_id
            if not owner and delivery.consumer and consumer_class(delivery.consumer):
                owner = consumer_class(delivery.consumer)(self.env).owner(delivery.company_id)
            return {
                "name": self.env._(
                    "Event %(type)s %(id)s could not be delivered to %(target)s",
                    type=delivery.event_id.event_type,
                    id=delivery.event_id.uuid,
                    target=target,
                ),
                "description": self.env._(
                    "%(count)s attempts failed (last: %(error)s %(status)s). Fix the endpoint, "
                    "then replay the delivery from Configuration > Outbound Events.",
                    count=delivery.attempt_count,
                    error=delivery.last_error or "",
                    status=delivery.last_status or "",
                ),
                "user_id": owner.id if owner else False,
            }

        self.env["finsync.exception"]._open_for_records("delivery_failed", self, vals)

    @api.model
    def _group_by(self, records, key):
        groups = {}
        for record in records:
            value = key(record) if callable(key) else record[key]
            groups.setdefault(value, records.browse())
            groups[value] |= record
        return groups

    # ------------------------------------------------------------------
    # Safety sweep
    # ------------------------------------------------------------------
    @api.model
    def _cron_sweep(self):
        """Queue a job for every target with a due delivery (a lost job, a restart...)."""
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT target_key FROM finsync_outbox_delivery "
                "WHERE state IN %s AND next_attempt_at <= %s",
                OPEN_STATES,
                fields.Datetime.now(),
            )
        )
        targets = [row[0] for row in self.env.cr.fetchall()]
        self._schedule(targets)
        return targets
