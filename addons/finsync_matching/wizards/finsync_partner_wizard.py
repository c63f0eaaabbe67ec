from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from odoo.addons.base.models.res_bank import sanitize_account_number


class FinsyncPartnerWizard(models.TransientModel):
    """Set the partner of a bank line, optionally remember its account, and match again.

    The statement line (and its FinSync transaction) get the partner; with
    *Remember the account*, the counterparty's account number is added to the
    partner's bank accounts so that later lines from it are recognised. Then
    the matching rules run again on this line, and the wizard shows what they
    did (reconciled, proposed, or still an exception, with the reason).
    """

    _name = "finsync.partner.wizard"
    _description = "Fix Partner and Match Again"
    _inherit = ["finsync.line.wizard.mixin"]

    partner_id = fields.Many2one("res.partner", required=True)
    remember_account = fields.Boolean(
        string="Remember the Account",
        help="Add the counterparty's account number to the partner's bank accounts.",
    )
    state = fields.Selection([("draft", "Draft"), ("done", "Done")], default="draft")
    result = fields.Text(readonly=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        st_line = self.env["account.bank.statement.line"].browse(values.get("statement_line_id"))
        if st_line and "remember_account" in fields_list:
            values["remember_account"] = bool(st_line.account_number)
        return values

    def action_confirm(self):
        self.ensure_one()
        st_line = self._check_and_lock()
        self._check_no_pending_writeoff(st_line)
        partner = self.partner_id
        remembered = self._remember_account(st_line, partner) if self.remember_account else None
        st_line.partner_id = partner
        transactions = self._transactions(st_line)
        transactions.write({"partner_id": partner.commercial_partner_id.id})
        counts = self.env["finsync.matching"]._match_statement_lines(st_line)
        self.write({"state": "done", "result": self._result(st_line, counts, remembered)})
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self._description,
        }

    def _remember_account(self, st_line, partner):
        """The partner's bank account for the line's account number, created if new."""
        if not st_line.account_number:
            raise UserError(
                self.env._(
                    "Bank line %(line)s has no counterparty account to remember.",
                    line=st_line.payment_ref,
                )
            )
        banks = self.env["res.partner.bank"]
        existing = banks.with_context(active_test=False).search(
            [
                ("sanitized_acc_number", "=", sanitize_account_number(st_line.account_number)),
                ("company_id", "in", [False, st_line.company_id.id]),
            ]
        )
        mine = existing.filtered(lambda bank: bank.partner_id == partner)
        if mine:
            return mine[:1]
        if existing:
            raise UserError(
                self.env._(
                    "Account %(account)s is already %(owner)s's: correct that partner's bank "
                    "accounts first, or untick Remember the Account.",
                    account=st_line.account_number,
                    owner=existing[0].partner_id.display_name,
                )
            )
        # sudo: accountants may not edit partners. The account is recorded as the
        # bank reported it, only to recognise the payer; it is not trusted for
        # outgoing payments (allow_out_payment stays off until someone validates it).
        return banks.sudo().create(
            {
                "acc_number": st_line.account_number,
                "partner_id": partner.id,
                "allow_out_payment": False,
            }
        )

    def _result(self, st_line, counts, remembered):
        transaction = st_line.finsync_transaction_ids[:1]
        lines = []
        if remembered:
            lines.append(
                self.env._(
                    "Account %(account)s remembered for %(partner)s.",
                    account=remembered.acc_number,
                    partner=remembered.partner_id.display_name,
                )
            )
        amount = format_amount(self.env, st_line.amount, st_line.currency_id)
        if st_line.is_reconciled:
            lines.append(
                self.env._(
                    "Matched and reconciled (%(amount)s): %(why)s",
                    amount=amount,
                    why=transaction.match_explanation or "",
                )
            )
        elif transaction.proposed_line_ids:
            lines.append(
                self.env._(
                    "Matching proposes %(items)s: %(why)s. Confirm the proposal on the "
                    "transaction, or match by hand.",
                    items=", ".join(transaction.proposed_line_ids.move_id.mapped("name")),
                    why=transaction.match_explanation or "",
                )
            )
        else:
            open_exceptions = transaction.exception_ids.filtered("is_open")
            lines.append(
                self.env._(
                    "Still not matched: %(why)s. Open: %(exceptions)s.",
                    why=transaction.match_explanation or self.env._("no rule applies"),
                    exceptions=", ".join(open_exceptions.mapped("name")) or self.env._("none"),
                )
            )
        if not counts:
            lines.append(self.env._("No matching rule ran (none for this company?)."))
        return "\n".join(lines)
