from odoo import models
from odoo.exceptions import UserError


class FinsyncTransaction(models.Model):
    """The exception wizards, opened from a transaction."""

    _inherit = "finsync.transaction"

    def action_open_match_wizard(self):
        return self._open_line_wizard(
            "finsync_matching.action_finsync_match_wizard", dialog_size="extra-large"
        )

    def action_open_duplicate_wizard(self):
        return self._open_line_wizard("finsync_matching.action_finsync_duplicate_wizard")

    def action_open_payment_wizard(self):
        return self._open_line_wizard("finsync_matching.action_finsync_payment_wizard")

    def action_open_partner_wizard(self):
        return self._open_line_wizard("finsync_matching.action_finsync_partner_wizard")

    def _open_line_wizard(self, xmlid, **context):
        self.ensure_one()
        self.env["finsync.exception.workflow"]._check_accountant()
        if not self.statement_line_id or self.statement_line_id.is_reconciled:
            raise UserError(
                self.env._(
                    "Transaction %(name)s has no unreconciled bank line to work on.",
                    name=self.name,
                )
            )
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        exception = self.exception_ids.filtered("is_open")[:1]
        action["context"] = {
            "default_transaction_id": self.id,
            "default_exception_id": exception.id,
            **context,
        }
        return action
