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

    stripe_balance_transaction = fields.Char(
        string="Stripe Balance Transaction", readonly=True, index="btree_not_null"
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
                gateway_fee_known=stripe["fee_known"],
            )
        return result

    def _gateway_complete(self, vals):
        if self.backend_id.backend_type != "stripe":
            return super()._gateway_complete(vals)
        stripe = vals["stripe"]
        updates = self._gateway_completed_amounts(vals, stripe["fee_known"])
        if stripe["balance_transaction"] and not self.stripe_balance_transaction:
            updates["stripe_balance_transaction"] = stripe["balance_transaction"]
        if vals.get("value_date") and not self.value_date:
            updates["value_date"] = vals["value_date"]
        if updates:
            self._write_protected(updates)

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
        return self._gateway_gross_and_fee(
            self.external_id,
            COUNTERPART.get(self.kind),
            self.env._("Stripe fee %(ref)s", ref=self.external_id),
        )

    def _gateway_to_match(self):
        """Charges and refunds: the matching engine finds their invoices."""
        if self.backend_id.backend_type != "stripe":
            return super()._gateway_to_match()
        return self.kind in ("charge", "refund")
