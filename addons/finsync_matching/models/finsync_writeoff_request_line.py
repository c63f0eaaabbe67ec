from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .finsync_writeoff_request import _is_protected


class FinsyncWriteoffRequestLine(models.Model):
    """One open item of a write-off request and the amount the bank line pays on it.

    Created with its request by ``finsync.writeoff.request._request`` only: no
    client adds, changes or removes items of a request, its own or another's.
    """

    _name = "finsync.writeoff.request.line"
    _description = "FinSync Write-off Request Item"
    _order = "sequence, id"
    _check_company_auto = True

    request_id = fields.Many2one(
        "finsync.writeoff.request", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one(related="request_id.company_id", store=True, index=True)
    move_line_id = fields.Many2one(
        "account.move.line", string="Open Item", required=True, check_company=True
    )
    move_name = fields.Char(related="move_line_id.move_name", string="Entry")
    partner_id = fields.Many2one(related="move_line_id.partner_id")
    currency_id = fields.Many2one(related="move_line_id.currency_id")
    amount = fields.Monetary(
        string="Applied",
        required=True,
        help="The part of the item's residual this bank line pays (positive).",
    )
    requested_residual = fields.Monetary(
        string="Open When Requested",
        help="The item's open amount (signed) when the write-off was requested; "
        "approval is refused if it changed.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if not _is_protected(self.env):
            raise AccessError(
                self.env._("Items of a write-off request are set when it is requested.")
            )
        return super().create(vals_list)

    def write(self, vals):
        if not _is_protected(self.env):
            raise UserError(self.env._("Items of a write-off request cannot be changed."))
        return super().write(vals)

    def _allocations(self):
        """``(move_line, amount)`` pairs for ``_reconcile_allocations``.

        Always the amounts requested, never "the whole residual": if an item was
        paid meanwhile, the reconciliation refuses instead of writing off more
        than was approved.
        """
        return [(line.move_line_id, line.amount) for line in self]
