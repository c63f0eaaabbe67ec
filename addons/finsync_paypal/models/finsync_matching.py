from odoo import api, models


class FinsyncMatching(models.AbstractModel):
    _inherit = "finsync.matching"

    @api.model
    def _match_statement_lines(self, st_lines):
        """Bank lines that receive a PayPal payout settle it; the rest go to the rules."""
        paired = self.env["finsync.paypal.settlement"]._match_bank_lines(st_lines)
        counts = super()._match_statement_lines(st_lines - paired)
        if paired:
            counts["paypal_payout"] = len(paired)
        return counts
