import logging
from decimal import Decimal

from odoo import Command, api, models
from odoo.tools import SQL

from ..engine.matcher import BankLine, OpenItem, OpenItemIndex, match

_logger = logging.getLogger(__name__)

RECEIVABLE_PAYABLE = ("asset_receivable", "liability_payable")
# What an undecided line becomes in the exception queue.
EXCEPTION_TYPES = {
    "ambiguous": "ambiguous",
    "propose": "amount_mismatch",
    "none": "unmatched",
}


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
        """
        if st_lines:
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM account_bank_statement_line WHERE id IN %s FOR UPDATE NOWAIT",
                    tuple(st_lines.ids),
                )
            )
            st_lines.invalidate_recordset(["is_reconciled"])
        st_lines = st_lines.filtered(lambda line: not line.is_reconciled)
        counts = {}
        for company in st_lines.company_id:
            lines = st_lines.filtered(lambda line, c=company: line.company_id == c)
            rules = self.env["finsync.match.rule"].search([("company_id", "=", company.id)])
            if not rules:
                continue
            index = self._open_items(company)
            undecided = {}
            for st_line in lines:
                decision, rule = self._decide(st_line, index, rules)
                self._apply_decision(st_line, decision, rule, undecided)
                counts[decision.action] = counts.get(decision.action, 0) + 1
            self._open_exceptions(undecided)
        _logger.info("FinSync matching: %s", counts)
        return counts

    @api.model
    def _decide(self, st_line, index, rules):
        bank_line = self._bank_line(st_line)
        decision = None
        for rule in rules:
            decision = match(bank_line, index, rule._to_engine_rule())
            if decision.action != "none":
                return decision, rule
        return decision, rules[-1:]

    @api.model
    def _open_items(self, company):
        """The engine's index over the company's open receivable and payable lines."""
        lines = self.env["account.move.line"].search(
            [
                ("company_id", "=", company.id),
                ("account_id.account_type", "in", RECEIVABLE_PAYABLE),
                ("parent_state", "=", "posted"),
                ("reconciled", "=", False),
                ("amount_residual", "!=", 0),
            ]
        )
        return OpenItemIndex(
            [
                OpenItem(
                    id=line.id,
                    reference=line.move_id.name,
                    amount=_decimal(line.amount_residual_currency, line.currency_id),
                    currency=line.currency_id.name,
                    partner_id=line.partner_id.commercial_partner_id.id or None,
                    date=line.date,
                    other_references=tuple(
                        ref for ref in (line.move_id.payment_reference, line.move_id.ref) if ref
                    ),
                )
                for line in lines
            ]
        )

    @api.model
    def _bank_line(self, st_line):
        transaction = st_line.finsync_transaction_ids[:1]
        texts = (
            st_line.payment_ref,
            transaction.remittance,
            transaction.structured_reference,
            transaction.end_to_end_id,
        )
        currency = st_line.journal_id.currency_id or st_line.company_id.currency_id
        return BankLine(
            id=st_line.id,
            amount=_decimal(st_line.amount, currency),
            currency=currency.name,
            texts=tuple(text for text in texts if text),
            partner_id=st_line.partner_id.commercial_partner_id.id or None,
            date=st_line.date,
        )

    @api.model
    def _apply_decision(self, st_line, decision, rule, undecided):
        """Reconcile a sure match now; collect the rest in ``undecided`` (by exception type)."""
        move_lines = self.env["account.move.line"].browse([item.id for item in decision.items])
        can_write_off = not decision.difference or rule.writeoff_account_id
        if decision.action == "reconcile" and can_write_off:
            self._reconcile(st_line, move_lines, decision, rule)
            return
        transaction = st_line.finsync_transaction_ids[:1]
        if transaction:
            exception_type = EXCEPTION_TYPES.get(decision.action, "unmatched")
            undecided.setdefault(exception_type, []).append(
                (transaction, st_line, decision, move_lines)
            )

    @api.model
    def _reconcile(self, st_line, move_lines, decision, rule):
        """Replace the suspense line by the invoices' counterparts and reconcile them."""
        _liquidity, suspense, _other = st_line._seek_for_lines()
        counterparts = [
            Command.create(
                {
                    "name": st_line.payment_ref,
                    "account_id": line.account_id.id,
                    "partner_id": line.partner_id.id,
                    "balance": -line.amount_residual,
                    "amount_currency": -line.amount_residual_currency,
                    "currency_id": line.currency_id.id,
                }
            )
            for line in move_lines
        ]
        if decision.difference:
            counterparts.append(
                Command.create(
                    {
                        "name": decision.explanation[:200],
                        "account_id": rule.writeoff_account_id.id,
                        "balance": -float(decision.difference),
                    }
                )
            )
        partner = move_lines.partner_id[:1]
        # Only the journal items change: writing the statement line's own fields
        # (partner, label) would make Odoo rebuild its suspense line.
        st_line.move_id.with_context(force_delete=True, skip_readonly_check=True).write(
            {"line_ids": [Command.delete(line.id) for line in suspense] + counterparts}
        )
        new_lines = st_line.move_id.line_ids.filtered(
            lambda line: line.account_id in move_lines.account_id and not line.reconciled
        )
        for line in move_lines:
            pair = (
                line
                | new_lines.filtered(
                    lambda new, src=line: new.account_id == src.account_id
                    and new.partner_id == src.partner_id
                    and not new.reconciled
                    and new.currency_id.is_zero(
                        new.amount_residual_currency + src.amount_residual_currency
                    )
                )[:1]
            )
            pair.reconcile()
        transaction = st_line.finsync_transaction_ids.filtered(lambda tx: tx.state == "settled")
        transaction.write(
            {
                "match_rule_id": rule.id,
                "match_score": decision.score,
                "match_explanation": decision.explanation,
                "invoice_ids": [Command.set(move_lines.move_id.ids)],
                "partner_id": partner.commercial_partner_id.id,
            }
        )
        transaction._transition("reconciled", reason=decision.explanation)
        self._close_matching_exceptions(transaction, decision)

    @api.model
    def _close_matching_exceptions(self, transactions, decision):
        """A line matched at last closes what was open about it not matching."""
        open_exceptions = transactions.exception_ids.filtered(
            lambda exc: exc.is_open and exc.exception_type in EXCEPTION_TYPES.values()
        )
        if open_exceptions:
            # sudo: matching runs as whoever posted the lines; closing needs an accountant.
            open_exceptions.sudo()._close(
                self.env.ref("finsync_base.reason_matched"),
                note=self.env._("Matched: %(reason)s", reason=decision.explanation),
            )

    @api.model
    def _open_exceptions(self, undecided):
        """One exception per undecided line, opened per type in one batch."""
        exceptions = self.env["finsync.exception"]
        for exception_type, entries in undecided.items():
            vals_by_tx = {
                transaction.id: self._exception_vals(transaction, st_line, decision, move_lines)
                for transaction, st_line, decision, move_lines in entries
            }
            transactions = self.env["finsync.transaction"].browse(list(vals_by_tx))
            exceptions._open_for_records(
                exception_type, transactions, lambda tx, vals=vals_by_tx: vals[tx.id]
            )
            for transaction, _st_line, decision, _move_lines in entries:
                transaction.write(
                    {"match_score": decision.score, "match_explanation": decision.explanation}
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
