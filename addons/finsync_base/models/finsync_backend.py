import logging

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError

from ..components.connector import connector_class

_logger = logging.getLogger(__name__)

# Read through ``_get_secret`` only; fields restricted to Settings (base.group_system).
SECRET_FIELDS = ("client_id", "client_secret", "api_key", "webhook_secret")
# Fields that decide where the credentials are sent: changed by Settings only, like
# the secrets (``_check_endpoint_access``). The type on an existing connector too:
# it chooses the client and its default URL.
ENDPOINT_FIELDS = ("api_url", "environment")
ENDPOINT_WRITE_FIELDS = (*ENDPOINT_FIELDS, "backend_type")
ENDPOINT_DEFAULTS = {"environment": "sandbox"}

# Most events one inbox job processes (see FinsyncBackend._process_inbox_job).
INBOX_BATCH = 500
# First key of the advisory lock an inbox job holds on its connector (the second is its id).
INBOX_LOCK = 0x46534942  # "FSIB"


class FinsyncBackend(models.Model):
    """One configured connection to a bank, gateway, CRM or shop."""

    _name = "finsync.backend"
    _description = "FinSync Connector"
    _inherit = ["mail.thread"]
    _order = "sequence, name, id"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    backend_type = fields.Selection(
        selection=[("generic", "Generic (canonical JSON)")],
        string="Type",
        required=True,
        default="generic",
        tracking=True,
        help="Which source this connector talks to; each FinSync addon adds its own.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    journal_ids = fields.Many2many(
        "account.journal",
        string="Journals",
        check_company=True,
        domain="[('type', 'in', ('bank', 'cash', 'general'))]",
        help="Journals this connector feeds: the bank journal of an account, or the "
        "clearing journal of a gateway.",
    )
    sync_policy = fields.Selection(
        [
            ("webhook", "Webhooks"),
            ("scheduled", "Scheduled pull"),
            ("manual", "Manual"),
        ],
        required=True,
        default="manual",
        tracking=True,
    )
    sync_interval_minutes = fields.Integer(
        string="Pull every (minutes)",
        default=60,
        help="For scheduled pulls: minutes between two pulls.",
    )
    environment = fields.Selection(
        [("sandbox", "Sandbox"), ("live", "Live")],
        required=True,
        default=ENDPOINT_DEFAULTS["environment"],
        tracking=True,
    )
    api_url = fields.Char(string="API URL")
    client_id = fields.Char(string="Client ID", groups="base.group_system")
    client_secret = fields.Char(groups="base.group_system", copy=False)
    api_key = fields.Char(string="API Key", groups="base.group_system", copy=False)
    webhook_secret = fields.Char(groups="base.group_system", copy=False)
    can_edit_endpoint = fields.Boolean(
        compute="_compute_can_edit_endpoint",
        help="Whether the current user may change where credentials are sent (Settings).",
    )
    has_credentials = fields.Boolean(
        compute="_compute_has_credentials",
        help="Whether a secret is configured; readable by every FinSync user.",
    )
    rate_limit_per_minute = fields.Integer(
        default=60, help="Requests per minute this connector may send to the source."
    )
    max_attempts = fields.Integer(
        default=5,
        help="Processing attempts of an event before it is declared dead and an "
        "exception is opened.",
    )
    health = fields.Selection(
        [("unknown", "Unknown"), ("ok", "Healthy"), ("warning", "Degraded"), ("error", "Failing")],
        default="unknown",
        readonly=True,
        tracking=True,
    )
    last_sync_date = fields.Datetime(string="Last Successful Sync", readonly=True)
    last_error = fields.Text(readonly=True)
    event_ids = fields.One2many("finsync.event", "backend_id")
    event_count = fields.Integer(compute="_compute_counts")
    transaction_count = fields.Integer(compute="_compute_counts")
    open_exception_count = fields.Integer(compute="_compute_counts")

    _sql_constraints = [
        (
            "sync_interval_positive",
            "CHECK(sync_interval_minutes > 0)",
            "The pull interval must be at least one minute.",
        ),
        ("max_attempts_positive", "CHECK(max_attempts > 0)", "Attempts must be at least one."),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends_context("uid")
    def _compute_has_credentials(self):
        # sudo: only tells whether a secret exists, never its value.
        for backend, sudo_backend in zip(self, self.sudo(), strict=True):
            backend.has_credentials = any(
                sudo_backend[name] for name in SECRET_FIELDS if name != "client_id"
            )

    @api.depends_context("uid")
    def _compute_can_edit_endpoint(self):
        self.can_edit_endpoint = self._may_edit_endpoint()

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            # A new connector may name its type; its endpoint is set by Settings.
            changed = [
                name
                for name in ENDPOINT_FIELDS
                if vals.get(name) and vals[name] != ENDPOINT_DEFAULTS.get(name)
            ]
            self._check_endpoint_access(changed, vals.get("name"))
        return super().create(vals_list)

    def write(self, vals):
        changed = [
            name
            for name in ENDPOINT_WRITE_FIELDS
            if name in vals and any(backend[name] != vals[name] for backend in self)
        ]
        self._check_endpoint_access(changed, self[:1].name)
        return super().write(vals)

    def _compute_counts(self):
        counts = {}
        for model, key in (
            ("finsync.event", "event_count"),
            ("finsync.transaction", "transaction_count"),
        ):
            for backend, count in self.env[model]._read_group(
                [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]
            ):
                counts[(backend.id, key)] = count
        for backend, count in self.env["finsync.exception"]._read_group(
            [("backend_id", "in", self.ids), ("is_open", "=", True)], ["backend_id"], ["__count"]
        ):
            counts[(backend.id, "open_exception_count")] = count
        for backend in self:
            for key in ("event_count", "transaction_count", "open_exception_count"):
                backend[key] = counts.get((backend.id, key), 0)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_events(self):
        return self._action_view("finsync_base.action_finsync_event")

    def action_view_transactions(self):
        return self._action_view("finsync_base.action_finsync_transaction")

    def action_view_exceptions(self):
        action = self._action_view("finsync_base.action_finsync_exception")
        action["context"] = {"search_default_filter_open": 1}
        return action

    def _action_view(self, xmlid):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _webhook_limit_kb(self):
        """Largest webhook body this connector accepts, in KB (gateways make it a setting)."""
        return 512

    def _webhook_count_rejection(self, code):
        """A refused webhook delivery, logged with why (``code``), never its payload or
        headers; gateways count it on the connector."""
        self.ensure_one()
        _logger.warning(
            "FinSync %s webhook refused for backend %s: %s", self.backend_type, self.id, code
        )

    def _get_secret(self, field_name):
        """The one accessor of a backend's secrets: for connector code only.

        Secrets are never logged; the caller passes them straight to its HTTP
        client.
        """
        self.ensure_one()
        if field_name not in SECRET_FIELDS:
            raise UserError(self.env._("%(field)s is not a secret field.", field=field_name))
        # sudo: connectors run as technical users without base.group_system.
        return self.sudo()[field_name] or False

    @api.model
    def _may_edit_endpoint(self):
        return self.env.su or self.env.user.has_group("base.group_system")

    @api.model
    def _check_endpoint_access(self, fnames, name):
        """Refuse changing where credentials are sent without Settings rights."""
        if not fnames or self._may_edit_endpoint():
            return
        raise AccessError(
            self.env._(
                "Only Settings administrators can change %(fields)s of connector %(name)s: "
                "it decides where the connector's credentials are sent.",
                fields=", ".join(self._fields[fname].string for fname in fnames),
                name=name or self.env._("(new)"),
            )
        )

    def _check_can_read_secrets(self):
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(self.env._("Only administrators can read connector credentials."))

    # ------------------------------------------------------------------
    # Inbox jobs: the events of a delivery storm processed together
    # ------------------------------------------------------------------
    def _connector_class(self):
        return connector_class(self.backend_type)

    def _connector(self):
        """This connector's type class (``components/connector.py``), bound to it."""
        self.ensure_one()
        return self._connector_class()(self)

    def _processing_channel(self):
        """The job channel of this connector's pulls and events, declared by its type."""
        self.ensure_one()
        return self._connector_class().channel

    def _inbox_identity(self):
        self.ensure_one()
        return f"finsync-inbox-{self.id}"

    def _inbox_job_uuid(self):
        """The uuid of this connector's pending inbox job that new events may join.

        The job row is locked FOR SHARE until the caller's transaction ends:
        the job runner cannot mark it enqueued (an UPDATE) before the events
        that joined it are committed, so the job always sees all of them, and
        a job already enqueued or started is never joined. A request whose
        snapshot predates the runner's update fails to lock the row with a
        serialization failure and opens a new job instead. Without a pending
        job one is created (identity key set after ``with_delay``: queue_job's own
        identity lookup would return a pending job without locking it).
        """
        self.ensure_one()
        row = None
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        """
                        SELECT uuid FROM queue_job
                         WHERE identity_key = %s AND state = 'pending' AND retry = 0
                           AND eta IS NULL
                         ORDER BY id DESC
                         LIMIT 1
                           FOR SHARE SKIP LOCKED
                        """,
                        self._inbox_identity(),
                    ),
                    log_exceptions=False,
                )
                row = self.env.cr.fetchone()
        except psycopg2.errors.SerializationFailure:
            # The runner took the job after this transaction began: open the next one.
            row = None
        return row[0] if row else self._inbox_new_job()

    def _inbox_new_job(self):
        """Create an inbox job of this connector (pending until this transaction commits)."""
        job = (
            self.with_context(
                tracking_disable=True, mail_create_nolog=True, mail_create_nosubscribe=True
            )
            .with_delay(
                channel=self._processing_channel(),
                description=self.env._("Process the new events of %(name)s", name=self.name),
                max_retries=self.max_attempts,
            )
            ._process_inbox_job()
        )
        self.env.cr.execute(
            SQL(
                "UPDATE queue_job SET identity_key = %s WHERE uuid = %s",
                self._inbox_identity(),
                job.uuid,
            )
        )
        return job.uuid

    def _process_inbox_job(self):
        """Job: process the events that joined it (``_inbox_job_uuid``), in arrival order.

        At most ``INBOX_BATCH`` of them: the rest move to a new inbox job, so
        that a long storm never makes one job outlast the worker's time limit.
        """
        self.ensure_one()
        # One inbox job of a connector at a time (whatever the channel's
        # capacity): two would book into the same journals and lose races.
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", INBOX_LOCK, self.id))
        if not self.env.cr.fetchone()[0]:
            raise RetryableJobError(
                self.env._("Another job is processing the events of %(name)s", name=self.name),
                seconds=2,
                ignore_retry=True,
            )
        events = self.env["finsync.event"].search(
            [
                ("backend_id", "=", self.id),
                ("job_uuid", "=", self.env.context.get("job_uuid")),
                ("state", "=", "queued"),
            ],
            order="id",
        )
        if not events:
            return self.env._("No events left to process")
        rest = events[INBOX_BATCH:]
        if rest:
            self.env.cr.execute(
                SQL(
                    "UPDATE finsync_event SET job_uuid = %s WHERE id IN %s",
                    self._inbox_new_job(),
                    tuple(rest.ids),
                )
            )
            rest.invalidate_recordset(["job_uuid"])
        return events[:INBOX_BATCH]._process_job()

    def _mark_sync_success(self):
        # sudo: syncs run as accountants or technical users, who do not write connectors;
        # only the health fields change.
        self.sudo().write(
            {"health": "ok", "last_sync_date": fields.Datetime.now(), "last_error": False}
        )

    def _mark_sync_failure(self, message):
        # sudo: as in _mark_sync_success, only the health fields change.
        self.sudo().write({"health": "error", "last_error": message})
        _logger.warning("FinSync backend %s sync failed", self.ids)
