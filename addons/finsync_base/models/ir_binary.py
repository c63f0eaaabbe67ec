from odoo import models
from odoo.http import Stream


class IrBinary(models.AbstractModel):
    _inherit = "ir.binary"

    def _record_to_stream(self, record, field_name):
        """An archived payload has no attachment any more: stream it from its field,
        which reads the archive (``/web/content/finsync.event/<id>/payload``)."""
        if record._name == "finsync.event" and field_name == "payload":
            record.check_field_access_rights("read", [field_name])
            # sudo: only where the payload lies; the field's groups were checked above.
            if record.sudo().archive_id:
                return Stream.from_binary_field(record.with_context(bin_size=False), field_name)
        return super()._record_to_stream(record, field_name)
