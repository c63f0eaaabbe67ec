from odoo import models


class AccountJournal(models.Model):
    _inherit = "account.journal"

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
