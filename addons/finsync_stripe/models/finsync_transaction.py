from odoo import fields, models

# What a Stripe transaction's main line is booked against (None: the suspense
# account, where the matching engine looks for the invoice).
COUNTERPART = {
    "charge": None,
    "refund": None,
    "dispute": "dispute",
    "payout": "transit",
    "fee": "fee",
    "adjustment": "fee",
}


class FinsyncTransaction(models.Model):
    _inherit = "finsync.transaction"

    settlement_id = fields.Many2one(
        "finsync.settlement",
        string="Settlement",
        readonly=True,
        index="btree_not_null",
        check_company=True,
        help="The gateway payout that paid this transaction out.",
    )
    stripe_balance_transaction = fields.Char(
        string="Stripe Balance Transaction", readonly=True, index="btree_not_null"
    )
    stripe_fee_known = fields.Boolean(
        readonly=True, help="Whether Stripe's fee is known (from its balance transaction)."
    )
    fee_statement_line_id = fields.Many2one(
        "account.bank.statement.line",
        string="Fee Line",
        readonly=True,
        check_company=True,
        index="btree_not_null",
    )

    # ------------------------------------------------------------------
    # From Stripe's values
    # ------------------------------------------------------------------
    def _prepare_canonical_vals(self, event, vals, currencies):
        result = super()._prepare_canonical_vals(event, vals, currencies)
        stripe = vals.get("stripe")
        if stripe:
            result.update(
                stripe_balance_transaction=stripe["balance_transaction"],
                stripe_fee_known=stripe["fee_known"],
            )
        return result

    def _gateway_complete(self, vals):
        if self.backend_id.backend_type != "stripe":
            return super()._gateway_complete(vals)
        stripe = vals["stripe"]
        updates = {}
        if stripe["balance_transaction"] and not self.stripe_balance_transaction:
            updates["stripe_balance_transaction"] = stripe["balance_transaction"]
        posted = self.statement_line_id or self.fee_statement_line_id
        if stripe["fee_known"] and not self.stripe_fee_known and not self.fee_statement_line_id:
            updates.update(stripe_fee_known=True, fee_amount=float(vals["fee"]))
        if not posted and self.currency_id.compare_amounts(self.amount, float(vals["amount"])):
            updates["amount"] = float(vals["amount"])
        if vals.get("value_date") and not self.value_date:
            updates["value_date"] = vals["value_date"]
        if updates:
            self.write(updates)

    # ------------------------------------------------------------------
    # Posting to the clearing journal
    # ------------------------------------------------------------------
    def _stripe_postable(self):
        """Money that has moved in the Stripe balance.

        Payouts leave the balance when they are created, so they are booked in
        every state; a failed payout comes back as its own ``:failed`` transaction.
        """
        self.ensure_one()
        if self.kind == "payout":
            return True
        return self.state in ("settled", "reconciled", "reversed")

    def _gateway_bookings(self):
        """The gross (``<external id>``) and, once Stripe told it, the fee
        (``<external id>:fee``) of each transaction whose money moved."""
        if self.backend_id.backend_type != "stripe":
            return super()._gateway_bookings()
        if not self._stripe_postable():
            return None
        bookings = []
        if not self.statement_line_id and not self.currency_id.is_zero(self.amount):
            bookings.append(
                (
                    "statement_line_id",
                    self.external_id,
                    self.amount,
                    COUNTERPART.get(self.kind),
                    None,
                )
            )
        if (
            self.stripe_fee_known
            and not self.fee_statement_line_id
            and not self.currency_id.is_zero(self.fee_amount)
        ):
            bookings.append(
                (
                    "fee_statement_line_id",
                    f"{self.external_id}:fee",
                    -self.fee_amount,
                    "fee",
                    self.env._("Stripe fee %(ref)s", ref=self.external_id),
                )
            )
        return bookings

    def _gateway_to_match(self):
        """Charges and refunds: the matching engine finds their invoices."""
        if self.backend_id.backend_type != "stripe":
            return super()._gateway_to_match()
        return self.kind in ("charge", "refund")
