"""Reconciling decisions for ``finsync.matching``: engine decisions and chosen
allocations become entries that ``finsync.ledger`` (finsync_bank) writes to the
ledger; ``finsync_ledger.py`` records on the transactions how they were matched."""

import logging

from odoo import api, models
from odoo.exceptions import UserError

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
            # The class only: the message may quote labels or partners of the batch.
            _logger.warning(
                "FinSync matching: a batch of %d lines failed (%s), reconciling line by line",
                len(to_reconcile),
                type(err).__name__,
            )
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
        """Lock the statement lines (see ``finsync.ledger._lock_lines``)."""
        return self.env["finsync.ledger"]._lock_lines(st_lines)

    @api.model
    def _lock_unreconciled(self, st_line):
        """Lock one unreconciled statement line (see ``finsync.ledger``)."""
        return self.env["finsync.ledger"]._lock_unreconciled(st_line)

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
        """Write the entries to the ledger (``finsync.ledger._reconcile_entries``)."""
        return self.env["finsync.ledger"]._reconcile_entries(entries)
