from odoo import fields, models


class FinsyncCloseLog(models.Model):
    """The close's history: who created, closed, overrode or reopened it, and why.

    Append-only: nobody has create, write or unlink rights; the close's
    methods write the rows.
    """

    _name = "finsync.close.log"
    _description = "FinSync Period Close History"
    _order = "id desc"

    close_id = fields.Many2one(
        "finsync.close", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="close_id.company_id", store=True, index=True)
    action = fields.Selection(
        [
            ("create", "Created"),
            ("close", "Closed"),
            ("override", "Closed with override"),
            ("reopen", "Reopened"),
        ],
        required=True,
        readonly=True,
    )
    reason = fields.Text(readonly=True)
    user_id = fields.Many2one(
        "res.users", string="By", required=True, readonly=True, default=lambda s: s.env.user
    )
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
