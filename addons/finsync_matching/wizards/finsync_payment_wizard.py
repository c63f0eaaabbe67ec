from odoo import api, fields, models
from odoo.exceptions import UserError


class FinsyncPaymentWizard(models.TransientModel):
    """Book an unmatched bank line as a payment or refund on the partner's account.

    Money in from a customer becomes a payment on account: the line's
    counterpart goes to the customer's receivable, open, so that a later invoice
    is matched against it. Money out goes to the vendor's payable (a vendor
    payment on account) or, for a refund, to the customer's receivable. The
    statement line is reconciled through ``_reconcile_allocations`` with no
    item and the whole amount on that account, with the partner.
    """

    _name = "finsync.payment.wizard"
    _description = "Create Payment on Account"
    _inherit = ["finsync.line.wizard.mixin"]

    partner_id = fields.Many2one("res.partner", required=True)
    partner_type = fields.Selection(
        [("customer", "Customer"), ("supplier", "Vendor")],
        required=True,
        default="customer",
    )
    booking = fields.Char(compute="_compute_booking", string="Booked As")
    account_id = fields.Many2one("account.account", compute="_compute_booking")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        st_line = self.env["account.bank.statement.line"].browse(values.get("statement_line_id"))
        if st_line:
            transaction = st_line.finsync_transaction_ids[:1]
            partner = st_line.partner_id or transaction.partner_id
            if "partner_id" in fields_list and partner:
                values["partner_id"] = partner.id
            if "partner_type" in fields_list:
                values["partner_type"] = "customer" if st_line.amount > 0 else "supplier"
        return values

    @api.depends("partner_id", "partner_type", "line_amount", "company_id")
    def _compute_booking(self):
        labels = {
            ("customer", True): self.env._("Customer payment on account"),
            ("customer", False): self.env._("Customer refund"),
            ("supplier", True): self.env._("Vendor refund"),
            ("supplier", False): self.env._("Vendor payment on account"),
        }
        for wizard in self:
            wizard.booking = labels[(wizard.partner_type, wizard.line_amount > 0)]
            wizard.account_id = wizard._counterpart_account()

    def _counterpart_account(self):
        partner = self.partner_id.commercial_partner_id.with_company(self.company_id)
        if not partner:
            return self.env["account.account"]
        if self.partner_type == "customer":
            return partner.property_account_receivable_id
        return partner.property_account_payable_id

    def action_confirm(self):
        self.ensure_one()
        st_line = self._check_and_lock()
        self._check_no_pending_writeoff(st_line)
        account = self._counterpart_account()
        if not account:
            raise UserError(
                self.env._(
                    "%(partner)s has no receivable or payable account in %(company)s.",
                    partner=self.partner_id.display_name,
                    company=self.company_id.name,
                )
            )
        partner = self.partner_id.commercial_partner_id
        explanation = self.env._(
            "%(booking)s for %(partner)s (%(amount)s), booked by %(user)s",
            booking=self.booking,
            partner=partner.display_name,
            amount=self.currency_id.format(abs(self.line_amount)),
            user=self.env.user.name,
        )
        self.env["finsync.exception.workflow"]._close_line_exceptions(
            self._transactions(st_line), "finsync_matching.reason_on_account", explanation
        )
        self.env["finsync.matching"]._reconcile_allocations(
            st_line,
            [],
            writeoff_account=account,
            writeoff_label=self.env._(
                "%(booking)s: %(label)s", booking=self.booking, label=st_line.payment_ref or ""
            ),
            explanation=explanation,
            partner=partner,
        )
        return self._done(explanation)
