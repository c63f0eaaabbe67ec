import base64
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import human_size

from ..tools.payload_archive import CODEC, ArchiveError, Entry, unpack

_logger = logging.getLogger(__name__)


class ArchivablePayload(fields.Binary):
    """A binary field kept in an attachment, then in a compressed payload archive.

    Reading it is the same either way: events whose payload was archived
    (``archive_id`` set) get it from their archive's blob, the others from
    their attachment, so every reader (the form, replay, the connectors'
    processing) reads archived payloads without knowing it.
    """

    def read(self, records):
        # sudo: where an event's payload lies is not itself restricted; the
        # field's groups were checked before the ORM reads it.
        archived = records.sudo().filtered("archive_id")
        if archived:
            records = records - archived
            if records.env.context.get("bin_size") or records.env.context.get(
                "bin_size_" + self.name
            ):
                values = [(human_size(event.payload_size) or "").encode() for event in archived]
            else:
                payloads = archived._read_archived_payloads()
                values = [base64.b64encode(payloads[event.id]) for event in archived]
            records.env.cache.insert_missing(archived.with_env(records.env), self, values)
        return super().read(records)


class FinsyncEventArchive(models.Model):
    """A compressed archive of old inbound payloads: written once, never changed or deleted.

    The retention cron (``finsync.event._cron_archive_payloads``) moves the
    payloads of events older than the company's retention into one archive per
    batch; the events keep every other column and point here. Nobody has a
    create, write or unlink right on archives: only the cron makes them.
    """

    _name = "finsync.event.archive"
    _description = "FinSync Payload Archive"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(required=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    codec = fields.Char(required=True, readonly=True, default=CODEC)
    data = fields.Binary(
        string="Archive",
        attachment=True,
        readonly=True,
        groups="finsync_base.group_finsync_accountant",
    )
    event_count = fields.Integer(readonly=True)
    payload_bytes = fields.Integer(
        string="Payload Size", readonly=True, help="The payloads' size before compression."
    )
    archive_bytes = fields.Integer(
        string="Archive Size", readonly=True, help="The compressed archive's size."
    )
    first_received_at = fields.Datetime(readonly=True)
    last_received_at = fields.Datetime(readonly=True)
    event_ids = fields.One2many("finsync.event", "archive_id", string="Events", readonly=True)

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    def write(self, vals):
        # People have no write right (an AccessError); not even the cron changes one.
        self.check_access("write")
        if self:
            raise UserError(
                self.env._("Payload archives are part of the audit trail: they cannot be changed.")
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        self.check_access("unlink")
        raise UserError(
            self.env._("Payload archives are part of the audit trail: they cannot be deleted.")
        )

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _blob(self):
        """The archive's compressed bytes (sudo: callers checked the payload's groups)."""
        self.ensure_one()
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_field", "=", "data"),
                    ("res_id", "=", self.id),
                ],
                limit=1,
            )
        )
        return attachment.raw or b""

    def _read_payloads(self, events):
        """{event id: payload bytes} of ``events``, all archived in ``self``."""
        self.ensure_one()
        entries = [
            Entry(event.archive_frame, event.archive_frame_size, event.archive_offset)
            for event in events
        ]
        try:
            payloads = unpack(self._blob(), entries, events.mapped("payload_size"))
        except ArchiveError as err:
            _logger.error("FinSync payload archive %s is unreadable: %s", self.id, err)
            raise UserError(
                self.env._(
                    "The payload archive %(archive)s cannot be read (%(error)s).",
                    archive=self.name,
                    error=str(err),
                )
            ) from err
        return dict(zip(events.ids, payloads, strict=True))
