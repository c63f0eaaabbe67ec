from odoo import api, fields, models

FRESHNESS = [("green", "Up to date"), ("amber", "Late"), ("red", "Stale")]


class AccountJournal(models.Model):
    _inherit = "account.journal"

    finsync_cadence_days = fields.Integer(
        string="Statement Cadence (business days)",
        default=1,
        help="How often the bank sends a statement, in business days (1: every business "
        "day). The overview shows the journal amber once a statement is late by one "
        "cadence and red by two.",
    )
    finsync_unreconciled_count = fields.Integer(
        string="FinSync Unreconciled Lines", compute="_compute_finsync_overview"
    )
    finsync_freshness = fields.Selection(
        FRESHNESS, string="Statement Freshness", compute="_compute_finsync_overview"
    )

    _sql_constraints = [
        (
            "finsync_cadence_positive",
            "CHECK(finsync_cadence_days IS NULL OR finsync_cadence_days > 0)",
            "The statement cadence must be at least one business day.",
        ),
    ]

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_finsync_overview(self):
        figures = self.env["finsync.figures"]
        unreconciled, freshness = {}, {}
        for company in self.company_id:
            unreconciled.update(figures._unreconciled_by_journal(company))
            freshness.update(figures._statement_freshness(company))
        for journal in self:
            journal.finsync_unreconciled_count = unreconciled.get(journal.id, {}).get("count", 0)
            journal.finsync_freshness = freshness.get(journal.id, {}).get("colour", False)

    def action_finsync_open_unreconciled(self):
        self.ensure_one()
        # The bank reconciliation workbench, on this journal's lines.
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_matching.action_finsync_workbench"
        )
        action["name"] = self.env._("Unreconciled lines of %(journal)s", journal=self.name)
        action["domain"] = [
            ("journal_id", "=", self.id),
            ("is_reconciled", "=", False),
            ("state", "=", "posted"),
        ]
        return action
