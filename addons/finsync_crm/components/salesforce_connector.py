"""The Salesforce connector type: Accounts and Contacts pulled incrementally.

A pull, per sObject (Accounts before their Contacts):

1. deletions since the last check (``getDeleted``, from the last check minus
   the overlap window); when Salesforce no longer keeps them that far back
   (``earliestDateAvailable`` later than the last check) the sObject is read
   again in full and every binding Salesforce no longer has is unbound;
2. records changed since the watermark minus the overlap window (``query``
   ordered by ``SystemModstamp``), or everything on the first pull (Bulk API
   2.0 when a ``COUNT()`` reaches the connector's threshold).

Every record version is stored once in the inbox, keyed by (sObject, Id,
SystemModstamp): the overlap reads records again, late commits with an older
stamp are caught, and nothing is applied twice. The new watermark (the newest
stamp seen) is saved by the shared flow only when the whole pull succeeded;
``REQUEST_LIMIT_EXCEEDED`` and outages raise the client's transient error, the
job runs again later from the same watermark.
"""

import json
import logging
from datetime import UTC, datetime, timedelta

from odoo.addons.finsync_base.components.connector import (
    Connector,
    ConnectorSetupError,
    register,
)

from ..adapters import salesforce_deal_mapper as deal_mapper
from ..adapters import salesforce_mapper as mapper
from ..adapters.salesforce_client import (
    LOGIN_URLS,
    SalesforceClient,
    SalesforceError,
    SalesforceTransientError,
)

_logger = logging.getLogger(__name__)

SALESFORCE_CHANNEL = "root.finsync.salesforce"
# Line items before their opportunities: a won deal is billed with its lines read.
SOBJECTS = ("Account", "Contact", "OpportunityLineItem", "Opportunity")
# Watermark key -> connector field (opportunities: finsync_backend_deals.py).
MARK_FIELDS = {
    "Account": "crm_account_mark",
    "Contact": "crm_contact_mark",
    "OpportunityLineItem": "crm_line_mark",
    "Opportunity": "crm_opportunity_mark",
    "deleted": "crm_deleted_mark",
}
# Records per inbox batch of a Bulk 2.0 part (a query page holds at most 2,000).
STORE_CHUNK = 2000


@register("salesforce")
class SalesforceConnector(Connector):
    label = "Salesforce"
    channel = SALESFORCE_CHANNEL
    transient_errors = (SalesforceTransientError,)
    refusal_errors = (SalesforceError,)

    def __init__(self, backend):
        super().__init__(backend)
        self.counts = dict.fromkeys((*SOBJECTS, "deleted"), 0)
        self.covered = None  # how far Salesforce covered deletions in this pull

    # -- adapter -------------------------------------------------------------------
    def client(self):
        backend = self.backend
        client_id = backend._get_secret("client_id")
        flow = backend.crm_auth_flow
        private_key = backend._get_secret("crm_private_key") if flow == "jwt" else None
        secret = backend._get_secret("client_secret") if flow == "client_credentials" else None
        if not client_id or not (private_key if flow == "jwt" else secret):
            raise ConnectorSetupError(
                self.env._(
                    "Connector %(name)s lacks its consumer key or its %(secret)s.",
                    name=backend.name,
                    secret=self.env._("private key")
                    if flow == "jwt"
                    else self.env._("consumer secret"),
                )
            )
        if flow == "jwt" and not backend.crm_username:
            raise ConnectorSetupError(
                self.env._("Connector %(name)s has no integration username.", name=backend.name)
            )
        return SalesforceClient(
            backend.api_url or LOGIN_URLS[backend.environment],
            client_id,
            flow=flow,
            username=backend.crm_username,
            private_key=private_key,
            client_secret=secret,
            token_store=backend._crm_token_store(),
            timeout=self.http_timeout(),
        )

    # -- synchronizer --------------------------------------------------------------
    def watermark(self):
        return {key: self.backend[field] or None for key, field in MARK_FIELDS.items()}

    def save_watermark(self, watermark):
        # sudo: the watermark and the run's counts are read-only for people; the pull moves them.
        self.backend.sudo().write(
            {field: watermark.get(key) for key, field in MARK_FIELDS.items()}
            | {
                "crm_last_opportunities": self.counts["Opportunity"],
                "crm_last_accounts": self.counts["Account"],
                "crm_last_contacts": self.counts["Contact"],
                "crm_last_deleted": self.counts["deleted"],
            }
        )

    def pull(self, client, watermark):
        started = datetime.now(UTC)
        mark = dict(watermark)
        self.covered = started
        try:
            for sobject in SOBJECTS:
                if mark[sobject] and mark["deleted"]:
                    if self._pull_deletions(client, sobject, mark["deleted"], started):
                        mark[sobject] = None  # read it again in full
                mark[sobject] = self._pull_records(client, sobject, mark[sobject])
        finally:
            self.backend._crm_record_usage(client.api_used, client.api_max)
        # Salesforce may cover deletions up to a rounded time only: resume from there.
        mark["deleted"] = mapper.canonical_stamp(self.covered)
        return mark

    def _overlap(self, stamp):
        moment = mapper.parse_stamp(stamp)
        return moment - timedelta(minutes=max(self.backend.crm_overlap_minutes, 0))

    def _fields(self, sobject):
        if sobject == "Account":
            return mapper.account_fields(self.backend.crm_vat_field, self.backend.crm_iban_field)
        if sobject == "Opportunity":
            return deal_mapper.opportunity_fields(self.backend.crm_currency_field)
        if sobject == "OpportunityLineItem":
            return deal_mapper.LINE_FIELDS
        return mapper.CONTACT_FIELDS

    def _pull_records(self, client, sobject, since):
        """Store every version of ``sobject`` changed since ``since``; the newest stamp."""
        select = f"SELECT {', '.join(self._fields(sobject))} FROM {sobject}"
        if since:
            soql = (
                f"{select} WHERE SystemModstamp >= "
                f"{mapper.soql_datetime(self._overlap(since))} ORDER BY SystemModstamp, Id"
            )
            pages = (page.get("records") or [] for page in client.query(soql))
        elif client.count(f"SELECT COUNT() FROM {sobject}") >= self.backend.crm_bulk_threshold:
            _logger.info(
                "Salesforce %s: initial load of %s by Bulk API 2.0", self.backend.id, sobject
            )
            pages = self._chunks(client.bulk_query(select))
        else:
            pages = (
                page.get("records") or []
                for page in client.query(f"{select} ORDER BY SystemModstamp, Id")
            )
        newest = since
        for records in pages:
            if not records:
                continue
            self.store_records(sobject, records)
            top = max(mapper.canonical_stamp(r.get("SystemModstamp")) for r in records)
            newest = max(newest or top, top)
        return newest

    @staticmethod
    def _chunks(parts):
        for rows in parts:
            for start in range(0, len(rows), STORE_CHUNK):
                yield rows[start : start + STORE_CHUNK]

    def _pull_deletions(self, client, sobject, checked, now):
        """Store the deletions since ``checked``; True when a full resync is needed."""
        start = self._overlap(checked)
        try:
            answer = client.get_deleted(
                sobject, mapper.canonical_stamp(start), mapper.canonical_stamp(now)
            )
        except SalesforceError as err:
            if err.code != "INVALID_REPLICATION_DATE" or isinstance(err, SalesforceTransientError):
                raise
            answer = None
        earliest = answer and answer.get("earliestDateAvailable")
        if answer is None or (earliest and mapper.parse_stamp(earliest) > start):
            _logger.info(
                "Salesforce %s: %s deletions expired, full resync", self.backend.id, sobject
            )
            self._resync_ids(client, sobject)
            return True
        covered = answer.get("latestDateCovered")
        if covered:
            self.covered = min(self.covered, mapper.parse_stamp(covered))
        deleted = [
            {"sobject": sobject, "id": item["id"], "deletedDate": item.get("deletedDate")}
            for item in answer.get("deletedRecords") or []
            if item.get("id")
        ]
        self.store_deletions(deleted)
        return False

    def _resync_ids(self, client, sobject):
        """Unbind the records Salesforce no longer has (their deletions are too old to read)."""
        ids = {
            record["Id"]
            for page in client.query(f"SELECT Id FROM {sobject}")
            for record in page.get("records") or []
        }
        gone = self.backend._crm_bound_ids(sobject) - ids
        self.store_deletions(
            [
                {"sobject": sobject, "id": record_id, "deletedDate": None}
                for record_id in sorted(gone)
            ]
        )

    # -- inbox -----------------------------------------------------------------------
    def store_records(self, sobject, records):
        """Store each record version as an event keyed (sObject, Id, SystemModstamp)."""
        documents = {mapper.record_key(sobject, record): record for record in records}
        events = [
            {
                "event_type": sobject,
                "external_id": key,
                "name": f"{sobject} {record['Id']}",
                "payload": json.dumps(record, sort_keys=True),
            }
            for key, record in documents.items()
        ]
        self.counts[sobject] += len(records)
        return self.store(events, items=len(records), documents=documents)

    def store_deletions(self, deleted):
        if not deleted:
            return self.env["finsync.event"]
        self.counts["deleted"] += len(deleted)
        documents = {f"deleted/{item['sobject']}/{item['id']}": item for item in deleted}
        return self.store(
            [
                {
                    "event_type": "deleted",
                    "external_id": key,
                    "name": f"Deleted {item['sobject']} {item['id']}",
                    "payload": json.dumps(item, sort_keys=True),
                }
                for key, item in documents.items()
            ],
            documents=documents,
        )

    def store(self, events, items=0, documents=None):
        """Store the events once and apply the new ones together (one batch per page);
        ``documents`` (``{idempotency key: record}``) are their records, already read."""
        stored = self.env["finsync.event"]._ingest(self.backend, events)
        new = stored.filtered(lambda e: e.state in ("received", "queued"))
        if new:
            self.env["finsync.crm.binding"]._crm_process_events(self.backend, new, documents)
        self.items += items
        return stored

    # -- mapper --------------------------------------------------------------------
    def process(self, event):
        return self.env["finsync.crm.binding"]._crm_apply_events(self.backend, event)
