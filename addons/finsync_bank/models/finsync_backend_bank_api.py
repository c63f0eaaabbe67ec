import json
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import identity_exact

from ..adapters.bank_api import BankApiClient, BankApiError, BankApiTransientError
from ..adapters.bank_api_mapper import max_sequence

_logger = logging.getLogger(__name__)

PAYMENTS_KEY = "__payments__"


class FinsyncBackend(models.Model):
    _inherit = "finsync.backend"

    # ------------------------------------------------------------------
    # Actions and schedule
    # ------------------------------------------------------------------
    def action_pull_now(self):
        """Button: queue a pull of every bank API connector selected."""
        for backend in self.filtered(lambda b: b.backend_type == "bank_api"):
            backend._enqueue_pull()
        return True

    def _enqueue_pull(self):
        self.ensure_one()
        return self.with_delay(
            channel="root.finsync.bank",
            description=self.env._("Pull bank API %(name)s", name=self.name),
            identity_key=identity_exact,
            max_retries=self.max_attempts,
        )._pull_bank_api()

    @api.model
    def _cron_pull_bank_apis(self):
        """Queue a pull for every scheduled bank API connector that is due."""
        now = fields.Datetime.now()
        due = self.search(
            [("backend_type", "=", "bank_api"), ("sync_policy", "=", "scheduled")]
        ).filtered(
            lambda b: not b.last_sync_date
            or (now - b.last_sync_date).total_seconds() >= b.sync_interval_minutes * 60
        )
        for backend in due:
            backend._enqueue_pull()
        return due

    # ------------------------------------------------------------------
    # Pull
    # ------------------------------------------------------------------
    def _bank_api_client(self):
        self.ensure_one()
        if not self.api_url:
            raise UserError(self.env._("Connector %(name)s has no API URL.", name=self.name))
        return BankApiClient(
            self.api_url,
            self._get_secret("client_id") or "",
            self._get_secret("client_secret"),
        )

    def _pull_bank_api(self):
        """Job: pull new transactions and payment statuses from the watermarks.

        Each page is stored as an event and processed at once. The watermarks
        move only when the job commits, so a pull that fails part-way is
        retried from where the last good pull ended; pages seen again are
        duplicates of stored events and change nothing.
        """
        self.ensure_one()
        client = self._bank_api_client()
        watermarks = dict(self.bank_api_watermarks or {})
        try:
            events = self._pull_accounts(client, watermarks)
            events |= self._pull_pages(
                client.payment_pages(watermarks.get(PAYMENTS_KEY, 0)),
                "payments",
                {"id": PAYMENTS_KEY},
                watermarks,
            )
        except BankApiTransientError as err:
            raise RetryableJobError(str(err), seconds=int(err.retry_after or 60)) from err
        except BankApiError as err:
            message = str(err)
            self._mark_sync_failure(message)
            self.env["finsync.exception"]._open_for_records(
                "sync_failed",
                self,
                lambda backend: {
                    "name": self.env._("Bank API %(name)s refused the pull", name=backend.name),
                    "description": message,
                    "backend_id": backend.id,
                },
            )
            return message
        # sudo: the pull runs as whoever asked (an accountant) or the job user, who do not
        # write connectors; only the watermark moves.
        self.sudo().bank_api_watermarks = watermarks
        self._mark_sync_success()
        _logger.info(
            "FinSync bank API %s: %d pages, %d requests", self.id, len(events), client.requests_sent
        )
        return self.env._("%(count)s pages pulled", count=len(events))

    def _pull_accounts(self, client, watermarks):
        events = self.env["finsync.event"]
        for account in client.accounts():
            since = watermarks.get(account["id"], 0)
            events |= self._pull_pages(
                client.transaction_pages(account["id"], since), "transactions", account, watermarks
            )
        return events

    def _pull_pages(self, pages, kind, account, watermarks):
        account_id = account["id"]
        events = self.env["finsync.event"]
        for page in pages:
            if not page.get(kind):
                continue
            sequences = [int(item.get("sequence") or 0) for item in page[kind]]
            event = self.env["finsync.event"]._ingest(
                self,
                [
                    {
                        "external_id": f"{kind}:{account_id}:{min(sequences)}-{max(sequences)}",
                        "event_type": kind,
                        "name": f"{kind} {account_id} {min(sequences)}-{max(sequences)}",
                        "payload": json.dumps(page, sort_keys=True),
                    }
                ],
            )
            fresh = event.filtered(lambda e: e.state in ("received", "queued"))
            fresh._write_processing(
                {
                    "bank_account_number": account.get("iban"),
                    "bank_account_currency": account.get("currency"),
                }
            )
            fresh._process()
            watermarks[account_id] = max(watermarks.get(account_id, 0), max_sequence(page, kind))
            events |= event
        return events
