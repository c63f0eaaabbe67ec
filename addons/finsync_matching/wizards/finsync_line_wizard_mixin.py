from odoo import api, fields, models
from odoo.exceptions import UserError


class FinsyncLineWizardMixin(models.AbstractModel):
    """What every exception wizard works on: one bank line, its transaction and exception.

    Opened from an exception (``default_exception_id``), a transaction
    (``default_transaction_id``) or a statement line; the missing links are
    filled from the others. ``_check_and_lock`` runs the checks every wizard
    makes before touching the ledger: the user's group, the company, and the
    line still being unreconciled (locked until the end of the transaction).
    """

    _name = "finsync.line.wizard.mixin"
    _description = "FinSync Bank Line Wizard"

    statement_line_id = fields.Many2one(
        "account.bank.statement.line", string="Bank Line", required=True, readonly=True
    )
    transaction_id = fields.Many2one("finsync.transaction", readonly=True)
    exception_id = fields.Many2one("finsync.exception", readonly=True)
    company_id = fields.Many2one(related="statement_line_id.company_id")
    currency_id = fields.Many2one(related="statement_line_id.currency_id")
    line_amount = fields.Monetary(related="statement_line_id.amount", string="Amount")
    line_label = fields.Char(related="statement_line_id.payment_ref", string="Label")
    line_date = fields.Date(related="statement_line_id.date", string="Date")
    line_partner_name = fields.Char(related="statement_line_id.partner_name", string="Counterparty")
    line_account_number = fields.Char(
        related="statement_line_id.account_number", string="Counterparty Account"
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if "statement_line_id" not in fields_list:
            return values
        exception = self.env["finsync.exception"].browse(values.get("exception_id"))
        transaction = self.env["finsync.transaction"].browse(values.get("transaction_id"))
        if exception and not transaction:
            transaction = exception.transaction_ids.filtered("statement_line_id")[:1]
            values["transaction_id"] = transaction.id
        if transaction and not values.get("statement_line_id"):
            values["statement_line_id"] = transaction.statement_line_id.id
        if not values.get("statement_line_id"):
            raise UserError(
                self.env._(
                    "%(what)s has no bank line posted in Odoo to work on.",
                    what=exception.display_name or transaction.display_name or self._description,
                )
            )
        return values

    def _check_and_lock(self):
        """Accountant, company, line not reconciled meanwhile; returns the locked line."""
        self.ensure_one()
        workflow = self.env["finsync.exception.workflow"]
        workflow._check_accountant()
        return workflow._lock_open_lines(self.statement_line_id)

    def _transactions(self, st_line):
        return self.transaction_id | st_line.finsync_transaction_ids

    def _check_no_pending_writeoff(self, st_line):
        pending = self.env["finsync.writeoff.request"].search(
            [("statement_line_id", "=", st_line.id), ("state", "=", "requested")], limit=1
        )
        if pending:
            raise UserError(
                self.env._(
                    "Write-off %(name)s for this bank line waits for approval: a manager "
                    "approves or rejects it first.",
                    name=pending.name,
                )
            )

    def _done(self, message, kind="success"):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self._description,
                "message": message,
                "type": kind,
                "sticky": False,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
