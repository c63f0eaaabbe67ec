from odoo import fields, models


class AccountJournal(models.Model):
    _inherit = "account.journal"

    finsync_gateway_clearing = fields.Boolean(
        string="Gateway Clearing Journal",
        readonly=True,
        copy=False,
        help="Set when FinSync creates the journal for a payment gateway's balance in one "
        "currency: its lines are the gateway's own movements, never a bank receipt of a payout.",
    )

    def _finsync_statement_target_error(self):
        if self.finsync_gateway_clearing:
            return self.env._(
                "journal %(journal)s is the clearing journal of a payment gateway: its lines "
                "come from the gateway's connector, never from a bank statement. Import the "
                "statement into the bank journal the payouts arrive in.",
                journal=self.display_name,
            )
        return super()._finsync_statement_target_error()
