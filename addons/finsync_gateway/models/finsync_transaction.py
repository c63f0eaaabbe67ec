from odoo import fields, models


class FinsyncTransaction(models.Model):
    _inherit = "finsync.transaction"

    settlement_id = fields.Many2one(
        "finsync.settlement",
        string="Settlement",
        readonly=True,
        index="btree_not_null",
        check_company=True,
        help="The gateway payout that paid this transaction out.",
    )
