from odoo import fields, models

CATEGORIES = [
    ("payment", "Payment received"),
    ("payment_sent", "Payment sent"),
    ("refund", "Refund"),
    ("chargeback", "Chargeback / reversal"),
    ("chargeback_reversal", "Chargeback won back"),
    ("withdrawal", "Payout to the bank"),
    ("hold", "Hold"),
    ("release", "Hold released"),
    ("conversion", "Currency conversion"),
    ("fee", "Fee"),
    ("deposit", "Deposit from the bank"),
    ("other", "Other"),
]
# What a PayPal transaction's main line is booked against (None: the suspense
# account, where the matching engine looks for the invoice or bill).
COUNTERPART = {
    "payment": None,
    "payment_sent": None,
    "refund": None,
    "chargeback": "dispute",
    "chargeback_reversal": "dispute",
    "withdrawal": "transit",
    "hold": "transit",
    "release": "transit",
    "conversion": "transit",
    "fee": "fee",
    "deposit": "transit",
    "other": None,
}
# Money that leaves the available balance as soon as PayPal records it.
MOVED_WHEN_PENDING = frozenset({"withdrawal", "hold", "release", "conversion"})
MATCHED = frozenset({"payment", "payment_sent", "refund", "other"})
# Not swept by a payout: the payouts themselves, and what PayPal did not categorise.
NOT_IN_PAYOUT = ("withdrawal", False)


class FinsyncTransaction(models.Model):
    _inherit = "finsync.transaction"

    paypal_category = fields.Selection(
        CATEGORIES, string="PayPal Category", readonly=True, index="btree_not_null"
    )
    paypal_event_code = fields.Char(string="PayPal T-code", readonly=True)

    # ------------------------------------------------------------------
    # From PayPal's values
    # ------------------------------------------------------------------
    def _prepare_canonical_vals(self, event, vals, currencies):
        result = super()._prepare_canonical_vals(event, vals, currencies)
        paypal = vals.get("paypal")
        if paypal:
            result.update(
                paypal_category=paypal["category"],
                paypal_event_code=paypal["event_code"],
                gateway_fee_known=paypal["fee_known"],
            )
        return result

    def _gateway_complete(self, vals):
        if self.backend_id.backend_type != "paypal":
            return super()._gateway_complete(vals)
        paypal = vals["paypal"]
        updates = self._gateway_completed_amounts(vals, paypal["fee_known"])
        if not self.paypal_category:
            updates.update(
                paypal_category=paypal["category"], paypal_event_code=paypal["event_code"]
            )
        if updates:
            self._write_protected(updates)

    # ------------------------------------------------------------------
    # Posting to the clearing journal
    # ------------------------------------------------------------------
    def _paypal_postable(self):
        """Money that has moved in the PayPal balance.

        Payments count once completed; payouts, holds, releases and conversions
        leave the available balance as soon as PayPal records them (an activity
        export shows them "Pending" while the balance already moved).
        """
        self.ensure_one()
        if self.state == "rejected":
            return False
        if self.paypal_category in MOVED_WHEN_PENDING:
            return True
        return self.state in ("settled", "reconciled", "reversed")

    def _gateway_bookings(self):
        """The gross (``paypal:<id>``) and, once known, the fee (``paypal:<id>:fee``)
        of each transaction whose money moved."""
        if self.backend_id.backend_type != "paypal":
            return super()._gateway_bookings()
        if not self._paypal_postable():
            return None
        return self._gateway_gross_and_fee(
            f"paypal:{self.external_id}",
            COUNTERPART.get(self.paypal_category or "other"),
            self.env._("PayPal fee %(ref)s", ref=self.external_id),
        )

    def _gateway_to_match(self):
        """Payments, refunds and other money with a counterparty: the matching engine
        finds their invoices or bills."""
        if self.backend_id.backend_type != "paypal":
            return super()._gateway_to_match()
        return self.paypal_category in MATCHED
