from odoo import fields, models


class FinsyncTransaction(models.Model):
    _inherit = "finsync.transaction"

    match_rule_id = fields.Many2one("finsync.match.rule", string="Matched By", readonly=True)
    match_score = fields.Integer(readonly=True)
    match_explanation = fields.Char(
        readonly=True, help="Why FinSync matched (or proposed) these open items."
    )

    def _post_statement_lines(self):
        """Match the lines as soon as they are posted (in the same job)."""
        result = super()._post_statement_lines()
        self.env["finsync.matching"]._match_statement_lines(self.statement_line_id)
        return result
