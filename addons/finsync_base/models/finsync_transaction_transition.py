from odoo import fields, models

from ..tools.state_machine import STATES


class FinsyncTransactionTransition(models.Model):
    """Audit trail of a transaction's states: who moved it, when, and why."""

    _name = "finsync.transaction.transition"
    _description = "FinSync Transaction State Change"
    _order = "date desc, id desc"
    _log_access = True

    transaction_id = fields.Many2one(
        "finsync.transaction", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="transaction_id.company_id", store=True)
    from_state = fields.Selection(STATES, readonly=True)
    to_state = fields.Selection(STATES, required=True, readonly=True)
    user_id = fields.Many2one(
        "res.users", string="By", required=True, readonly=True, default=lambda self: self.env.user
    )
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    reason = fields.Char(readonly=True)
    event_id = fields.Many2one("finsync.event", readonly=True, index="btree_not_null")
