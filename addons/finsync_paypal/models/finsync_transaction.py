import logging

from odoo import fields, models

_logger = logging.getLogger(__name__)

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
    paypal_fee_known = fields.Boolean(
        readonly=True, help="Whether PayPal's fee is known (pulls and reports carry it)."
    )
    paypal_fee_line_id = fields.Many2one(
        "account.bank.statement.line",
        string="PayPal Fee Line",
        readonly=True,
        check_company=True,
        index="btree_not_null",
    )

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
                paypal_fee_known=paypal["fee_known"],
            )
        return result

    def _gateway_complete(self, vals):
        if self.backend_id.backend_type != "paypal":
            return super()._gateway_complete(vals)
        paypal = vals["paypal"]
        updates = {}
        posted = self.statement_line_id or self.paypal_fee_line_id
        if not self.paypal_category:
            updates.update(
                paypal_category=paypal["category"], paypal_event_code=paypal["event_code"]
            )
        if paypal["fee_known"] and not self.paypal_fee_known and not self.paypal_fee_line_id:
            updates.update(paypal_fee_known=True, fee_amount=float(vals["fee"]))
        if not posted and self.currency_id.compare_amounts(self.amount, float(vals["amount"])):
            updates["amount"] = float(vals["amount"])
        if updates:
            self.write(updates)

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

    def _gateway_post(self):
        return super()._gateway_post() | self._paypal_post()

    def _paypal_post(self):
        """Book the gross and the fee of each transaction once, in its currency's journal.

        Each booking is a statement line keyed ``paypal:<id>`` or
        ``paypal:<id>:fee`` in the journal (unique in the database, so a retry or
        a concurrent delivery cannot book it twice). Payment and refund lines then
        go through the matching engine to find their invoices.
        """
        vals_list, owners = [], []
        journals, accounts_of = {}, {}
        for tx in self.filtered(lambda t: t.backend_id.backend_type == "paypal"):
            if not tx._paypal_postable():
                continue
            backend = tx.backend_id
            if (backend, tx.currency_id) not in journals:
                journals[backend, tx.currency_id] = backend._gateway_journal(tx.currency_id)
            if backend not in accounts_of:
                accounts_of[backend] = backend._gateway_accounts()
            journal, accounts = journals[backend, tx.currency_id], accounts_of[backend]
            if not tx.statement_line_id and not tx.currency_id.is_zero(tx.amount):
                counterpart = accounts.get(COUNTERPART.get(tx.paypal_category or "other"))
                vals_list.append(
                    tx._gateway_line_vals(
                        journal, f"paypal:{tx.external_id}", tx.amount, counterpart
                    )
                )
                owners.append((tx, "statement_line_id"))
            if (
                tx.paypal_fee_known
                and not tx.paypal_fee_line_id
                and not tx.currency_id.is_zero(tx.fee_amount)
            ):
                vals_list.append(
                    tx._gateway_line_vals(
                        journal,
                        f"paypal:{tx.external_id}:fee",
                        -tx.fee_amount,
                        accounts["fee"],
                        label=self.env._("PayPal fee %(ref)s", ref=tx.external_id),
                    )
                )
                owners.append((tx, "paypal_fee_line_id"))
        if not vals_list:
            return self.env["account.bank.statement.line"]
        lines = self._gateway_create_lines(vals_list)
        for (tx, field_name), line in zip(owners, lines, strict=True):
            tx[field_name] = line
        to_match = self.env["account.bank.statement.line"].union(
            *(
                line
                for (tx, field_name), line in zip(owners, lines, strict=True)
                if field_name == "statement_line_id" and tx.paypal_category in MATCHED
            )
        )
        if to_match:
            self.env["finsync.matching"]._match_statement_lines(to_match)
        _logger.info("FinSync PayPal: %d lines booked", len(lines))
        return lines
