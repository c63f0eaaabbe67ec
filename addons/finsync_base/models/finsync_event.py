import base64
import hashlib
import logging
import os
import uuid

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools.canonical import CanonicalPayloadError, parse_canonical
from ..tools.filestore import write_all, write_whole
from ..tools.redact import redact_text
from .bulk_sql import CONCURRENCY_ERRORS, execute_bulk
from .finsync_event_archive import ArchivablePayload

_logger = logging.getLogger(__name__)

__all__ = ["CONCURRENCY_ERRORS", "EVENT_STATES", "FinsyncEvent"]

EVENT_STATES = [
    ("received", "Received"),
    ("queued", "Queued"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("dead", "Dead"),
]


class FinsyncEvent(models.Model):
    """The inbound inbox: every file, API page and webhook delivery, stored once."""

    _name = "finsync.event"
    _description = "FinSync Inbound Event"
    _order = "received_at desc, id desc"
    _rec_name = "name"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    name = fields.Char(required=True, readonly=True)
    backend_id = fields.Many2one(
        "finsync.backend",
        string="Connector",
        required=True,
        readonly=True,
        index=True,
        ondelete="restrict",
    )
    backend_type = fields.Selection(related="backend_id.backend_type")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    event_type = fields.Char(readonly=True, help="What the source calls this event or file.")
    external_id = fields.Char(
        string="External ID", readonly=True, help="The source's id of the event, if any."
    )
    dedup_key = fields.Char(
        string="Idempotency Key",
        required=True,
        readonly=True,
        help="External id, or the payload's SHA-256 when the source gives none.",
    )
    correlation_id = fields.Char(
        readonly=True, index=True, help="Follows this event to its transactions and entries."
    )
    received_at = fields.Datetime(readonly=True, index=True)
    processed_at = fields.Datetime(readonly=True)
    state = fields.Selection(
        EVENT_STATES, default="received", required=True, readonly=True, index=True
    )
    signature_state = fields.Selection(
        [("none", "Not signed"), ("valid", "Valid"), ("invalid", "Invalid")],
        default="none",
        readonly=True,
    )
    attempts = fields.Integer(readonly=True)
    last_error = fields.Text(readonly=True)
    # In an attachment, or in a compressed archive once retention moved it (read alike).
    payload = ArchivablePayload(
        attachment=True, readonly=True, groups="finsync_base.group_finsync_accountant"
    )
    payload_filename = fields.Char(readonly=True)
    payload_hash = fields.Char(string="Payload SHA-256", readonly=True)
    payload_size = fields.Integer(readonly=True)
    payload_text = fields.Text(
        compute="_compute_payload_text",
        groups="finsync_base.group_finsync_accountant",
        help="The raw payload as text, for reading on screen.",
    )
    job_uuid = fields.Char(string="Job UUID", readonly=True, index="btree_not_null")
    job_id = fields.Many2one("queue.job", compute="_compute_job_id", string="Job")
    replay_count = fields.Integer(readonly=True)
    transaction_ids = fields.One2many("finsync.transaction", "event_id", readonly=True)
    transaction_count = fields.Integer(compute="_compute_transaction_count")

    _sql_constraints = [
        (
            "dedup_key_unique",
            "UNIQUE(backend_id, dedup_key)",
            "An event with this idempotency key was already received for this connector.",
        ),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends("payload")
    def _compute_payload_text(self):
        for event in self:
            raw = event.with_context(bin_size=False).payload
            if not raw:
                event.payload_text = False
                continue
            data = self._decode_binary(raw)
            event.payload_text = data[:200_000].decode("utf-8", errors="replace")

    def _compute_job_id(self):
        # sudo: queue.job is for job managers; an event only names its own job.
        jobs = self.env["queue.job"].sudo().search([("uuid", "in", self.mapped("job_uuid"))])
        by_uuid = {job.uuid: job for job in jobs}
        for event in self:
            event.job_id = by_uuid.get(event.job_uuid, False)

    def _compute_transaction_count(self):
        counts = dict(
            self.env["finsync.transaction"]._read_group(
                [("event_id", "in", self.ids)], ["event_id"], ["__count"]
            )
        )
        for event in self:
            event.transaction_count = counts.get(event, 0)

    # ------------------------------------------------------------------
    # Ingestion
    # ------------------------------------------------------------------
    @api.model
    def _ingest(self, backend, events):
        """Store a batch of inbound events exactly once; return them in input order.

        ``events`` is a list of dicts with ``payload`` (bytes or str, required),
        ``external_id``, ``event_type``, ``correlation_id``, ``filename`` and
        ``signature_state`` (all optional). The idempotency key is the external
        id, or the payload's SHA-256 without one. A duplicate returns the stored
        record: never an error, never a second row.

        Under concurrency the key is guarded by PostgreSQL: a delivery racing
        another one that already committed the same key gets a serialization
        failure, and its caller retries the whole transaction (Odoo's request
        and queue_job retries do), then sees and returns the stored event.
        """
        backend.ensure_one()
        self._check_can_ingest(backend)
        keys, prepared = self._prepare_ingest_rows(backend, events)
        if not prepared:
            return self.browse()
        # Duplicates this transaction already sees are not inserted again: an
        # INSERT .. ON CONFLICT meeting a row that a job updated since this
        # transaction began (an event processed meanwhile) would fail with a
        # serialization error, and the request would be run again for nothing.
        self.flush_model(["backend_id", "dedup_key"])
        self.env.cr.execute(
            SQL(
                "SELECT dedup_key, id FROM finsync_event WHERE backend_id = %s AND dedup_key IN %s",
                backend.id,
                tuple(prepared),
            )
        )
        by_key = dict(self.env.cr.fetchall())
        inserted = {}
        if len(by_key) < len(prepared):
            new_rows = [row for key, row in prepared.items() if key not in by_key]
            inserted = self._insert_ingest_rows(backend, new_rows)
            self._store_payloads(inserted, prepared)
            by_key.update(inserted)
        # A key neither seen nor inserted was stored by a concurrent delivery.
        known = [key for key in prepared if key not in by_key]
        if known:
            stored = self.search([("backend_id", "=", backend.id), ("dedup_key", "in", known)])
            by_key.update((event.dedup_key, event.id) for event in stored)
        if inserted:
            _logger.info(
                "FinSync backend %s: %d events received, %d new",
                backend.id,
                len(events),
                len(inserted),
            )
        return self.browse([by_key[key] for key in keys])

    @api.model
    def _check_can_ingest(self, backends):
        """Refuse (AccessError) unless the caller may bring data in for ``backends``.

        Events, and the transactions processing creates, come only from here:
        people have no create or write right on them. FinSync accountants (who
        import files), connectors' technical users (group FinSync Connector) and
        the superuser (crons) may ingest for the connectors of their companies.
        """
        if self.env.su:
            return
        user = self.env.user
        if not (
            user.has_group("finsync_base.group_finsync_accountant")
            or user.has_group("finsync_base.group_finsync_connector")
        ):
            raise AccessError(
                self.env._(
                    "Only FinSync accountants and connectors can bring data into FinSync "
                    "(user %(user)s).",
                    user=self.env.user.name,
                )
            )
        backends.with_env(self.env).check_access("read")

    @api.model
    def _payload_bytes(self, event):
        payload = event.get("payload")
        if payload is None:
            raise UserError(self.env._("An inbound event has no payload."))
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        return payload, hashlib.sha256(payload).hexdigest()

    @api.model
    def _dedup_key(self, event, payload_hash):
        external_id = (event.get("external_id") or "").strip()
        return external_id or f"sha256:{payload_hash}"

    @api.model
    def _prepare_ingest_rows(self, backend, events):
        """The key of each event, and the rows to insert by key (first one wins)."""
        keys, prepared = [], {}
        for event in events:
            payload, payload_hash = self._payload_bytes(event)
            key = self._dedup_key(event, payload_hash)
            keys.append(key)
            if key in prepared:
                continue
            prepared[key] = {
                "key": key,
                "payload": payload,
                "name": event.get("name") or event.get("filename") or key[:64],
                "event_type": event.get("event_type"),
                "external_id": (event.get("external_id") or "").strip() or None,
                "correlation_id": event.get("correlation_id") or uuid.uuid4().hex,
                "signature_state": event.get("signature_state") or "none",
                "filename": event.get("filename"),
                "payload_hash": payload_hash,
            }
        return keys, prepared

    @api.model
    def _insert_ingest_rows(self, backend, rows):
        """INSERT .. ON CONFLICT DO NOTHING: returns {key: id} of the rows inserted."""
        self.env.flush_all()
        now = fields.Datetime.now()
        uid = self.env.uid
        values = SQL(", ").join(
            SQL(
                "(%s, %s, %s, %s, %s, %s, %s, %s, 'received', %s, %s, %s, %s, 0, 0,"
                " %s, %s, %s, %s)",
                row["name"],
                backend.id,
                backend.company_id.id,
                row["key"],
                row["external_id"],
                row["event_type"],
                row["correlation_id"],
                now,
                row["signature_state"],
                row["payload_hash"],
                len(row["payload"]),
                row["filename"] or None,
                uid,
                now,
                uid,
                now,
            )
            for row in rows
        )
        execute_bulk(
            self.env,
            self.env._("%(count)s inbound events", count=len(rows)),
            SQL(
                """
                INSERT INTO finsync_event (
                    name, backend_id, company_id, dedup_key, external_id, event_type,
                    correlation_id, received_at, state, signature_state, payload_hash,
                    payload_size, payload_filename, attempts, replay_count,
                    create_uid, create_date, write_uid, write_date)
                VALUES %s
                ON CONFLICT (backend_id, dedup_key) DO NOTHING
                RETURNING dedup_key, id
                """,
                values,
            ),
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _store_payloads(self, inserted, prepared):
        """Keep each new event's raw payload as the attachment of its ``payload`` field.

        One plain INSERT for the whole batch instead of ``ir.attachment.create``:
        the payload is kept byte for byte and read back through the field as any
        binary field (restricted to accountants, ``res_field`` set, so only the
        field gives it out), but without what the ORM adds per attachment and an
        inbox never needs: MIME sniffing, full-text indexing of the content,
        computed names and access checks (``_ingest`` checked that the caller
        may ingest, which is what matters). The bytes go where the database's attachments go
        (filestore, or the database when ``ir_attachment.location`` is ``db``).

        A payload that cannot be written (a full disk) raises: the caller's
        transaction rolls back, so no event is stored without its payload and a
        webhook's source is answered 5xx and delivers again (see ``_write_payload_files``).
        """
        if not inserted:
            return
        # sudo: the filestore helpers; the caller may ingest (checked in _ingest).
        Attachment = self.env["ir.attachment"].sudo()
        in_db = Attachment._storage() == "db"
        now = fields.Datetime.now()
        uid = self.env.uid
        rows, files = [], {}
        for key, event_id in inserted.items():
            data = prepared[key]["payload"]
            checksum = Attachment._compute_checksum(data)
            store_fname = None
            if not in_db and data:
                store_fname, full_path = Attachment._get_path(data, checksum)
                files[full_path] = (store_fname, data)
            rows.append(
                SQL(
                    "(%s, %s, 'payload', %s, 'binary', %s, %s, %s, %s, %s, false, %s,"
                    " %s, %s, %s, %s)",
                    "payload",
                    self._name,
                    event_id,
                    store_fname,
                    None if store_fname else psycopg2.Binary(data),
                    len(data),
                    checksum,
                    "application/octet-stream",
                    self.env.company.id,
                    uid,
                    now,
                    uid,
                    now,
                )
            )
        self._write_payload_files(files)
        execute_bulk(
            self.env,
            self.env._("Payloads of %(count)s inbound events", count=len(rows)),
            SQL(
                """
                INSERT INTO ir_attachment (
                    name, res_model, res_field, res_id, type, store_fname, db_datas,
                    file_size, checksum, mimetype, public, company_id,
                    create_uid, create_date, write_uid, write_date)
                VALUES %s
                """,
                SQL(", ").join(rows),
            ),
        )

    @api.model
    def _write_payload_files(self, files):
        """Write payloads into the filestore, each whole, or raise ``OSError``.

        ``files``: ``{full path: (file name, bytes)}``. Not
        ``ir.attachment._file_write``: that one logs a failed write and goes
        on, which would store the event, and answer its source 200, with a
        missing or cut-short payload that the source never sends again. One
        payload (a webhook) is written and flushed alone (``write_whole``); a
        page of them with two disk flushes in all (``write_all``), not one per
        payload.
        """
        if not files:
            return
        # sudo: the filestore helpers; the caller may ingest (checked in _ingest).
        Attachment = self.env["ir.attachment"].sudo()
        if len(files) == 1:
            [(full_path, (fname, data))] = files.items()
            if write_whole(full_path, data):
                # Collected again if this transaction rolls back (as core does).
                Attachment._mark_for_gc(fname)
            return
        checklist = Attachment._full_path("checklist")

        def mark_for_gc(full_path):
            # Collected again if this transaction rolls back: what core's _mark_for_gc
            # does (an empty file of the same name in the filestore's checklist, which
            # its garbage collector reads), without building the paths again and
            # checking them for each of thousands of files.
            path = os.path.join(checklist, files[full_path][0])
            try:
                with open(path, "ab"):
                    pass
            except FileNotFoundError:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "ab"):
                    pass

        write_all(
            {full_path: data for full_path, (_fname, data) in files.items()},
            on_written=mark_for_gc,
        )

    # ------------------------------------------------------------------
    # Processing
    # ------------------------------------------------------------------
    def _get_raw_payload(self):
        """The stored payload bytes (sudo: processing runs for any FinSync user)."""
        self.ensure_one()
        raw = self.sudo().with_context(bin_size=False).payload
        return self._decode_binary(raw) if raw else b""

    @api.model
    def _decode_binary(self, value):
        return base64.b64decode(value)

    def _write_processing(self, vals):
        """Write what processing records on events (state, attempts, errors, results).

        The inbox is append-only for people: no group has a write right on
        events, and what processing records goes through here.
        """
        # sudo: no person may write events; processing (a job, an import, a
        # replay a manager asked for) records its own progress.
        return self.sudo().write(vals)

    def _process(self):
        """Turn each event's stored payload into canonical transactions.

        Idempotent: a done event is skipped, and processing upserts transactions
        by (connector, external id), so a replay never duplicates anything.
        Data errors fail the event and open an exception; transient errors
        (lost races, lock and statement timeouts, an unreachable source:
        ``_is_transient_failure``) propagate so that the caller retries.
        """
        done = self.browse()
        for event in self:
            if event.state == "done":
                continue
            try:
                with self.env.cr.savepoint():
                    event._process_payload()
            except Exception as err:  # a data error fails the event, a transient one is raised
                if event._is_transient_failure(err):
                    raise
                event._record_failure(err)
            else:
                done |= event
        done._write_processing(
            {"state": "done", "processed_at": fields.Datetime.now(), "last_error": False}
        )
        for event in done:
            event._write_processing({"attempts": event.attempts + 1})
        done.backend_id._mark_sync_success()
        return self.env._("%(count)s events processed", count=len(done))

    def _process_payload(self):
        """Book the payload with the connector type's mapper (``Connector.process``)."""
        self.ensure_one()
        return self.backend_id._connector().process(self)

    def _process_payload_generic(self):
        try:
            vals_list = parse_canonical(self._get_raw_payload())
        except CanonicalPayloadError as err:
            raise UserError(self._canonical_error_message(err)) from err
        return self.env["finsync.transaction"]._upsert_canonical(self, vals_list)

    def _canonical_error_message(self, err):
        messages = {
            "missing": self.env._("%(where)s: a value is required"),
            "invalid_amount": self.env._("%(where)s: %(value)s is not a decimal amount"),
            "invalid_date": self.env._("%(where)s: %(value)s is not a date (YYYY-MM-DD)"),
            "invalid_choice": self.env._("%(where)s: %(value)s is not an allowed value"),
            "invalid_type": self.env._("%(where)s: unexpected value %(value)s"),
            "invalid_currency": self.env._("%(where)s: %(value)s is not an ISO 4217 code"),
            "duplicate_id": self.env._("%(where)s: external id %(value)s appears twice"),
            "not_json": self.env._("%(where)s: the payload is not valid JSON"),
            "not_utf8": self.env._("%(where)s: the payload is not UTF-8 text"),
        }
        template = messages.get(err.code, self.env._("%(where)s: invalid value %(value)s"))
        detail = template % {"where": err.path, "value": redact_text(str(err.value))}
        return self.env._("Event %(event)s: %(detail)s", event=self.name, detail=detail)

    def _record_failure(self, err, dead=False):
        for event in self:
            attempts = event.attempts + 1
            is_dead = dead or attempts >= event.backend_id.max_attempts
            message = redact_text(str(err))
            event._write_processing(
                {
                    "attempts": attempts,
                    "state": "dead" if is_dead else "failed",
                    "last_error": message,
                }
            )
            _logger.warning(
                "FinSync event %s (backend %s, correlation %s) failed: %s",
                event.id,
                event.backend_id.id,
                event.correlation_id,
                type(err).__name__,
            )
        self.backend_id._mark_sync_failure(self[:1].last_error)
        self.env["finsync.exception"]._open_for_records(
            "sync_failed",
            self,
            lambda event: {
                "name": self.env._("Event %(name)s could not be processed", name=event.name),
                "description": event.last_error,
                "backend_id": event.backend_id.id,
                "event_id": event.id,
            },
        )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_replay(self):
        """Re-run processing from the stored payload (managers only)."""
        if not self.env.user.has_group("finsync_base.group_finsync_manager"):
            raise AccessError(self.env._("Only FinSync managers can replay events."))
        for event in self:
            event._write_processing({"state": "received", "replay_count": event.replay_count + 1})
        _logger.info("FinSync events %s replayed by user %s", self.ids, self.env.uid)
        if self.env.context.get("finsync_process_now"):
            self._process()
        else:
            self._enqueue_processing()
        return True

    def action_view_transactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_base.action_finsync_transaction"
        )
        action["domain"] = [("event_id", "=", self.id)]
        action["context"] = {}
        return action
