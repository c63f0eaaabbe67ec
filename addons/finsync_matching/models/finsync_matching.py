import logging
from decimal import Decimal

import psycopg2.errors

from odoo import Command, api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.base.models.res_bank import sanitize_account_number
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import identity_exact

from ..engine.matcher import STAGES, BankLine, OpenItem, OpenItemIndex, match

_logger = logging.getLogger(__name__)

RECEIVABLE_PAYABLE = ("asset_receivable", "liability_payable")
# Lines matched by one job: the open-item index is built once per job.
MATCHING_CHUNK = 1000
# What an undecided line becomes in the exception queue (see ``_exception_type``).
MATCHING_EXCEPTION_TYPES = (
    "unmatched",
    "ambiguous",
    "amount_mismatch",
    "missing_reference",
    "proposal",
)


def _decimal(value, currency):
    """An Odoo float amount as an exact Decimal with the currency's decimals."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-currency.decimal_places))


class FinsyncMatching(models.AbstractModel):
    """Runs the matching engine over bank statement lines and acts on its decisions.

    Steps an integrator may override one at a time: ``_open_items`` (one query
    for every open receivable and payable line of the company), ``_bank_line``
    (statement line -> engine input), ``_apply_decision`` (reconcile in the
    ledger, or collect the line for ``_open_exceptions``, which opens one exception
    per line, in one batch per type, with the candidates and the reason).
    """

    _name = "finsync.matching"
    _description = "FinSync Matching"

    @api.model
    def _match_statement_lines(self, st_lines):
        """Match every unreconciled statement line; returns {action: count}.

        The lines are locked first: a concurrent run on the same lines fails
        fast with a lock error (its job is retried) instead of reconciling a
        line twice; after the lock, lines reconciled meanwhile are skipped.
        Every line is tried by reference first; the lines no reference explains
        are then tried by partner and amount, against what the first stage left
        open (the index is settled after each reconciliation).
        """
        self._lock_lines(st_lines)
        st_lines = st_lines.filtered(lambda line: not line.is_reconciled)
        counts = {}
        for company in st_lines.company_id:
            lines = st_lines.filtered(lambda line, c=company: line.company_id == c)
            rules = self.env["finsync.match.rule"].search([("company_id", "=", company.id)])
            if not rules:
                continue
            engine_rules = [(rule, rule._to_engine_rule()) for rule in rules]
            index = self._open_items(company)
            bank_lines = self._bank_lines(lines)
            undecided, to_reconcile = {}, []
            pending = lines
            for stage in STAGES:
                last = stage == STAGES[-1]
                left = []
                for st_line in pending:
                    decision, rule = self._decide(
                        bank_lines[st_line.id], index, engine_rules, (stage,)
                    )
                    if decision.action == "none" and not last:
                        left.append(st_line.id)
                        continue
                    self._apply_decision(st_line, decision, rule, undecided, index, to_reconcile)
                    counts[decision.action] = counts.get(decision.action, 0) + 1
                pending = lines.browse(left)
            failed = self._reconcile_decisions(to_reconcile)
            for st_line, decision, rule, error in failed:
                counts["reconcile"] -= 1
                counts["failed"] = counts.get("failed", 0) + 1
                decision.action = "propose"
                decision.reasons.append(error)
                self._apply_decision(st_line, decision, rule, undecided)
            self._open_exceptions(undecided)
        _logger.info("FinSync matching: %s", counts)
        return counts

    @api.model
    def _enqueue_matching(self, st_lines, chunk_size=MATCHING_CHUNK):
        """Match the statement lines in jobs of ``chunk_size`` lines; returns the jobs."""
        jobs = []
        for start in range(0, len(st_lines), chunk_size):
            chunk = st_lines[start : start + chunk_size]
            jobs.append(
                self.with_delay(
                    channel="root.finsync.matching",
                    description=self.env._("Match %(count)s bank lines", count=len(chunk)),
                    identity_key=identity_exact,
                )._match_job(chunk.ids)
            )
        return jobs

    @api.model
    def _match_job(self, st_line_ids):
        """Job: match these statement lines (run again, it skips what is reconciled)."""
        st_lines = self.env["account.bank.statement.line"].browse(st_line_ids).exists()
        counts = self._match_statement_lines(st_lines)
        return self.env._(
            "%(reconciled)s of %(count)s lines reconciled",
            reconciled=counts.get("reconcile", 0),
            count=len(st_lines),
        )

    @api.model
    def _decide(self, bank_line, index, engine_rules, stages=STAGES):
        """The first rule's decision that is not "none", with that rule (a record)."""
        decision = None
        for rule, engine_rule in engine_rules:
            decision = match(bank_line, index, engine_rule, stages)
            if decision.action != "none":
                return decision, rule
        return decision, engine_rules[-1][0]

    @api.model
    def _open_items(self, company):
        """The engine's index over the company's open receivable and payable lines.

        One query, read straight into the engine's items: building it through the
        ORM cost seconds per thousand items, and every matching job builds it.
        """
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT aml.id, move.name, move.payment_reference, move.ref,
                       aml.amount_residual_currency, currency.name, currency.decimal_places,
                       COALESCE(partner.commercial_partner_id, aml.partner_id), aml.date
                  FROM account_move_line aml
                  JOIN account_move move ON move.id = aml.move_id
                  JOIN account_account account ON account.id = aml.account_id
                  JOIN res_currency currency ON currency.id = aml.currency_id
             LEFT JOIN res_partner partner ON partner.id = aml.partner_id
                 WHERE aml.company_id = %s
                   AND account.account_type IN %s
                   AND aml.parent_state = 'posted'
                   AND aml.reconciled IS NOT TRUE
                   AND aml.amount_residual_currency != 0
                """,
                company.id,
                RECEIVABLE_PAYABLE,
            )
        )
        return OpenItemIndex(
            [
                OpenItem(
                    id=line_id,
                    reference=name,
                    amount=Decimal(str(residual)).quantize(Decimal(1).scaleb(-decimals)),
                    currency=currency,
                    partner_id=partner_id,
                    date=date,
                    other_references=tuple(ref for ref in (payment_reference, ref) if ref),
                )
                for (
                    line_id,
                    name,
                    payment_reference,
                    ref,
                    residual,
                    currency,
                    decimals,
                    partner_id,
                    date,
                ) in self.env.cr.fetchall()
            ]
        )

    @api.model
    def _payers(self, st_lines):
        """Who pays: {sanitized account number: partner id}, {lower-case name: partner id}.

        Only identities that point to one commercial partner count; two queries
        for all the lines.
        """
        numbers = {sanitize_account_number(number) for number in st_lines.mapped("account_number")}
        numbers.discard(False)
        numbers.discard("")
        by_account = {}
        if numbers:
            self.env.cr.execute(
                SQL(
                    """
                    SELECT bank.sanitized_acc_number,
                           array_agg(DISTINCT partner.commercial_partner_id)
                      FROM res_partner_bank bank
                      JOIN res_partner partner ON partner.id = bank.partner_id
                     WHERE bank.sanitized_acc_number IN %s AND bank.active
                       AND (partner.company_id IS NULL OR partner.company_id IN %s)
                     GROUP BY bank.sanitized_acc_number
                    """,
                    tuple(numbers),
                    tuple(st_lines.company_id.ids),
                )
            )
            by_account = {number: ids[0] for number, ids in self.env.cr.fetchall() if len(ids) == 1}
        names = {name.strip().lower() for name in st_lines.mapped("partner_name") if name}
        by_name = {}
        if names:
            self.env.cr.execute(
                SQL(
                    """
                    SELECT lower(name), array_agg(DISTINCT commercial_partner_id)
                      FROM res_partner
                     WHERE lower(name) IN %s AND active AND parent_id IS NULL
                       AND (company_id IS NULL OR company_id IN %s)
                     GROUP BY lower(name)
                    """,
                    tuple(names),
                    tuple(st_lines.company_id.ids),
                )
            )
            by_name = {name: ids[0] for name, ids in self.env.cr.fetchall() if len(ids) == 1}
        return by_account, by_name

    @api.model
    def _bank_lines(self, st_lines):
        """{statement line id: engine ``BankLine``}; the payer from the line, else its
        counterparty account, else its counterparty name."""
        by_account, by_name = self._payers(st_lines)
        bank_lines = {}
        for st_line in st_lines:
            transaction = st_line.finsync_transaction_ids[:1]
            texts = (
                st_line.payment_ref,
                transaction.remittance,
                transaction.structured_reference,
                transaction.end_to_end_id,
            )
            partner_id, source = st_line.partner_id.commercial_partner_id.id, "statement"
            if not partner_id:
                number = sanitize_account_number(st_line.account_number)
                partner_id, source = by_account.get(number), "account"
            if not partner_id:
                name = (st_line.partner_name or "").strip().lower()
                partner_id, source = by_name.get(name), "name"
            currency = st_line.journal_id.currency_id or st_line.company_id.currency_id
            bank_lines[st_line.id] = BankLine(
                id=st_line.id,
                amount=_decimal(st_line.amount, currency),
                currency=currency.name,
                texts=tuple(text for text in texts if text),
                partner_id=partner_id or None,
                date=st_line.date,
                partner_source=source if partner_id else "",
            )
        return bank_lines

    @api.model
    def _apply_decision(self, st_line, decision, rule, undecided, index=None, to_reconcile=None):
        """Reconcile a sure match (now, or later with ``to_reconcile`` when given) and
        settle it in ``index``; collect the rest in ``undecided`` (by exception type)."""
        move_lines = self.env["account.move.line"].browse([item.id for item in decision.items])
        can_write_off = not decision.difference or rule.writeoff_account_id
        if decision.action == "reconcile" and can_write_off:
            if to_reconcile is None:
                self._reconcile(st_line, move_lines, decision, rule)
            else:
                # The entry is taken now: settling the index changes what is left.
                entry = self._decision_entry(st_line, move_lines, decision, rule)
                to_reconcile.append((st_line, decision, rule, entry))
            if index is not None:
                index.settle(decision)
            return
        transaction = st_line.finsync_transaction_ids[:1]
        if transaction:
            exception_type = self._exception_type(decision, rule)
            undecided.setdefault(exception_type, []).append(
                (transaction, st_line, decision, move_lines, rule)
            )

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
    def _exception_type(self, decision, rule):
        """The queue an undecided line goes to, and so its owner and SLA."""
        if decision.action == "ambiguous":
            return "ambiguous"
        if decision.action == "none" or not decision.items:
            return "unmatched"
        if not decision.amount_agrees or (decision.difference and not rule.writeoff_account_id):
            return "amount_mismatch"
        if decision.basis != "reference":
            return "missing_reference"
        return "proposal"

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

    @api.model
    def _close_matching_exceptions(self, transactions, explanation):
        """A line matched at last closes what was open about it not matching."""
        open_exceptions = transactions.exception_ids.filtered(
            lambda exc: exc.is_open and exc.exception_type in MATCHING_EXCEPTION_TYPES
        )
        if open_exceptions:
            # sudo: matching runs as whoever posted the lines; closing needs an accountant.
            open_exceptions.sudo()._close(
                self.env.ref("finsync_base.reason_matched"),
                note=self.env._("Matched: %(reason)s", reason=explanation),
            )

    @api.model
    def _open_exceptions(self, undecided):
        """One exception per undecided line, opened per type in one batch."""
        exceptions = self.env["finsync.exception"]
        for exception_type, entries in undecided.items():
            vals_by_tx = {
                transaction.id: self._exception_vals(transaction, st_line, decision, move_lines)
                for transaction, st_line, decision, move_lines, _rule in entries
            }
            transactions = self.env["finsync.transaction"].browse(list(vals_by_tx))
            exceptions._open_for_records(
                exception_type, transactions, lambda tx, vals=vals_by_tx: vals[tx.id]
            )
            # Only a proposal whose amount agrees can be confirmed as it stands.
            proposed = exception_type in ("proposal", "missing_reference")
            for transaction, _st_line, decision, move_lines, rule in entries:
                transaction.write(
                    {
                        "match_rule_id": rule.id,
                        "match_score": decision.score,
                        "match_explanation": decision.explanation,
                        "proposed_line_ids": [Command.set(move_lines.ids if proposed else [])],
                        "candidate_line_ids": [Command.set([] if proposed else move_lines.ids)],
                    }
                )

    @api.model
    def _exception_vals(self, transaction, st_line, decision, move_lines):
        candidates = ", ".join(move_lines.move_id.mapped("name")) or self.env._("none")
        return {
            "name": self.env._(
                "%(label)s: %(reason)s",
                label=st_line.payment_ref or transaction.name,
                reason=decision.explanation,
            ),
            "description": self.env._("Candidates: %(candidates)s", candidates=candidates),
            "backend_id": transaction.backend_id.id,
            "transaction_ids": [Command.set(transaction.ids)],
        }
