import logging

from odoo import fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Fewer plain lines than this are posted through the ORM (see _gateway_create_lines).
BULK_MIN_LINES = 20


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
    gateway_fee_known = fields.Boolean(
        string="Fee Known",
        readonly=True,
        help="Whether the gateway told this transaction's fee (Stripe's balance "
        "transaction, PayPal's pulls and reports).",
    )
    gateway_fee_line_id = fields.Many2one(
        "account.bank.statement.line",
        string="Fee Line",
        readonly=True,
        check_company=True,
        index="btree_not_null",
        help="The clearing journal line of the fee the gateway kept.",
    )

    # ------------------------------------------------------------------
    # What every gateway does with the transactions of an event
    # ------------------------------------------------------------------
    def _gateway_apply(self, event, vals_list, source):
        """Upsert what a gateway event tells, complete what was known, post it, and
        create or update the settlements of the payouts it tells.

        ``source`` is the key of the gateway's own values in each of ``vals_list``
        ("stripe", "paypal"). Creation and state moves go through
        ``_upsert_canonical`` (stale updates ignored, so out-of-order deliveries
        end in the same state). One event may tell the same transaction twice (a
        charge and its refunds list): the last telling wins, as the gateway's
        objects are snapshots. The rows are locked, so two deliveries about one
        transaction never post it twice. Returns the transactions touched.
        """
        if not vals_list:
            return self.browse()
        backend = event.backend_id
        by_id = {vals["external_id"]: vals for vals in vals_list}
        vals_list = list(by_id.values())
        self._upsert_canonical(event, vals_list)
        transactions = self.search(
            [("backend_id", "=", backend.id), ("external_id", "in", list(by_id))]
        )
        self._gateway_lock(transactions)
        for tx in transactions:
            tx._gateway_complete(by_id[tx.external_id])
        self._gateway_link_reversals(
            backend, transactions, {key: vals[source]["reverses"] for key, vals in by_id.items()}
        )
        batch = self.env.context.get("finsync_gateway_batch")
        if batch:
            # Events processed together book at the end (finsync.event._process).
            batch.told.append((transactions, by_id))
            return transactions
        transactions._gateway_post()
        self.env["finsync.settlement"]._gateway_sync_payouts(
            transactions.filtered(lambda tx: tx.kind == "payout"), by_id
        )
        return transactions

    def _gateway_complete(self, vals):
        """Complete a known transaction with what a later telling adds (a fee, an amount
        while nothing is posted...); each gateway completes its own."""
        return None

    def _gateway_completed_amounts(self, vals, fee_known):
        """What a later telling changes in every gateway's transaction: its fee once
        told (as long as no fee is booked), its amount as long as nothing is booked."""
        self.ensure_one()
        updates = {}
        if fee_known and not self.gateway_fee_known and not self.gateway_fee_line_id:
            updates.update(gateway_fee_known=True, fee_amount=float(vals["fee"]))
        posted = self.statement_line_id or self.gateway_fee_line_id
        if not posted and self.currency_id.compare_amounts(self.amount, float(vals["amount"])):
            updates["amount"] = float(vals["amount"])
        return updates

    def _gateway_gross_and_fee(self, key, role, fee_label):
        """The bookings of a transaction whose money moved: its gross, keyed ``key``
        and booked against ``role``, and once told its fee, keyed ``<key>:fee``."""
        self.ensure_one()
        bookings = []
        if not self.statement_line_id and not self.currency_id.is_zero(self.amount):
            bookings.append(("statement_line_id", key, self.amount, role, None))
        if (
            self.gateway_fee_known
            and not self.gateway_fee_line_id
            and not self.currency_id.is_zero(self.fee_amount)
        ):
            bookings.append(
                ("gateway_fee_line_id", f"{key}:fee", -self.fee_amount, "fee", fee_label)
            )
        return bookings

    def _gateway_lock(self, transactions):
        """Lock the rows: two deliveries about one transaction never post it twice.

        NO KEY UPDATE: inserts referencing the transactions (their history) are not
        blocked; NOWAIT: the loser fails at once and its job is retried.
        """
        if transactions:
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM finsync_transaction WHERE id IN %s FOR NO KEY UPDATE NOWAIT",
                    tuple(transactions.ids),
                )
            )
            transactions.invalidate_recordset()

    def _gateway_link_reversals(self, backend, transactions, reverses):
        """Link each transaction to the one it reverses.

        ``reverses`` maps a transaction's external id to the external id of the
        transaction it reverses (refunds, chargebacks, returned payouts).
        """
        wanted = {
            tx: reverses[tx.external_id]
            for tx in transactions
            if reverses.get(tx.external_id) and not tx.reversed_transaction_id
        }
        if not wanted:
            return
        originals = {
            tx.external_id: tx
            for tx in self.search(
                [("backend_id", "=", backend.id), ("external_id", "in", list(set(wanted.values())))]
            )
        }
        for tx, original_id in wanted.items():
            if original_id in originals:
                tx.reversed_transaction_id = originals[original_id]

    # ------------------------------------------------------------------
    # Posting to the clearing journal
    # ------------------------------------------------------------------
    def _gateway_bookings(self):
        """What this transaction still has to book, or None when its money has not moved.

        A list of ``(field, key, amount, account role, label)``: the statement
        line is stored in ``field`` of the transaction, keyed ``key`` in the
        journal, booked against the connector's account of that role ("fee",
        "dispute", "transit"; None: the suspense account), labelled ``label``
        (None: the transaction's text). Each gateway says its own.
        """
        return None

    def _gateway_to_match(self):
        """Whether this transaction's main line goes through the matching engine."""
        return False

    def _gateway_sale_account(self):
        """The account a sale's main line is booked against instead of being matched.

        Charges and their refunds of a connector with a *Sales Without Invoices*
        account: their invoices are not in Odoo, so nothing is left in the
        suspense account for the matching engine (nor an exception per charge).
        """
        self.ensure_one()
        if self.kind in ("charge", "refund") and self._gateway_to_match():
            return self.backend_id.gateway_sales_account_id
        return self.env["account.account"]

    def _gateway_post(self):
        """Book each transaction's lines once, in its currency's clearing journal.

        Each booking is a statement line keyed in the journal (unique in the
        database, so a retry or a concurrent delivery cannot book it twice). The
        journal of a currency is opened with the first money that moves in it.
        Main lines of transactions that pay or refund invoices are then handed
        to matching (``_finsync_lines_posted``: its job runs after this one).
        Returns the statement lines created.
        """
        vals_list, owners = [], []
        journals, accounts_of = {}, {}
        for tx in self:
            bookings = tx._gateway_bookings()
            if bookings is None:
                continue
            backend = tx.backend_id
            if (backend, tx.currency_id) not in journals:
                journals[backend, tx.currency_id] = backend._gateway_journal(tx.currency_id)
            if backend not in accounts_of:
                accounts_of[backend] = backend._gateway_accounts()
            journal, accounts = journals[backend, tx.currency_id], accounts_of[backend]
            sale_account = tx._gateway_sale_account()
            for field_name, key, amount, role, label in bookings:
                counterpart = accounts.get(role)
                main = field_name == "statement_line_id" and role is None
                if main and sale_account:
                    counterpart = sale_account
                vals_list.append(
                    tx._gateway_line_vals(journal, key, amount, counterpart, label=label)
                )
                # Left in suspense for the matching engine: it finds the invoice.
                owners.append((tx, field_name, main and not counterpart and tx._gateway_to_match()))
        if not vals_list:
            return self.env["account.bank.statement.line"]
        lines = self._gateway_create_lines(vals_list)
        for (tx, field_name, _match), line in zip(owners, lines, strict=True):
            tx._write_protected({field_name: line.id})
        to_match = self.env["account.bank.statement.line"].union(
            *(line for (_tx, _field, match), line in zip(owners, lines, strict=True) if match)
        )
        if to_match:
            to_match._finsync_lines_posted()
        _logger.info("FinSync gateways: %d lines booked", len(lines))
        return lines

    def _gateway_line_vals(self, journal, key, amount, counterpart, label=None):
        """A clearing journal line of this transaction, keyed ``key`` in the journal.

        ``counterpart``: the account the line is booked against (none: the
        suspense account, where the matching engine looks for the invoice).
        """
        label = label or self.remittance or self.bank_reference or self.external_id
        vals = {
            "journal_id": journal.id,
            "date": self.booking_date,
            "payment_ref": label[:2000],
            "amount": amount,
            "partner_name": self.counterparty_name,
            "finsync_import_id": key,
        }
        if counterpart:
            vals["counterpart_account_id"] = counterpart.id
        return vals

    def _gateway_create_lines(self, vals_list):
        """Posted statement lines for ``vals_list``, in its order.

        A pulled page, a report or the webhook events one inbox job processes
        together bring many lines left in the suspense account for the matching
        engine: they go through finsync_bank's set-based posting, which writes
        the rows Odoo's ``create`` would (and falls back to it whenever the
        result is not certain). A few lines (one event processed alone), and
        lines booked against an account (fees, disputes, payouts), go through
        ``create``, whose numbering waits for a concurrent job instead of
        failing it (the set-based path retries its job after a numbering
        conflict).
        """
        StLine = self.env["account.bank.statement.line"].with_context(tracking_disable=True)
        plain = [i for i, vals in enumerate(vals_list) if "counterpart_account_id" not in vals]
        if len(plain) < BULK_MIN_LINES:
            plain = []
        in_bulk = set(plain)
        other = [i for i in range(len(vals_list)) if i not in in_bulk]
        ids = {}
        if plain:
            created = self.env["finsync.statement.line.bulk"]._create_posted(
                [vals_list[i] for i in plain]
            )
            ids.update(zip(plain, created.ids, strict=True))
        if other:
            created = StLine.create([vals_list[i] for i in other])
            ids.update(zip(other, created.ids, strict=True))
        return StLine.browse([ids[i] for i in range(len(vals_list))])
