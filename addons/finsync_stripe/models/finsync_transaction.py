import logging

from odoo import fields, models

_logger = logging.getLogger(__name__)

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

    def _gateway_post(self):
        return super()._gateway_post() | self._stripe_post()

    def _stripe_post(self):
        """Book the gross and the fee of each transaction once, in its currency's journal.

        Each booking is a statement line keyed ``<external id>`` or
        ``<external id>:fee`` in the journal (unique in the database, so a retry or
        a concurrent delivery cannot book it twice). Charge and refund lines
        then go through the matching engine to find their invoices.
        """
        vals_list, owners = [], []
        for tx in self.filtered(lambda t: t.backend_id.backend_type == "stripe"):
            if not tx._stripe_postable():
                continue
            journal = tx.backend_id._gateway_journal(tx.currency_id)
            accounts = tx.backend_id._gateway_accounts()
            fee_account = accounts["fee"]
            if not tx.statement_line_id and not tx.currency_id.is_zero(tx.amount):
                counterpart = accounts.get(COUNTERPART.get(tx.kind))
                vals_list.append(
                    tx._gateway_line_vals(journal, tx.external_id, tx.amount, counterpart)
                )
                owners.append((tx, "statement_line_id"))
            if (
                tx.stripe_fee_known
                and not tx.fee_statement_line_id
                and not tx.currency_id.is_zero(tx.fee_amount)
            ):
                vals_list.append(
                    tx._gateway_line_vals(
                        journal,
                        f"{tx.external_id}:fee",
                        -tx.fee_amount,
                        fee_account,
                        label=self.env._("Stripe fee %(ref)s", ref=tx.external_id),
                    )
                )
                owners.append((tx, "fee_statement_line_id"))
        if not vals_list:
            return self.env["account.bank.statement.line"]
        lines = self._gateway_create_lines(vals_list)
        for (tx, field_name), line in zip(owners, lines, strict=True):
            tx[field_name] = line
        to_match = self.env["account.bank.statement.line"].union(
            *(
                line
                for (tx, field_name), line in zip(owners, lines, strict=True)
                if field_name == "statement_line_id" and tx.kind in ("charge", "refund")
            )
        )
        if to_match:
            self.env["finsync.matching"]._match_statement_lines(to_match)
        _logger.info("FinSync Stripe: %d lines booked", len(lines))
        return lines
