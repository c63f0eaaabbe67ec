from odoo import models


class AccountJournal(models.Model):
    _inherit = "account.journal"

    def _finsync_statement_target_error(self):
        """Why this journal must not receive imported bank statements, or "" when it may.

        A translated sentence naming the journal. Modules that keep bank-type
        journals for their own lines (a payment gateway's clearing journals)
        override it, so the bank import never tests their journal types.
        """
        self.ensure_one()
        return ""

    def create_document_from_attachment(self, attachment_ids):
        """Files dropped on a bank journal are statements: open FinSync's import."""
        journal = self or self.browse(self.env.context.get("default_journal_id"))
        if len(journal) == 1 and journal.type == "bank":
            return journal._finsync_import_action(attachment_ids)
        return super().create_document_from_attachment(attachment_ids)

    def action_finsync_import_statement(self):
        self.ensure_one()
        return self._finsync_import_action([])

    def _finsync_import_action(self, attachment_ids):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_bank.action_finsync_bank_import"
        )
        action["context"] = {
            "default_journal_id": self.id,
            "default_attachment_ids": [(6, 0, list(attachment_ids))],
            "dialog_size": "extra-large",
        }
        return action
