from odoo import fields, models


class FinsyncCloseReasonWizard(models.TransientModel):
    """Asks a manager's reason to close with an override, or to reopen a closed period."""

    _name = "finsync.close.reason.wizard"
    _description = "FinSync Close: Reason"

    close_id = fields.Many2one("finsync.close", required=True, ondelete="cascade")
    mode = fields.Selection(
        [("override", "Close with override"), ("reopen", "Reopen")], required=True
    )
    reason = fields.Text(required=True)

    def action_confirm(self):
        """Both paths check the manager group and the reason in the close's methods."""
        self.ensure_one()
        if self.mode == "override":
            self.close_id._close(override_reason=self.reason or "")
        else:
            self.close_id._reopen(self.reason or "")
        return {"type": "ir.actions.act_window_close"}
