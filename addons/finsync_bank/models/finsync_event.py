from odoo import fields, models


class FinsyncEvent(models.Model):
    _inherit = "finsync.event"

    bank_journal_id = fields.Many2one(
        "account.journal",
        string="Bank Journal",
        readonly=True,
        help="The journal chosen at import; empty when found from the account number.",
    )
    bank_profile_id = fields.Many2one("finsync.bank.profile", string="CSV Profile", readonly=True)
    lines_new = fields.Integer(string="New Lines", readonly=True)
    lines_duplicate = fields.Integer(string="Lines Already Imported", readonly=True)
    statement_ids = fields.Many2many(
        "account.bank.statement", string="Bank Statements", readonly=True, copy=False
    )

    def _process_payload_bank_file(self):
        """A statement file: transactions, Odoo statements and continuity checks."""
        profile_record = self.bank_profile_id or self.backend_id.bank_profile_id
        profile = profile_record._to_parser_profile() if profile_record else None
        summary = self.env["finsync.bank.importer"]._import_event(
            self, journal=self.bank_journal_id or None, profile=profile
        )
        self.write(
            {
                "lines_new": summary["new"],
                "lines_duplicate": summary["duplicate"],
                "statement_ids": [fields.Command.link(st.id) for st in summary["statements"]],
            }
        )
        return summary
