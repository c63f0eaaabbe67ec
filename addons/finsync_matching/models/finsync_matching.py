import logging
from decimal import Decimal

from odoo import SUPERUSER_ID, Command, api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.base.models.res_bank import sanitize_account_number
from odoo.addons.queue_job.job import identity_exact

from ..engine.matcher import STAGES, BankLine, OpenItem, OpenItemIndex, match

_logger = logging.getLogger(__name__)

RECEIVABLE_PAYABLE = ("asset_receivable", "liability_payable")
# Lines matched by one job: the open-item index is built once per job.
MATCHING_CHUNK = 1000
# Lines one journal matching job takes; it queues the next job for the rest.
MATCHING_JOB_LINES = 10 * MATCHING_CHUNK
# The channel of matching jobs (declared in data/queue_job_data.xml).
MATCHING_CHANNEL = "root.finsync.matching"
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
    def _match_statement_lines(self, st_lines, indexes=None):
        """Match every unreconciled statement line; returns {action: count}.

        ``indexes`` (a dict, by company id) keeps the open-item indexes for the
        next call in the same transaction: a job matching many chunks builds each
        company's index once, settled as lines are reconciled.

        Lines whose counterpart FinSync already knows (``_finsync_match_known``:
        a gateway payout's bank line) are reconciled first, without the rules.
        The lines are locked first: a concurrent run on the same lines fails
        fast with a lock error (its job is retried) instead of reconciling a
        line twice; after the lock, lines reconciled meanwhile are skipped.
        Every line is tried by reference first; the lines no reference explains
        are then tried by partner and amount, against what the first stage left
        open (the index is settled after each reconciliation).
        """
        paired = st_lines._finsync_match_known()
        st_lines -= paired
        self._lock_lines(st_lines)
        st_lines = st_lines.filtered(lambda line: not line.is_reconciled)
        st_lines -= self._lines_waiting_for_writeoff(st_lines)
        counts = {}
        for company in st_lines.company_id:
            lines = st_lines.filtered(lambda line, c=company: line.company_id == c)
            rules = self.env["finsync.match.rule"].search([("company_id", "=", company.id)])
            if not rules:
                continue
            engine_rules = [(rule, rule._to_engine_rule()) for rule in rules]
            index = (indexes or {}).get(company.id)
            if index is None:
                index = self._open_items(company)
                if indexes is not None:
                    indexes[company.id] = index
            bank_lines = self._bank_lines(lines)
            undecided, to_reconcile, to_approve = {}, [], []
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
                    self._apply_decision(
                        st_line, decision, rule, undecided, index, to_reconcile, to_approve
                    )
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
            self._request_writeoffs(to_approve)
        if paired:
            counts["settlement"] = len(paired)
        _logger.info("FinSync matching: %s", counts)
        return counts

    @api.model
    def _enqueue_journal_matching(self, journals):
        """Queue one matching job per journal; one already waiting takes the new lines."""
        return [
            self.with_delay(
                channel=MATCHING_CHANNEL,
                description=self.env._("Match the new lines of %(journal)s", journal=journal.name),
                identity_key=f"finsync-match-journal-{journal.id}",
            )._match_journal_job(journal)
            for journal in journals
        ]

    @api.model
    def _match_journal_job(self, journal):
        """Job: match the journal's lines waiting for matching, in chunks.

        It reads the waiting lines when it starts (lines posted after a job was
        queued are taken by it), clears their mark and matches those still not
        reconciled; run again, it finds nothing left to do. One job takes at
        most ``MATCHING_JOB_LINES`` lines (a bounded transaction to retry) and
        queues the next one for the rest.
        """
        self.env.cr.execute(
            SQL(
                """
                UPDATE account_bank_statement_line SET finsync_match_pending = NULL
                 WHERE id IN (SELECT id FROM account_bank_statement_line
                               WHERE journal_id = %s AND finsync_match_pending
                               ORDER BY id LIMIT %s)
             RETURNING id
                """,
                journal.id,
                MATCHING_JOB_LINES,
            )
        )
        ids = sorted(row[0] for row in self.env.cr.fetchall())
        if len(ids) == MATCHING_JOB_LINES:
            self.env.cr.execute(
                SQL(
                    "SELECT 1 FROM account_bank_statement_line"
                    " WHERE journal_id = %s AND finsync_match_pending LIMIT 1",
                    journal.id,
                )
            )
            if self.env.cr.fetchone():
                self._enqueue_journal_matching(journal)
        st_lines = self.env["account.bank.statement.line"].browse(ids)
        st_lines.invalidate_recordset(["finsync_match_pending"])
        counts, indexes = {}, {}
        for start in range(0, len(st_lines), MATCHING_CHUNK):
            chunk = st_lines[start : start + MATCHING_CHUNK].filtered(
                lambda line: not line.is_reconciled
            )
            for action, count in self._match_statement_lines(chunk, indexes).items():
                counts[action] = counts.get(action, 0) + count
        _logger.info("FinSync matching of journal %s: %s", journal.id, counts)
        return self.env._(
            "%(reconciled)s of %(count)s lines reconciled",
            reconciled=counts.get("reconcile", 0) + counts.get("settlement", 0),
            count=len(st_lines),
        )

    @api.model
    def _enqueue_matching(self, st_lines, chunk_size=MATCHING_CHUNK):
        """Match the statement lines in jobs of ``chunk_size`` lines; returns the jobs."""
        jobs = []
        for start in range(0, len(st_lines), chunk_size):
            chunk = st_lines[start : start + chunk_size]
            jobs.append(
                self.with_delay(
                    channel=MATCHING_CHANNEL,
                    description=(
                        self.env._("Match 1 bank line")
                        if len(chunk) == 1
                        else self.env._("Match %(count)s bank lines", count=len(chunk))
                    ),
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
                ),
                # Full account numbers: a failed query is not logged with them.
                log_exceptions=False,
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
                ),
                # The payers' names: a failed query is not logged with them.
                log_exceptions=False,
            )
            by_name = {name: ids[0] for name, ids in self.env.cr.fetchall() if len(ids) == 1}
        return by_account, by_name

    @api.model
    def _bank_lines(self, st_lines):
        """{statement line id: engine ``BankLine``}; the payer from the line, else its
        counterparty account, else its counterparty name."""
        by_account, by_name = self._payers(st_lines)
        st_lines.finsync_transaction_ids.mapped("remittance")  # one query, not one per line
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
    def _apply_decision(
        self, st_line, decision, rule, undecided, index=None, to_reconcile=None, to_approve=None
    ):
        """Reconcile a sure match (now, or later with ``to_reconcile`` when given) and
        settle it in ``index``; collect the rest in ``undecided`` (by exception type).

        A sure match whose write-off is over the company's approval threshold is
        not booked: its line waits in ``undecided`` as an amount mismatch and is
        collected in ``to_approve`` for a write-off request (``_request_writeoffs``).
        """
        move_lines = self.env["account.move.line"].browse([item.id for item in decision.items])
        can_write_off = not decision.difference or rule.writeoff_account_id
        if decision.action == "reconcile" and can_write_off:
            if decision.difference and self._writeoff_needs_approval(st_line, decision.difference):
                # The items stay taken in this run: they wait for the approval.
                decision.action = "writeoff_request"
                if to_approve is not None:
                    # Taken before the index is settled: settling changes the items.
                    paid = {item.id: abs(float(decision.paid(item))) for item in decision.items}
                    allocations = [(line, paid[line.id]) for line in move_lines]
                    to_approve.append((st_line, decision, rule, allocations))
            else:
                if to_reconcile is None:
                    self._reconcile(st_line, move_lines, decision, rule)
                else:
                    # The entry is taken now: settling the index changes what is left.
                    entry = self._decision_entry(st_line, move_lines, decision, rule)
                    to_reconcile.append((st_line, decision, rule, entry))
                if index is not None:
                    index.settle(decision)
                return
            if index is not None:
                index.settle(decision)
        transaction = st_line.finsync_transaction_ids[:1]
        if transaction:
            exception_type = self._exception_type(decision, rule)
            undecided.setdefault(exception_type, []).append(
                (transaction, st_line, decision, move_lines, rule)
            )

    @api.model
    def _writeoff_needs_approval(self, st_line, difference):
        """Whether writing off ``difference`` (in the bank line's currency) on
        ``st_line`` is over the company's approval threshold."""
        company = st_line.company_id
        currency = st_line.currency_id
        amount = float(difference)
        if currency != company.currency_id:
            amount = currency._convert(amount, company.currency_id, company, st_line.date)
        threshold = company.finsync_writeoff_threshold
        return company.currency_id.compare_amounts(abs(amount), threshold) > 0

    @api.model
    def _lines_waiting_for_writeoff(self, st_lines):
        """The statement lines with a write-off request waiting for approval."""
        if not st_lines:
            return st_lines
        # sudo: matching may run as a connector's technical user, who reads no requests;
        # only the bank lines are returned.
        requests = (
            self.env["finsync.writeoff.request"]
            .sudo()
            .search([("statement_line_id", "in", st_lines.ids), ("state", "=", "requested")])
        )
        return st_lines & requests.statement_line_id.with_env(st_lines.env)

    @api.model
    def _request_writeoffs(self, to_approve):
        """A write-off request by the system for each rule write-off over the threshold.

        The line's exception waits for the decision. Any FinSync manager decides,
        except whoever last changed the rule. A request that cannot be made (an
        item paid meanwhile) leaves the exception open as it is.
        """
        requests = self.env["finsync.writeoff.request"]
        for st_line, decision, rule, allocations in to_approve:
            transaction = st_line.finsync_transaction_ids[:1]
            exception = transaction.exception_ids.filtered(
                lambda exc: exc.is_open and exc.exception_type == "amount_mismatch"
            )[:1]
            try:
                with self.env.cr.savepoint():
                    # sudo as OdooBot: the system asks, not whoever runs matching; the
                    # amount is computed by the request from the ledger.
                    request = (
                        requests.with_user(SUPERUSER_ID)
                        .sudo()
                        ._request(
                            st_line,
                            allocations,
                            rule.writeoff_account_id,
                            self.env._(
                                "Matching rule %(rule)s: %(reason)s",
                                rule=rule.name,
                                reason=decision.explanation,
                            ),
                            transaction=transaction,
                            exception=exception,
                            rule=rule,
                        )
                    )
            except UserError as err:
                # The class only: the message may quote the bank line's label.
                _logger.warning(
                    "FinSync matching: no write-off request for statement line %s (%s)",
                    st_line.id,
                    type(err).__name__,
                )
                continue
            if exception:
                message = self.env._(
                    "Write-off %(name)s of %(amount)s is over the approval threshold: it "
                    "waits for a FinSync manager's approval.",
                    name=request.name,
                    amount=request.currency_id.format(request.amount),
                )
                # sudo: matching may run as a connector's technical user; the exception
                # waits for the request just made.
                exception.sudo()._set_open_state("waiting")
                exception.sudo().message_post(body=message)

    @api.model
    def _exception_type(self, decision, rule):
        """The queue an undecided line goes to, and so its owner and SLA."""
        if decision.action == "ambiguous":
            return "ambiguous"
        if decision.action == "writeoff_request":
            return "amount_mismatch"
        if decision.action == "none" or not decision.items:
            return "unmatched"
        if not decision.amount_agrees or (decision.difference and not rule.writeoff_account_id):
            return "amount_mismatch"
        if decision.basis != "reference":
            return "missing_reference"
        return "proposal"

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
