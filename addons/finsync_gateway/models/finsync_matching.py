from odoo import api, models


class FinsyncMatching(models.AbstractModel):
    _inherit = "finsync.matching"

    @api.model
    def _match_statement_lines(self, st_lines):
        """Bank lines that receive a gateway payout settle it; the rest go to the rules."""
        paired = self.env["finsync.settlement"]._match_bank_lines(st_lines)
        counts = super()._match_statement_lines(st_lines - paired)
        if paired:
            counts["settlement"] = len(paired)
        return counts
