from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL


class IrAttachment(models.Model):
    """FinSync's attachments are read under the rights of their record and field.

    Odoo checks an attachment's record and field (``check``) when it is
    written or deleted, and filters searches by the record's model; reading
    one by id asks only for the right on ``ir.attachment``, and a search
    naming ``res_field`` returns field attachments whatever the field's
    groups. A raw payload, restricted to accountants on its event, would be
    readable by any user through its attachment (``read``, ``search_read``,
    ``/web/content/<id>``). Here both hold for every FinSync model.
    """

    _inherit = "ir.attachment"

    # Indexed: PostgreSQL checks this self-reference for every attachment row
    # deleted (retention moves payloads out of theirs, thousands per batch);
    # without an index each check scans the whole table.
    original_id = fields.Many2one(index="btree_not_null")

    def _check_access(self, operation):
        result = super()._check_access(operation)
        if result or operation != "read" or self.env.su:
            return result
        finsync = self._finsync_attachments()
        if not finsync:
            return None
        try:
            finsync.check("read")
        except AccessError:
            # Rare (a refusal): find which ones, one at a time.
            forbidden = finsync.browse(
                [attachment.id for attachment in finsync if not attachment._finsync_readable()]
            )
            return forbidden, lambda: AccessError(
                self.env._(
                    "You are not allowed to read attachment %(ids)s of FinSync records.",
                    ids=", ".join(str(attachment_id) for attachment_id in forbidden.ids),
                )
            )
        return None

    def _finsync_readable(self):
        try:
            self.check("read")
        except AccessError:
            return False
        return True

    def _finsync_attachments(self):
        """The attachments of ``self`` that belong to a FinSync record (one query)."""
        ids = [attachment_id for attachment_id in self._ids if isinstance(attachment_id, int)]
        if not ids:
            return self.browse()
        self.flush_model(["res_model"])
        self.env.cr.execute(
            SQL(
                "SELECT id FROM ir_attachment WHERE id = ANY(%s) AND res_model LIKE %s",
                ids,
                "finsync.%",
            )
        )
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None):
        query = super()._search(domain, offset, limit, order)
        if self.env.su:
            return query
        hidden = self._finsync_hidden_fields()
        if not hidden:
            return query
        ids = list(query)
        if not ids:
            return query
        self.flush_model(["res_model", "res_field"])
        self.env.cr.execute(
            SQL(
                """SELECT id, res_model, res_field FROM ir_attachment
                    WHERE id = ANY(%s) AND res_field IS NOT NULL AND res_model LIKE %s""",
                ids,
                "finsync.%",
            )
        )
        refused = {row[0] for row in self.env.cr.fetchall() if (row[1], row[2]) in hidden}
        if not refused:
            return query
        return self.browse([id_ for id_ in ids if id_ not in refused])._as_query(order)

    @api.model
    def _finsync_hidden_fields(self):
        """{(model, field)}: FinSync binary fields in attachments the user may not read."""
        return {
            (model_name, field.name)
            for model_name in self.env.registry
            if model_name.startswith("finsync.")
            for field in self.env[model_name]._fields.values()
            if field.type == "binary" and field.attachment and not field.is_accessible(self.env)
        }
