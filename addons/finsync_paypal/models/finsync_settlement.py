from datetime import timedelta

from odoo import api, models

from .finsync_transaction import NOT_IN_PAYOUT

# A bank line may be dated this many days after the payout beyond the grace period.
PAIRING_SLACK_DAYS = 3


class FinsyncSettlement(models.Model):
    """PayPal payouts (T04xx withdrawals) to the bank.

    A PayPal payout moves an amount chosen by the user or the sweep schedule,
    not "everything since the last payout", so its transactions are the ones
    booked since the previous payout in its currency, and their net need not
    equal the payout. PayPal says when a payout left, not when it arrives: the
    bank line is looked for from the day before it left to the grace period
    after.
    """

    _inherit = "finsync.settlement"

    # ------------------------------------------------------------------
    # From PayPal
    # ------------------------------------------------------------------
    @api.model
    def _gateway_sync_payouts(self, payouts, by_id):
        mine = payouts.filtered(lambda tx: tx.backend_id.backend_type == "paypal")
        return super()._gateway_sync_payouts(payouts - mine, by_id) | self._paypal_sync_payouts(
            mine, by_id
        )

    @api.model
    def _paypal_sync_payouts(self, withdrawals, by_id):
        """Create the settlement of each payout (returned payouts fail theirs)."""
        if not withdrawals:
            return self.browse()
        existing = {
            (s.backend_id.id, s.name): s
            for s in self.search(
                [
                    ("backend_id", "in", withdrawals.backend_id.ids),
                    ("name", "in", withdrawals.mapped("external_id")),
                ]
            )
        }
        returned = withdrawals.filtered(lambda tx: tx.amount > 0)
        to_create = []
        for tx in withdrawals - returned:
            settlement = existing.get((tx.backend_id.id, tx.external_id))
            if settlement:
                if tx.state == "rejected" and settlement.state == "in_transit":
                    settlement.state = "failed"
                continue
            to_create.append(self._paypal_prepare_settlement(tx, by_id[tx.external_id]["paypal"]))
        created = self.create(to_create)
        for settlement in created:
            settlement.payout_transaction_id.settlement_id = settlement
        created._paypal_link_composition()
        for tx in returned.filtered("reversed_transaction_id"):
            failed = self.search(
                [
                    ("backend_id", "=", tx.backend_id.id),
                    ("name", "=", tx.reversed_transaction_id.external_id),
                    ("state", "=", "in_transit"),
                ]
            )
            failed.write({"state": "failed"})
            failed.message_post(
                body=self.env._("PayPal returned the payout (%(ref)s).", ref=tx.external_id)
            )
        return created

    @api.model
    def _paypal_prepare_settlement(self, tx, paypal):
        return {
            "name": tx.external_id,
            "backend_id": tx.backend_id.id,
            "company_id": tx.company_id.id,
            "currency_id": tx.currency_id.id,
            "payout_transaction_id": tx.id,
            "payout_date": tx.booking_date,
            "expected_date": tx.booking_date + timedelta(days=1),
            "bank_reference": paypal.get("bank_reference_id"),
            "amount": -tx.amount,
            "state": "failed" if tx.state == "rejected" else "in_transit",
        }

    def _paypal_link_composition(self):
        """Link each payout to the transactions booked since the previous one in its currency."""
        Transaction = self.env["finsync.transaction"]
        for settlement in self.sorted(lambda s: (s.payout_date, s.id)):
            Transaction.search(
                [
                    ("backend_id", "=", settlement.backend_id.id),
                    ("currency_id", "=", settlement.currency_id.id),
                    ("settlement_id", "=", False),
                    ("paypal_category", "not in", NOT_IN_PAYOUT),
                    ("booking_date", "<=", settlement.payout_date),
                    ("state", "!=", "rejected"),
                ]
            ).write({"settlement_id": settlement.id})

    # ------------------------------------------------------------------
    # Bank side
    # ------------------------------------------------------------------
    def _arrival_window(self):
        """From the day before the payout left PayPal to the grace period (and a few
        days of bank value dates) after it."""
        if self.backend_id.backend_type != "paypal":
            return super()._arrival_window()
        grace = self.backend_id.settlement_grace_days + PAIRING_SLACK_DAYS
        return self.payout_date - timedelta(days=1), self.payout_date + timedelta(days=grace)

    def _overdue_after(self):
        if self.backend_id.backend_type != "paypal":
            return super()._overdue_after()
        return self.payout_date and self.payout_date + timedelta(
            days=self.backend_id.settlement_grace_days
        )
