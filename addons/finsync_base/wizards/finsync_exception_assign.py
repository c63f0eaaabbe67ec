from odoo import fields, models


class FinsyncExceptionAssign(models.TransientModel):
    """Bulk assignment of exceptions to one owner."""

    _name = "finsync.exception.assign"
    _description = "Assign FinSync Exceptions"

    exception_ids = fields.Many2many(
        "finsync.exception",
        default=lambda self: self.env.context.get("active_ids"),
        required=True,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        required=True,
        default=lambda self: self.env.user,
        domain="[('share', '=', False)]",
    )
    note = fields.Char()

    def action_assign(self):
        self.ensure_one()
        self.exception_ids._check_can_work()
        self.exception_ids.write({"user_id": self.user_id.id})
        if self.note:
            for exc in self.exception_ids:
                exc.message_post(body=self.note)
        return {"type": "ir.actions.act_window_close"}
