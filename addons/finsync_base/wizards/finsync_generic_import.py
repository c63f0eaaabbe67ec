import base64

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..tools.canonical import CanonicalPayloadError, parse_canonical


class FinsyncGenericImport(models.TransientModel):
    """Import a canonical JSON file (``tools/canonical.py``) into a generic connector.

    The smallest connector wizard on ``finsync.file.import``: one file, the
    canonical reader for the preview, the generic mapper for the import.
    """

    _name = "finsync.generic.import"
    _inherit = "finsync.file.import"
    _description = "Import Canonical Transaction Files"

    backend_id = fields.Many2one(
        "finsync.backend",
        string="Connector",
        required=True,
        domain="[('backend_type', '=', 'generic')]",
        default=lambda self: self._default_backend(),
    )
    data_file = fields.Binary(string="File", required=True)
    filename = fields.Char()
    line_count = fields.Integer(readonly=True)
    new_count = fields.Integer(readonly=True)
    event_id = fields.Many2one("finsync.event", readonly=True)
    transaction_ids = fields.Many2many("finsync.transaction", readonly=True)

    @api.model
    def _default_backend(self):
        return self.env["finsync.backend"].search(
            [("backend_type", "=", "generic"), ("company_id", "in", self.env.companies.ids)],
            limit=1,
        )

    # ------------------------------------------------------------------
    # File import steps
    # ------------------------------------------------------------------
    def _get_backend(self):
        return self.backend_id

    def _prepare_files(self):
        if not self.data_file:
            raise UserError(self.env._("Choose a canonical JSON file."))
        return [(self.filename or "transactions.json", base64.b64decode(self.data_file))]

    def _import_title(self):
        return self.env._("Import Canonical Transactions")

    def _prepare_preview_file(self, filename, data):
        try:
            return parse_canonical(data)
        except CanonicalPayloadError as err:
            raise UserError(
                self.env["finsync.event"].new({"name": filename})._canonical_error_message(err)
            ) from err

    def _prepare_preview_vals(self, previews):
        [vals_list] = previews
        ids = [vals["external_id"] for vals in vals_list]
        known = self._get_backend()._connector().bind(ids)
        return {"line_count": len(ids), "new_count": len(ids) - len(known)}

    def _prepare_event_vals(self, filename, data):
        return dict(super()._prepare_event_vals(filename, data), event_type="canonical_file")

    def _read_message(self, transactions, filename):
        if len(transactions) == 1:
            return self.env._("1 transaction read from %(file)s.", file=filename)
        return self.env._(
            "%(count)s transactions read from %(file)s.", count=len(transactions), file=filename
        )

    def _prepare_done_vals(self, events, fresh, results):
        transactions = self.env["finsync.transaction"].union(*results) or events.transaction_ids
        return {
            "message": self._read_message(transactions, events.payload_filename or events.name)
            if fresh
            else self.env._(
                "This file was already imported (%(name)s): nothing new.", name=events.name
            ),
            "event_id": events.id,
            "transaction_ids": [Command.set(transactions.ids)],
        }
