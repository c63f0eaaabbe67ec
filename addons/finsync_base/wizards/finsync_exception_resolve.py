from odoo import api, fields, models


class FinsyncExceptionResolve(models.TransientModel):
    """Close one or many exceptions with a reason code."""

    _name = "finsync.exception.resolve"
    _description = "Resolve FinSync Exceptions"

    exception_ids = fields.Many2many(
        "finsync.exception",
        default=lambda self: self.env.context.get("active_ids"),
        required=True,
    )
    mode = fields.Selection(
        [("resolve", "Resolve"), ("ignore", "Ignore")], required=True, default="resolve"
    )
    reason_id = fields.Many2one(
        "finsync.exception.reason",
        string="Reason Code",
        required=True,
        domain="[('for_ignore', '=', mode == 'ignore')]",
    )
    note = fields.Text()
    open_count = fields.Integer(compute="_compute_open_count")
    summary = fields.Char(compute="_compute_open_count")

    @api.depends("exception_ids")
    def _compute_open_count(self):
        for wizard in self:
            count = len(wizard.exception_ids.filtered("is_open"))
            wizard.open_count = count
            wizard.summary = (
                self.env._("1 open exception will be closed.")
                if count == 1
                else self.env._("%(count)s open exceptions will be closed.", count=count)
            )

    def action_confirm(self):
        self.ensure_one()
        self.exception_ids._close(self.reason_id, note=self.note, ignore=self.mode == "ignore")
        return {"type": "ir.actions.act_window_close"}
