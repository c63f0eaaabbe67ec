import logging
from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.payload_archive import pack, unpack

_logger = logging.getLogger(__name__)

# Events archived per cron call (one transaction): about 3 MB of webhook payloads.
ARCHIVE_BATCH_SIZE = 5000


class FinsyncEvent(models.Model):
    """Retention: old payloads move to compressed archives, readable as before.

    Nothing is deleted: the event row, its transactions, their history and the
    exceptions stay as they are; only where the payload's bytes lie changes
    (its attachment, one file each, becomes a slice of a compressed archive).
    """

    _inherit = "finsync.event"

    archive_id = fields.Many2one(
        "finsync.event.archive",
        string="Payload Archive",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        help="Set when the payload was moved to a compressed archive (retention); "
        "it is read from there as before.",
    )
    # Where the payload lies in its archive (see tools/payload_archive.py).
    archive_frame = fields.Integer(readonly=True)
    archive_frame_size = fields.Integer(readonly=True)
    archive_offset = fields.Integer(readonly=True)

    # ------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------
    def _read_archived_payloads(self):
        """{event id: payload bytes} of the archived events of ``self``."""
        by_archive = defaultdict(list)
        for event in self:
            if event.archive_id:
                by_archive[event.archive_id].append(event.id)
        payloads = {}
        for archive, event_ids in by_archive.items():
            payloads.update(archive._read_payloads(self.browse(event_ids)))
        return payloads

    # ------------------------------------------------------------------
    # Archiving
    # ------------------------------------------------------------------
    @api.model
    def _cron_archive_payloads(self, batch_size=ARCHIVE_BATCH_SIZE):
        """Archive one batch of due payloads; Odoo's cron commits it and calls again
        while some remain (``_notify_progress``), so an interrupted run resumes
        where the last committed batch ended."""
        done = self._archive_payload_batch(batch_size)
        remaining = self._payloads_due(count=True)
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
    def _payloads_due_query(self):
        """Events whose company keeps payloads for a limited time and that are older:
        processed (or given up), not archived yet, with a payload attachment."""
        return SQL(
            """
            FROM finsync_event e
            JOIN res_company c ON c.id = e.company_id
            WHERE e.archive_id IS NULL
              AND e.state NOT IN ('received', 'queued')
              AND c.finsync_payload_retention_days > 0
              AND e.received_at < %(now)s - make_interval(days => c.finsync_payload_retention_days)
              AND EXISTS (
                  SELECT 1 FROM ir_attachment a
                   WHERE a.res_model = 'finsync.event' AND a.res_field = 'payload'
                     AND a.res_id = e.id)
            """,
            now=fields.Datetime.now(),
        )

    @api.model
    def _payloads_due(self, count=False, limit=None):
        """The ids of due events (locked, skipping those another transaction holds),
        or how many there are."""
        self.env.flush_all()
        if count:
            self.env.cr.execute(SQL("SELECT count(*) %s", self._payloads_due_query()))
            return self.env.cr.fetchone()[0]
        self.env.cr.execute(
            SQL(
                "SELECT e.id %s ORDER BY e.id LIMIT %s FOR UPDATE OF e SKIP LOCKED",
                self._payloads_due_query(),
                limit,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _archive_payload_batch(self, batch_size=ARCHIVE_BATCH_SIZE):
        """Move the payloads of up to ``batch_size`` due events into compressed archives
        (one per company), in the current transaction: the batch lands whole or not
        at all. Returns how many events were archived."""
        event_ids = self._payloads_due(limit=batch_size)
        if not event_ids:
            return 0
        # sudo: the retention cron moves payloads that no person may read or write.
        events = self.sudo().browse(event_ids)
        stored = self._read_payload_attachments(events)
        by_company = defaultdict(list)
        for event in events:
            if event.id in stored:
                by_company[event.company_id].append(event)
        archived = 0
        for company, company_events in by_company.items():
            archived += self._archive_into_one(company, company_events, stored)
        self._drop_payload_attachments([stored[event_id] for event_id in stored])
        _logger.info("FinSync retention: %d event payloads archived", archived)
        return archived

    @api.model
    def _read_payload_attachments(self, events):
        """{event id: (attachment id, store_fname, bytes)} of ``events``' payloads.

        A payload whose file is missing (or shorter than recorded) is left where it
        is, with a warning: archiving must never replace a payload by less."""
        Attachment = self.env["ir.attachment"].sudo()
        self.env.cr.execute(
            SQL(
                """SELECT res_id, id, store_fname, db_datas, file_size FROM ir_attachment
                    WHERE res_model = 'finsync.event' AND res_field = 'payload'
                      AND res_id = ANY(%s)""",
                events.ids,
            )
        )
        stored, unreadable = {}, []
        for event_id, attachment_id, fname, db_datas, file_size in self.env.cr.fetchall():
            raw = Attachment._file_read(fname) if fname else bytes(db_datas or b"")
            if len(raw) != (file_size or 0):
                unreadable.append(event_id)
                continue
            stored[event_id] = (attachment_id, fname, raw)
        if unreadable:
            _logger.warning(
                "FinSync retention: payloads of events %s are unreadable, left in place",
                unreadable,
            )
        return stored

    @api.model
    def _archive_into_one(self, company, events, stored):
        """Pack ``events``' payloads into one new archive and point the events at it."""
        payloads = [stored[event.id][2] for event in events]
        blob, entries = pack(payloads)
        # Read back before anything is dropped: the archive must give the same bytes.
        if unpack(blob, entries, [len(payload) for payload in payloads]) != payloads:
            raise ValueError("payload archive does not read back identically")
        received = [event.received_at for event in events if event.received_at]
        # sudo: nobody has a create right on archives; the cron makes them.
        archive = (
            self.env["finsync.event.archive"]
            .sudo()
            .create(
                {
                    "name": self.env._(
                        "%(count)s payloads of %(company)s, %(first)s to %(last)s",
                        count=len(events),
                        company=company.name,
                        first=min(received, default=""),
                        last=max(received, default=""),
                    ),
                    "company_id": company.id,
                    "event_count": len(events),
                    "payload_bytes": sum(len(payload) for payload in payloads),
                    "archive_bytes": len(blob),
                    "first_received_at": min(received, default=False),
                    "last_received_at": max(received, default=False),
                }
            )
        )
        self.env["ir.attachment"].sudo().create(
            {
                "name": f"finsync-payloads-{archive.id}.xz",
                "res_model": archive._name,
                "res_field": "data",
                "res_id": archive.id,
                "raw": blob,
                "mimetype": "application/x-xz",
                "company_id": company.id,
            }
        )
        rows = SQL(", ").join(
            SQL(
                "(%s, %s, %s, %s, %s)",
                event.id,
                entry.frame_offset,
                entry.frame_size,
                entry.offset,
                len(payload),
            )
            for event, entry, payload in zip(events, entries, payloads, strict=True)
        )
        self.env.cr.execute(
            SQL(
                """UPDATE finsync_event e
                      SET archive_id = %s, archive_frame = v.frame, archive_frame_size = v.size,
                          archive_offset = v.off, payload_size = v.length
                     FROM (VALUES %s) AS v(id, frame, size, off, length)
                    WHERE e.id = v.id""",
                archive.id,
                rows,
            )
        )
        self.invalidate_model(
            ["archive_id", "archive_frame", "archive_frame_size", "archive_offset", "payload_size"]
        )
        return len(events)

    @api.model
    def _drop_payload_attachments(self, stored):
        """Remove the archived payloads' attachments; their files go to the filestore's
        garbage collector, which deletes them only once no committed row names them
        (a rolled back batch keeps them)."""
        if not stored:
            return
        Attachment = self.env["ir.attachment"].sudo()
        self.env.cr.execute(
            SQL(
                "DELETE FROM ir_attachment WHERE id = ANY(%s)",
                [attachment_id for attachment_id, _fname, _raw in stored],
            )
        )
        for fname in {fname for _id, fname, _raw in stored if fname}:
            Attachment._file_delete(fname)
        Attachment.invalidate_model()
        self.invalidate_model(["payload"])
