"""Pulls, written once for every connector type (see ``components/connector.py``).

Pull Now runs the pull in the request, so that the user reads what happened;
schedules queue one job per connector (identity key) on its type's channel.
Both hold the connector's pull lock: a pull never runs twice at once.
"""

import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_datetime

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import identity_exact

from ..components.connector import CONNECTORS, ConnectorSetupError
from ..tools.transient import is_transient, transient_reason
from .job_retry import retry_later

_logger = logging.getLogger(__name__)

# First key of the advisory lock a pull holds on its connector (the second is its id).
PULL_LOCK = 0x4653504C  # "FSPL"


class FinsyncBackend(models.Model):
    _inherit = "finsync.backend"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    can_pull = fields.Boolean(
        compute="_compute_can_pull", help="Whether connectors of this type pull from an API."
    )
    last_pull_date = fields.Datetime(string="Last Pull", readonly=True, copy=False)
    last_pull_new = fields.Integer(
        string="New at Last Pull",
        readonly=True,
        copy=False,
        help="Transactions the last successful pull brought that FinSync did not know.",
    )
    last_pull_known = fields.Integer(
        string="Already Known at Last Pull",
        readonly=True,
        copy=False,
        help="Records the last successful pull read again: nothing was booked twice.",
    )

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends("backend_type")
    def _compute_can_pull(self):
        for backend in self:
            backend.can_pull = backend._connector_class().can_pull()

    # ------------------------------------------------------------------
    # Actions and schedule
    # ------------------------------------------------------------------
    def action_pull_now(self):
        """Button: pull the selected connectors now and say what happened."""
        self._check_can_pull()
        pulling = self.filtered("can_pull")
        if not pulling:
            raise UserError(self.env._("These connectors have nothing to pull from."))
        results = [backend._pull_now() for backend in pulling]
        failed = any(result["state"] != "done" for result in results)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Pull Now"),
                "message": "\n".join(result["message"] for result in results),
                "type": "warning" if failed else "success",
                "sticky": failed,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _check_can_pull(self):
        """Pulls book money: FinSync accountants only, whoever calls and with any context."""
        if not self.env.user.has_group("finsync_base.group_finsync_accountant"):
            raise AccessError(self.env._("Only FinSync accountants can pull connectors."))

    @api.model
    def _cron_pull_due(self):
        """Queue a pull for every scheduled connector whose interval has passed."""
        types = [backend_type for backend_type, cls in CONNECTORS.items() if cls.can_pull()]
        now = fields.Datetime.now()
        due = self.search(
            [("backend_type", "in", types), ("sync_policy", "=", "scheduled")]
        ).filtered(
            lambda b: not b.last_sync_date
            or (now - b.last_sync_date).total_seconds() >= b.sync_interval_minutes * 60
        )
        for backend in due:
            backend._enqueue_pull()
        return due

    def _enqueue_pull(self):
        """One pull job per connector at a time (identity key), on its type's channel."""
        self.ensure_one()
        return self.with_delay(
            channel=self._processing_channel(),
            description=self.env._("Pull %(name)s", name=self.name),
            identity_key=identity_exact,
            max_retries=self.max_attempts,
        )._pull_job()

    # ------------------------------------------------------------------
    # Pull
    # ------------------------------------------------------------------
    def _pull_job(self):
        """Job: pull this connector (see ``_run_pull``); retried while it is busy.

        A transient failure (the source unreachable, throttling, a lock or
        statement timeout, a lost race: ``tools/transient.py``) undoes the
        whole pull and runs it again after a backoff, from the same
        watermark (``job_retry.retry_later``); after the last attempt the
        connector is marked failing with a *sync failed* exception saying so.
        """
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                result = self._run_pull()
        except Exception as err:  # classified below, else raised as it is
            transient_errors = (RetryableJobError, *self._connector_class().transient_errors)
            if not is_transient(err, transient_errors):
                raise
            return self._pull_gave_up(retry_later(self.env, err), err)
        if result["state"] == "busy":
            raise RetryableJobError(result["message"], seconds=30, ignore_retry=True)
        return result["message"]

    def _pull_gave_up(self, attempts, err):
        """The last attempt of a pull failed for a transient reason: say so, for a person."""
        message = self.env._(
            "The pull failed %(count)s times in a row for a transient reason (%(reason)s):"
            " the source or the database was unreachable or busy. The next pull resumes"
            " from the last one that succeeded.",
            count=attempts,
            reason=transient_reason(err),
        )
        self._mark_sync_failure(message)
        self.env["finsync.exception"]._open_for_records(
            "sync_failed",
            self,
            lambda backend: {
                "name": self.env._("Pull of %(name)s keeps failing", name=backend.name),
                "description": message,
                "backend_id": backend.id,
            },
        )
        return message

    def _pull_now(self):
        """Pull in this request; throttling and outages are reported, not retried."""
        self.ensure_one()
        try:
            return self._run_pull()
        except RetryableJobError as err:
            return {
                "state": "failed",
                "message": self.env._(
                    "%(name)s could not be reached, try again later: %(error)s",
                    name=self.name,
                    error=str(err),
                ),
            }

    def _run_pull(self):
        """Pull everything after the watermark, page by page, stored and processed at once.

        Returns ``{"state": "done" | "failed" | "busy", "message", "new", "known"}``.
        The watermark moves only when the pull succeeded, so a pull that fails
        part-way resumes where the last good one ended; pages read again are
        duplicates of stored events and change nothing. The connector's
        transient errors raise ``RetryableJobError`` (after the source's
        ``Retry-After``); its refusals (and a missing setting) mark it failing
        and open a *sync failed* exception. Anything else (an access error, a
        bug) fails the job as it is.
        """
        self.ensure_one()
        self.env.cr.execute(SQL("SELECT pg_try_advisory_xact_lock(%s, %s)", PULL_LOCK, self.id))
        if not self.env.cr.fetchone()[0]:
            return {
                "state": "busy",
                "message": self.env._("A pull of %(name)s is already running.", name=self.name),
            }
        connector = self._connector()
        since = self.last_sync_date
        before = self._pull_count_transactions()
        try:
            client = connector.client()
            watermark = connector.pull(client, connector.watermark())
        except connector.transient_errors as err:
            seconds = int(getattr(err, "retry_after", None) or 0) or None
            raise RetryableJobError(str(err), seconds=seconds) from err
        except (*connector.refusal_errors, ConnectorSetupError) as err:
            return {"state": "failed", "message": self._pull_failed(connector, str(err))}
        connector.save_watermark(watermark)
        self._mark_sync_success()
        new = self._pull_count_transactions() - before
        known = max(connector.items - new, 0)
        # sudo: the counts of a run are written by whoever may pull, not only admins.
        self.sudo().write(
            {
                "last_pull_date": fields.Datetime.now(),
                "last_pull_new": new,
                "last_pull_known": known,
            }
        )
        _logger.info(
            "FinSync %s %s pulled: %d new, %d known, %d requests",
            self.backend_type,
            self.id,
            new,
            known,
            getattr(client, "requests_sent", 0),
        )
        return {
            "state": "done",
            "new": new,
            "known": known,
            "message": self._pull_summary(new, known, since),
        }

    def _pull_count_transactions(self):
        # sudo: a count of the connector's transactions, whatever the caller's companies.
        return self.env["finsync.transaction"].sudo().search_count([("backend_id", "=", self.id)])

    def _pull_summary(self, new, known, since):
        if new or known:
            return self.env._(
                "%(name)s: %(new)s new, %(known)s already known",
                name=self.name,
                new=new,
                known=known,
            )
        if since:
            return self.env._(
                "%(name)s: nothing new since %(date)s",
                name=self.name,
                date=format_datetime(self.env, since),
            )
        return self.env._("%(name)s: nothing to pull yet", name=self.name)

    def _pull_failed(self, connector, message):
        """Mark the connector failing and open a ``sync_failed`` exception naming the request.

        ``message`` comes from the adapter: the request's method, path and
        status, never a secret, a query or a payload.
        """
        self._mark_sync_failure(message)
        self.env["finsync.exception"]._open_for_records(
            "sync_failed",
            self,
            lambda backend: {
                "name": self.env._(
                    "%(gateway)s refused the pull of %(name)s",
                    gateway=connector.label,
                    name=backend.name,
                ),
                "description": message,
                "backend_id": backend.id,
            },
        )
        return self.env._(
            "%(gateway)s refused the pull of %(name)s: %(error)s",
            gateway=connector.label,
            name=self.name,
            error=message,
        )
