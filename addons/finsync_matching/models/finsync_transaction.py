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

    def action_match(self):
        """Button: run the matching rules again on these transactions' bank lines."""
        counts = self.env["finsync.matching"]._match_statement_lines(self.statement_line_id)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Matching"),
                "message": self.env._(
                    "%(reconciled)s reconciled, %(open)s left in the exception queue.",
                    reconciled=counts.get("reconcile", 0),
                    open=sum(count for action, count in counts.items() if action != "reconcile"),
                ),
                "type": "info",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
