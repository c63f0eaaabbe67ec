from odoo import fields, models


class FinsyncWriteoffReject(models.TransientModel):
    """Reject write-off requests with a reason the requester reads."""

    _name = "finsync.writeoff.reject"
    _description = "Reject Write-off"

    request_ids = fields.Many2many("finsync.writeoff.request", required=True)
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.ensure_one()
        self.request_ids._reject(self.reason)
        return {"type": "ir.actions.act_window_close"}
