"""The one place FinSync writes its changes to Odoo's ledger.

Matching, payout settlement and every wizard go through ``finsync.ledger``:
statement lines locked, their suspense line replaced by counterparts
(reconciled items, write-offs, money in transit), the reconciliation plan,
duplicates removed, and the FinSync transactions moved to reconciled. No
other FinSync code deletes or rewrites journal items.
"""

import psycopg2.errors

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError


class FinsyncLedger(models.AbstractModel):
    """Writes FinSync's changes to bank statement entries (see the module docstring).

    ``_reconcile_entries`` takes entries, dicts with ``st_line``, ``allocations``
    (``[(move_line, amount or None)]``), and optionally ``writeoff_account``,
    ``writeoff_label``, ``partner``, ``explanation``; finsync_matching adds its
    own keys (``rule``, ``score``, ``mode``) and records them on the transaction.
    """

    _name = "finsync.ledger"
    _description = "FinSync Ledger Writes"

    # ------------------------------------------------------------------
    # Locks
    # ------------------------------------------------------------------
    @api.model
    def _lock_lines(self, st_lines):
        """Lock the statement lines, or say clearly that someone else holds them.

        A job is retried later; a person is told to try again in a moment.
        """
        if not st_lines:
            return
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM account_bank_statement_line"
                        " WHERE id IN %s FOR UPDATE NOWAIT",
                        tuple(st_lines.ids),
                    )
                )
        except psycopg2.errors.LockNotAvailable as err:
            if self.env.context.get("job_uuid"):
                raise RetryableJobError(
                    "Bank lines locked by another matching run", seconds=10
                ) from err
            raise UserError(
                self.env._(
                    "Someone else (a person or a background job) is matching these bank lines "
                    "right now. Try again in a moment."
                )
            ) from err
        st_lines.invalidate_recordset(["is_reconciled"])

    @api.model
    def _lock_unreconciled(self, st_line):
        """Lock one statement line; a clear error if it is reconciled already."""
        st_line.ensure_one()
        self._lock_lines(st_line)
        if st_line.is_reconciled:
            raise UserError(
                self.env._(
                    "The bank line %(line)s is reconciled already (by someone else meanwhile?). "
                    "Reload it to see how.",
                    line=st_line.payment_ref or st_line.move_id.name,
                )
            )

    # ------------------------------------------------------------------
    # Journal items
    # ------------------------------------------------------------------
    @api.model
    def _reconcile_entries(self, entries):
        """Reconcile many statement lines with their allocations at once (locked by the
        caller).

        The common entries (one company-currency item paid exactly) are written
        set-based (``finsync_ledger_fast.py``); the others through the ORM
        (``_reconcile_orm``). Then the transactions move to reconciled
        (``_mark_reconciled``). Nothing is written when one entry does not add
        up. Returns the transactions.
        """
        self._prefetch_entries(entries)
        fast, other = self._fast_entries(entries)
        if fast:
            self._reconcile_fast(fast)
        if other:
            self._reconcile_orm(other)
        return self._mark_reconciled(entries)

    @api.model
    def _prefetch_entries(self, entries):
        """Read the journal items, transactions and items of all entries at once.

        The items come one by one from their callers: read them in one query,
        not one per item, and let each keep the prefetch of all of them.
        """
        st_lines = self.env["account.bank.statement.line"].union(*(e["st_line"] for e in entries))
        st_lines.move_id.line_ids.mapped("account_id")  # prefetch every journal item once
        st_lines.finsync_transaction_ids.mapped("state")  # and every transaction
        all_items = self.env["account.move.line"].union(
            *(item for entry in entries for item, _amount in entry["allocations"])
        )
        all_items.mapped("amount_residual_currency")
        for entry in entries:
            entry["allocations"] = [
                (item.with_prefetch(all_items._ids), amount)
                for item, amount in entry["allocations"]
            ]

    @api.model
    def _reconcile_orm(self, entries):
        """Reconcile entries through Odoo's ORM: every suspense line is replaced by
        its counterparts (``_replace_suspense``), and every counterpart is
        reconciled with its item in one reconciliation plan."""
        all_items = self.env["account.move.line"].union(
            *(item for entry in entries for item, _amount in entry["allocations"])
        )
        replacements, items = [], []
        for entry in entries:
            liquidity, _suspense, other = entry["st_line"]._seek_for_lines()
            counterparts = self._prepare_counterparts(entry, liquidity, other)
            replacements.append((entry["st_line"], [vals for vals, _item in counterparts]))
            items += [item for _vals, item in counterparts]
        created = self._replace_suspense(replacements)
        # Each pair shares the prefetch of all of them: Odoo reads the fields of the
        # plan once for all pairs, not once per pair.
        prefetch = (all_items | created)._ids
        plan = [
            (item | new).with_prefetch(prefetch)
            for item, new in zip(items, created, strict=True)
            if item
        ]
        self._reconcile_plan(plan)

    @api.model
    def _replace_suspense(self, replacements):
        """Replace statement lines' suspense items by other journal items.

        ``replacements``: ``[(st_line, [journal item vals])]``. One unlink and
        one create for all of them, each entry's balance checked at the end.
        Statement entries have no payment terms or taxes to keep in sync, and
        their bank side does not change: the syncs are skipped. Returns the
        items created, in the order of the values.
        """
        st_lines = self.env["account.bank.statement.line"].union(
            *(st_line for st_line, _vals in replacements)
        )
        suspense_lines = self.env["account.move.line"]
        vals_list = []
        for st_line, counterparts in replacements:
            suspense_lines |= st_line._seek_for_lines()[1]
            vals_list += [{**vals, "move_id": st_line.move_id.id} for vals in counterparts]
        moves = st_lines.move_id
        lines = self.env["account.move.line"].with_context(
            force_delete=True,
            skip_readonly_check=True,
            skip_account_move_synchronization=True,
            skip_invoice_sync=True,
            skip_invoice_line_sync=True,
            tracking_disable=True,
        )
        if not self._analytic_models(st_lines.company_id):
            # No analytic distribution model can apply: say so, instead of Odoo
            # looking for one line by line (one query per line).
            for vals in vals_list:
                vals.setdefault("analytic_distribution", False)
        with moves._check_balanced({"records": moves}):
            suspense_lines.with_context(lines.env.context).unlink()
            created = lines.create(vals_list)
        return created

    @api.model
    def _analytic_models(self, companies):
        """Whether an analytic distribution model may apply to the companies' items."""
        # sudo: a count of the companies' configuration; nothing is read out of it.
        return bool(
            self.env["account.analytic.distribution.model"]
            .sudo()
            .search_count([("company_id", "in", [*companies.ids, False])], limit=1)
        )

    @api.model
    def _reconcile_plan(self, plan):
        """Reconcile each group of journal items of ``plan`` (a list of recordsets)."""
        if not plan:
            return
        # Odoo's ``_reconcile_plan`` without its sync of the entries' dynamic lines
        # (payment terms, taxes, roundings, discounts): a reconciliation changes
        # only residuals, and the exchange difference and cash basis entries it
        # creates are balanced by construction. That sync reads every item of every
        # invoice involved, half of the time of reconciling a statement.
        lines = self.env["account.move.line"]
        plan_list, all_lines = lines._optimize_reconciliation_plan(plan)
        moves = all_lines.move_id
        with moves._check_balanced({"records": moves}):
            lines._reconcile_plan_with_sync(plan_list, all_lines)

    @api.model
    def _undo_reconciliation(self, st_lines):
        """Undo the statement lines' reconciliation (Odoo's undo: the suspense line
        comes back), with this environment's context (e.g. the reason)."""
        st_lines.with_context(self.env.context).action_undo_reconciliation()

    @api.model
    def _remove_statement_lines(self, st_lines):
        """Delete statement lines (a duplicate posted twice) with their entries."""
        st_lines.unlink()

    @api.model
    def _prepare_counterparts(self, entry, liquidity, other):
        """``[(vals, item or None)]``: the journal items that replace a statement
        line's suspense line; raises when the items do not add up and there is no
        write-off account.

        Each allocation ``(item, amount)`` pays ``amount`` of the item's residual
        (positive, in the item's currency; None: all of it). Items in the bank
        journal's foreign currency are booked at the bank line's rate, so
        reconciling them leaves Odoo's exchange difference entry. What the items
        do not take goes to ``writeoff_account`` (with ``partner``).
        """
        st_line = entry["st_line"]
        company_currency = st_line.company_currency_id
        line_currency = liquidity.currency_id
        # Company currency per unit of the bank journal's currency, on this bank line.
        rate = liquidity.balance / liquidity.amount_currency if liquidity.amount_currency else 1.0
        label = st_line.payment_ref or "/"
        counterparts = []
        for item, amount in entry["allocations"]:
            residual = item.amount_residual_currency
            if amount is None:
                paid = residual
            else:
                currency = item.currency_id
                # Compared at the currency's precision: 0.004 EUR is nothing to allocate.
                if (
                    currency.compare_amounts(amount, abs(residual)) > 0
                    or currency.compare_amounts(amount, 0) <= 0
                ):
                    raise UserError(
                        self.env._(
                            "%(amount)s cannot be allocated to %(item)s: it has %(residual)s "
                            "left to pay.",
                            amount=item.currency_id.format(amount),
                            item=item.move_id.name,
                            residual=item.currency_id.format(abs(residual)),
                        )
                    )
                paid = amount if residual > 0 else -amount
            if item.currency_id == company_currency:
                balance = -paid
            elif item.currency_id == line_currency:
                balance = company_currency.round(-paid * rate)
            else:
                balance = company_currency.round(-item.amount_residual * paid / residual)
            vals = {
                "name": label,
                "account_id": item.account_id.id,
                "partner_id": item.partner_id.id,
                "balance": balance,
                "amount_currency": -paid,
                "currency_id": item.currency_id.id,
            }
            counterparts.append((vals, item))
        allocated = sum(vals["balance"] for vals, _item in counterparts)
        remainder = -company_currency.round(
            liquidity.balance + sum(other.mapped("balance")) + allocated
        )
        foreign = [vals for vals, item in counterparts if item.currency_id == line_currency]
        if (
            line_currency != company_currency
            and foreign
            and len(foreign) == len(counterparts)
            and line_currency.is_zero(
                liquidity.amount_currency
                + sum(other.mapped("amount_currency"))
                + sum(vals["amount_currency"] for vals in foreign)
            )
        ):
            # Paid in full in the bank's currency: a cent left in company currency is
            # rounding of the parts, not money, and belongs to the last part.
            foreign[-1]["balance"] = company_currency.round(foreign[-1]["balance"] + remainder)
            remainder = 0.0
        if not company_currency.is_zero(remainder):
            writeoff_account = entry.get("writeoff_account")
            if not writeoff_account:
                raise UserError(
                    self.env._(
                        "The selected items leave %(amount)s of the bank line %(line)s "
                        "unallocated: choose a write-off account or change the amounts.",
                        amount=company_currency.format(remainder),
                        line=label,
                    )
                )
            partner = entry.get("partner")
            vals = {
                "name": (entry.get("writeoff_label") or entry.get("explanation") or label)[:200],
                "account_id": writeoff_account.id,
                "partner_id": partner.id if partner else False,
                "balance": remainder,
                "amount_currency": (
                    remainder
                    if line_currency == company_currency
                    else line_currency.round(remainder / rate)
                ),
                "currency_id": line_currency.id,
            }
            counterparts.append((vals, None))
        return counterparts

    # ------------------------------------------------------------------
    # Transactions
    # ------------------------------------------------------------------
    @api.model
    def _entry_transaction(self, entry):
        """The settled FinSync transaction of an entry's statement line (or none)."""
        return entry["st_line"].finsync_transaction_ids.filtered(lambda tx: tx.state == "settled")[
            :1
        ]

    @api.model
    def _mark_reconciled(self, entries):
        """Each entry's settled transaction moves to reconciled, its history line
        saying the entry's ``explanation``: one transition for all, then each
        history line gets its own reason. Returns the transactions."""
        default = self.env._("Reconciled by %(user)s", user=self.env.user.name)
        rows = []
        for entry in entries:
            transaction = self._entry_transaction(entry)
            if transaction:
                rows.append((transaction, entry.get("explanation") or default))
        transactions = self.env["finsync.transaction"].union(*(row[0] for row in rows))
        if not transactions:
            return transactions
        transactions._transition("reconciled", reason=rows[0][1] if len(rows) == 1 else None)
        if len(rows) > 1:
            self.env["finsync.transaction.transition"].flush_model()
            self.env.cr.execute(
                SQL(
                    """
                    UPDATE finsync_transaction_transition tr SET reason = v.reason
                      FROM (VALUES %s) AS v(transaction_id, reason)
                     WHERE tr.id = (SELECT max(id) FROM finsync_transaction_transition
                                     WHERE transaction_id = v.transaction_id)
                    """,
                    SQL(", ").join(SQL("(%s, %s)", tx.id, reason) for tx, reason in rows),
                )
            )
            transactions.transition_ids.invalidate_recordset(["reason"])
        return transactions
