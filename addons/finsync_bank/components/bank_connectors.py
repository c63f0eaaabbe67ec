"""The bank connector types: statement files, and bank APIs pulled page by page."""

import json
import logging

from odoo.addons.finsync_base.components.connector import (
    Connector,
    ConnectorSetupError,
    register,
)

from ..adapters.bank_api import BankApiClient, BankApiError, BankApiTransientError
from ..adapters.bank_api_mapper import max_sequence

_logger = logging.getLogger(__name__)

# One channel for every bank job (files, pulls, postings): one bank at a time.
BANK_CHANNEL = "root.finsync.bank"
# Watermark key of the payment statuses (the others are account ids).
PAYMENTS_KEY = "__payments__"


@register("bank_file")
class BankFileConnector(Connector):
    """Statement files imported by accountants (OFX, CAMT, MT940, BAI2, CSV/XLSX)."""

    label = "Bank statement files"
    channel = BANK_CHANNEL

    def max_file_bytes(self):
        return self.backend.max_file_size_mb * 1024 * 1024

    def process(self, event):
        return event._process_payload_bank_file()


@register("bank_api")
class BankApiConnector(Connector):
    """An Open Banking / PSD2-shaped API (``adapters/bank_api.py``)."""

    label = "Bank API"
    channel = BANK_CHANNEL
    transient_errors = (BankApiTransientError,)
    refusal_errors = (BankApiError,)

    # -- adapter -------------------------------------------------------------------
    def client(self):
        backend = self.backend
        if not backend.api_url:
            raise ConnectorSetupError(
                self.env._("Connector %(name)s has no API URL.", name=backend.name)
            )
        return BankApiClient(
            backend.api_url,
            backend._get_secret("client_id") or "",
            backend._get_secret("client_secret"),
            timeout=self.http_timeout(),
        )

    # -- synchronizer --------------------------------------------------------------
    def watermark(self):
        return dict(self.backend.bank_api_watermarks or {})

    def save_watermark(self, watermark):
        # sudo: the watermarks are read-only for people; the pull moves them.
        self.backend.sudo().bank_api_watermarks = watermark

    def pull(self, client, watermark):
        """New transactions of every account, then payment statuses, from the watermarks.

        ``watermark`` is ``{account id or PAYMENTS_KEY: last sequence pulled}``.
        """
        for account in client.accounts():
            since = watermark.get(account["id"], 0)
            self._pull_pages(
                client.transaction_pages(account["id"], since), "transactions", account, watermark
            )
        self._pull_pages(
            client.payment_pages(watermark.get(PAYMENTS_KEY, 0)),
            "payments",
            {"id": PAYMENTS_KEY},
            watermark,
        )
        return watermark

    def _pull_pages(self, pages, kind, account, watermarks):
        account_id = account["id"]
        events = self.env["finsync.event"]
        for page in pages:
            if not page.get(kind):
                continue
            sequences = [int(item.get("sequence") or 0) for item in page[kind]]
            event = self.env["finsync.event"]._ingest(
                self.backend,
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
            self.items += len(page[kind])
            watermarks[account_id] = max(watermarks.get(account_id, 0), max_sequence(page, kind))
            events |= event
        return events

    # -- mapper --------------------------------------------------------------------
    def process(self, event):
        return event._process_payload_bank_api()
