from odoo import fields, models


class FinsyncBankImport(models.TransientModel):
    _inherit = "finsync.bank.import"

    # The import dialog offers only journals a bank statement may go to: a gateway's clearing
    # journal is refused as a target (account.journal._finsync_statement_target_error), so it is
    # not offered either.
    journal_id = fields.Many2one(
        domain="[('type', '=', 'bank'), ('finsync_gateway_clearing', '=', False)]"
    )
