from odoo import fields, models


class AccountJournal(models.Model):
    _inherit = "account.journal"

    finsync_gateway_clearing = fields.Boolean(
        string="Gateway Clearing Journal",
        readonly=True,
        copy=False,
        help="Set when FinSync creates the journal for a payment gateway's balance in one "
        "currency: its lines are the gateway's own movements, never a bank receipt of a payout.",
    )
