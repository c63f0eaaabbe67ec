"""Reconciling in the ledger for ``finsync.matching``: statement lines locked,
their suspense lines replaced by counterparts reconciled with the open items,
and their FinSync transactions moved to reconciled."""

import logging

import psycopg2.errors

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.queue_job.exception import RetryableJobError

_logger = logging.getLogger(__name__)


class FinsyncMatching(models.AbstractModel):
    """Reconciles decisions in the ledger (see ``finsync_matching.py`` for deciding)."""

    _inherit = "finsync.matching"

    @api.model
    def _reconcile_decisions(self, to_reconcile):
        """Reconcile many engine decisions in one set-based pass; if one of them
        cannot be written, each is tried on its own. Returns the ones that failed
        as ``(st_line, decision, rule, error)``."""
        if not to_reconcile:
            return []
        try:
            with self.env.cr.savepoint():
                self._reconcile_entries([entry for *_args, entry in to_reconcile])
            return []
        except UserError as err:
            _logger.warning("FinSync matching: a batch failed (%s), reconciling line by line", err)
        failed = []
        for st_line, decision, rule, entry in to_reconcile:
            try:
                with self.env.cr.savepoint():
                    self._reconcile_entries([entry])
            except UserError as err:
                failed.append((st_line, decision, rule, str(err)))
        return failed

    @api.model
    def _decision_entry(self, st_line, move_lines, decision, rule):
        """An engine decision as a ``_reconcile_entries`` entry: each item for what the
        decision pays of it (all that is left, or a part), the difference written off.
        Amounts are explicit: an earlier line of the same batch may have paid part
        of an item that the ledger does not show yet."""
        paid = {item.id: abs(float(decision.paid(item))) for item in decision.items}
        return {
            "st_line": st_line,
            "allocations": [(line, paid[line.id]) for line in move_lines],
            "writeoff_account": rule.writeoff_account_id if decision.difference else None,
            "explanation": decision.explanation,
            "rule": rule,
            "score": decision.score,
            "mode": "auto",
        }

    @api.model
    def _reconcile(self, st_line, move_lines, decision, rule):
        """Reconcile one engine decision now (see ``_decision_entry``)."""
        self._lock_unreconciled(st_line)
        return self._reconcile_entries([self._decision_entry(st_line, move_lines, decision, rule)])

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

    @api.model
    def _reconcile_allocations(
        self,
        st_line,
        allocations,
        writeoff_account=None,
        writeoff_label=None,
        explanation=None,
        rule=None,
        score=0,
        partner=None,
        mode="manual",
    ):
        """Reconcile a statement line with chosen open items, partially if asked.

        ``allocations`` is a list of ``(move_line, amount)``: ``amount`` is the part
        of the item's residual this bank line pays, positive, in the item's currency,
        or ``None`` for the whole residual. Items in the bank journal's foreign
        currency are booked at the bank line's rate, so reconciling them leaves
        Odoo's exchange difference entry. What the items do not take goes to
        ``writeoff_account`` (with ``partner``, e.g. a receivable for a payment on
        account); without one, a remainder is an error and nothing is written.
        The suspense line is replaced by the counterparts, each reconciled with its
        item in one reconciliation plan; the FinSync transaction moves to reconciled
        with ``explanation`` and ``mode`` (auto: a rule alone; confirmed: a proposal
        confirmed; manual: chosen by a person) and its matching exceptions close.
        Returns the transaction.
        """
        self._lock_unreconciled(st_line)
        return self._reconcile_entries(
            [
                {
                    "st_line": st_line,
                    "allocations": allocations,
                    "writeoff_account": writeoff_account,
                    "writeoff_label": writeoff_label,
                    "explanation": explanation,
                    "rule": rule,
                    "score": score,
                    "partner": partner,
                    "mode": mode,
                }
            ]
        )

    @api.model
    def _reconcile_entries(self, entries):
        """``_reconcile_allocations`` for many statement lines at once (locked by the caller).

        ``entries`` are dicts of ``_reconcile_allocations``' arguments. Set-based:
        the journal items of every line are read once, every suspense line is
        replaced by its counterparts in one unlink and one create (balance checked
        per entry at the end, the statement lines left alone since their bank side
        does not change), and every counterpart is reconciled with its item in one
        reconciliation plan; then the transactions move to reconciled. Nothing is
        written when one entry does not add up. Returns the transactions.
        """
        st_lines = self.env["account.bank.statement.line"].union(*(e["st_line"] for e in entries))
        st_lines.move_id.line_ids.mapped("account_id")  # prefetch every journal item once
        suspense_lines = self.env["account.move.line"]
        vals_list, items = [], []
        for entry in entries:
            liquidity, suspense, other = entry["st_line"]._seek_for_lines()
            suspense_lines |= suspense
            for vals, item in self._prepare_counterparts(entry, liquidity, other):
                vals_list.append({**vals, "move_id": entry["st_line"].move_id.id})
                items.append(item)
        moves = st_lines.move_id
        # Statement entries have no payment terms or taxes to keep in sync, and
        # their bank side does not change: the syncs are skipped.
        lines = self.env["account.move.line"].with_context(
            force_delete=True,
            skip_readonly_check=True,
            skip_account_move_synchronization=True,
            skip_invoice_sync=True,
            skip_invoice_line_sync=True,
            tracking_disable=True,
        )
        with moves._check_balanced({"records": moves}):
            suspense_lines.with_context(lines.env.context).unlink()
            created = lines.create(vals_list)
        plan = [item | new for item, new in zip(items, created, strict=True) if item]
        if plan:
            self.env["account.move.line"]._reconcile_plan(plan)
        return self._mark_reconciled(entries)

    @api.model
    def _prepare_counterparts(self, entry, liquidity, other):
        """``[(vals, item or None)]``: the journal items that replace a statement
        line's suspense line (see ``_reconcile_allocations``); raises when the items
        do not add up and there is no write-off account."""
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

    @api.model
    def _mark_reconciled(self, entries):
        """Each entry's transaction moves to reconciled with its rule, score, reason,
        invoices and partner. Set-based: one UPDATE from a VALUES list and one
        INSERT of the invoice links for all of them (no tracked or stored computed
        field depends on these columns; the cache is invalidated and dependents
        told), one transition for all, then each history line gets its own reason."""
        default = self.env._("Reconciled by %(user)s", user=self.env.user.name)
        rows = []
        for entry in entries:
            transaction = entry["st_line"].finsync_transaction_ids.filtered(
                lambda tx: tx.state == "settled"
            )[:1]
            if not transaction:
                continue
            items = self.env["account.move.line"].union(*(i for i, _a in entry["allocations"]))
            partner = entry.get("partner") or items.partner_id[:1]
            rows.append(
                (
                    transaction,
                    entry.get("rule"),
                    entry.get("mode") or "manual",
                    entry.get("score") or 0,
                    entry.get("explanation") or default,
                    partner.commercial_partner_id.id or None,
                    items.move_id.ids,
                )
            )
        transactions = self.env["finsync.transaction"].union(*(row[0] for row in rows))
        if not transactions:
            return transactions
        self.env.flush_all()
        values = SQL(", ").join(
            SQL(
                "(%s, %s::int, %s, %s::int, %s, %s::int)",
                tx.id,
                rule.id if rule else None,
                mode,
                score,
                explanation,
                partner_id,
            )
            for tx, rule, mode, score, explanation, partner_id, _moves in rows
        )
        self.env.cr.execute(
            SQL(
                """
                UPDATE finsync_transaction tx
                   SET match_rule_id = v.rule_id, match_mode = v.mode, match_score = v.score,
                       match_explanation = v.explanation, partner_id = v.partner_id,
                       write_uid = %s, write_date = now() at time zone 'UTC'
                  FROM (VALUES %s) AS v(id, rule_id, mode, score, explanation, partner_id)
                 WHERE tx.id = v.id
                """,
                self.env.uid,
                values,
            )
        )
        links = {"invoice_ids": [], "proposed_line_ids": [], "candidate_line_ids": []}
        for tx, *_vals, move_ids in rows:
            links["invoice_ids"] += [(tx.id, move_id) for move_id in move_ids]
        for fname, pairs in links.items():
            field = transactions._fields[fname]
            self.env.cr.execute(
                SQL(
                    "DELETE FROM %s WHERE %s = ANY(%s)",
                    SQL.identifier(field.relation),
                    SQL.identifier(field.column1),
                    transactions.ids,
                )
            )
            if pairs:
                self.env.cr.execute(
                    SQL(
                        "INSERT INTO %s (%s, %s) VALUES %s",
                        SQL.identifier(field.relation),
                        SQL.identifier(field.column1),
                        SQL.identifier(field.column2),
                        SQL(", ").join(SQL("(%s, %s)", a, b) for a, b in pairs),
                    )
                )
        fnames = [
            "match_rule_id",
            "match_mode",
            "match_score",
            "match_explanation",
            "partner_id",
            *links,
        ]
        transactions.invalidate_recordset(fnames)
        transactions.modified(fnames)
        transactions._transition("reconciled", reason=rows[0][4] if len(rows) == 1 else None)
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
                    SQL(", ").join(SQL("(%s, %s)", row[0].id, row[4]) for row in rows),
                )
            )
            transactions.transition_ids.invalidate_recordset(["reason"])
        for tx, *_vals, explanation, _partner, _moves in rows:
            if tx.exception_ids:
                self._close_matching_exceptions(tx, explanation)
        return transactions
