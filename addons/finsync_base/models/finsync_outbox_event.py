import json
import logging
import uuid

from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..components.outbox import consumers_for

_logger = logging.getLogger(__name__)

PAYLOAD_VERSION = 1


def target_key_of_subscription(subscription_id):
    return f"subscription:{subscription_id}"


def target_key_of_consumer(name):
    return f"consumer:{name}"


class FinsyncOutboxEvent(models.Model):
    """An outbound event: written in the transaction of the business change that caused it.

    Nobody creates or changes events: the emitting code does (``_emit``), and
    the delivery job sends them. See the README, "Outbound events".
    """

    _name = "finsync.outbox.event"
    _description = "FinSync Outbound Event"
    _order = "id desc"
    _rec_name = "uuid"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    uuid = fields.Char(string="Event ID", required=True, readonly=True, index=True)
    event_type = fields.Char(string="Type", required=True, readonly=True, index=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    occurred_at = fields.Datetime(required=True, readonly=True, index=True)
    correlation_id = fields.Char(
        readonly=True,
        index="btree_not_null",
        help="Correlation id of the inbound record (event, file, webhook) that caused it.",
    )
    res_model = fields.Char(string="Record Model", required=True, readonly=True)
    res_id = fields.Many2oneReference(
        string="Record ID", model_field="res_model", readonly=True, index=True
    )
    payload = fields.Json(readonly=True, help="The body sent: an envelope with version 1.")
    payload_text = fields.Text(compute="_compute_payload_text", string="Body")
    delivery_ids = fields.One2many("finsync.outbox.delivery", "event_id", readonly=True)
    delivery_state = fields.Selection(
        [
            ("pending", "Pending"),
            ("delivered", "Delivered"),
            ("dead", "Dead letter"),
        ],
        compute="_compute_delivery_state",
        search="_search_delivery_state",
    )

    _sql_constraints = [("uuid_unique", "UNIQUE(uuid)", "An event id must be unique.")]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    def _compute_payload_text(self):
        for event in self:
            event.payload_text = json.dumps(event.payload or {}, indent=2, sort_keys=True)

    @api.depends("delivery_ids.state")
    def _compute_delivery_state(self):
        for event in self:
            states = set(event.delivery_ids.mapped("state"))
            if "dead" in states:
                event.delivery_state = "dead"
            elif states & {"pending", "retrying"}:
                event.delivery_state = "pending"
            else:
                event.delivery_state = "delivered"

    def _search_delivery_state(self, operator, value):
        if operator != "=" or value not in ("pending", "delivered", "dead"):
            raise AccessError(self.env._("Unsupported search on the delivery state."))
        states = {"pending": ["pending", "retrying"], "delivered": ["delivered"], "dead": ["dead"]}
        return [("delivery_ids.state", "in", states[value])]

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_replay(self):
        """Button: send the events' dead or delivered deliveries again (managers)."""
        return self.delivery_ids.action_replay()

    def action_open_subject(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # Emitting
    # ------------------------------------------------------------------
    @api.model
    def _emit(self, event_type, records, payload_fn, correlation_fn=None):
        """Write one ``event_type`` event per record of ``records``, with its deliveries.

        Call it in the transaction of the business change (never after a
        commit): the events commit or roll back with it. ``payload_fn(record)``
        returns the event's ``data`` (a JSON-able dict); ``correlation_fn(record)``
        the correlation id of the inbound record that caused it, if any.

        Nothing is written for the records of a company where no subscription
        (active, paused or not) and no internal consumer wants ``event_type``:
        an event nobody listens to is never stored, and a subscription created
        later does not receive past events. One ``create`` for all records.
        Returns the events written.
        """
        if not records:
            return self.browse()
        company_of = {
            rec.id: (rec.company_id.id if "company_id" in rec._fields else False)
            or self.env.company.id
            for rec in records
        }
        targets = self._targets_for(event_type, set(company_of.values()))
        listened = records.filtered(lambda rec: targets.get(company_of[rec.id]))
        if not listened:
            return self.browse()
        now = fields.Datetime.now()
        vals_list = []
        for rec in listened:
            event_id = str(uuid.uuid4())
            correlation = (correlation_fn(rec) if correlation_fn else None) or None
            vals_list.append(
                {
                    "uuid": event_id,
                    "event_type": event_type,
                    "company_id": company_of[rec.id],
                    "occurred_at": now,
                    "correlation_id": correlation,
                    "res_model": rec._name,
                    "res_id": rec.id,
                    "payload": {
                        "version": PAYLOAD_VERSION,
                        "id": event_id,
                        "type": event_type,
                        "occurred_at": fields.Datetime.to_string(now).replace(" ", "T") + "Z",
                        "company_id": company_of[rec.id],
                        "correlation_id": correlation,
                        "subject": {"model": rec._name, "id": rec.id},
                        "data": payload_fn(rec),
                    },
                }
            )
        # sudo: nobody has create rights on the outbox (it is append-only); the
        # caller is the business code making the change the events describe.
        events = self.sudo().create(vals_list)
        self.env["finsync.outbox.delivery"]._create_for_events(events, targets)
        return events.with_env(self.env)

    @api.model
    def _emitted_ids(self, event_type, records):
        """Ids of ``records`` that already have an ``event_type`` event."""
        # sudo: a lookup for the emitting code, who needs not read the outbox.
        events = self.sudo().search(
            [
                ("event_type", "=", event_type),
                ("res_model", "=", records._name),
                ("res_id", "in", records.ids),
            ]
        )
        return set(events.mapped("res_id"))

    @api.model
    def _targets_for(self, event_type, company_ids):
        """``{company id: [target key]}``: subscriptions and consumers wanting ``event_type``."""
        targets = {}
        subscriptions = self.env["finsync.outbox.subscription"]
        for company_id in company_ids:
            keys = [
                target_key_of_subscription(sub_id)
                for sub_id in subscriptions._listening_ids(event_type, company_id)
            ]
            if keys:
                targets[company_id] = keys
        # sudo: consumers look up their own configuration whoever emits.
        env = self.sudo().env
        for consumer_cls in consumers_for(event_type):
            for company_id in consumer_cls(env).listens(set(company_ids)):
                targets.setdefault(company_id, []).append(target_key_of_consumer(consumer_cls.name))
        return targets
