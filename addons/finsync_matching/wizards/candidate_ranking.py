"""Ranking of open items for the manual-match wizard (pure Python, no ``odoo`` import).

Contract: ``rank(line, items, proposed_ids=())`` takes a matching-engine
``BankLine`` and ``OpenItem`` values (amounts as ``Decimal``, signed as booked)
and returns ``Candidate`` values, best first: the items the engine proposed
(the exception's candidates) come first, then by score, then the oldest. The
score and its reasons are the matching engine's (``engine.matcher.score_item``):
one scoring for the engine's explanations and the wizard's ranking.
"""

import datetime
from dataclasses import dataclass, field

from ..engine.matcher import label_keys, score_item

# label_keys is the wizard's too (it looks up the items named in the label).
__all__ = ["Candidate", "label_keys", "rank"]


@dataclass
class Candidate:
    item: object
    score: int
    proposed: bool = False
    reasons: list = field(default_factory=list)

    @property
    def explanation(self):
        return "; ".join(self.reasons)


def rank(line, items, proposed_ids=()):
    """The candidates for ``line``, proposed ones first, then by score, then oldest."""
    keys = label_keys(line)
    proposed_ids = set(proposed_ids)
    candidates = []
    for item in items:
        points, reasons = score_item(line, item, keys)
        proposed = item.id in proposed_ids
        if proposed:
            reasons.insert(0, "proposed by matching")
        candidates.append(Candidate(item, points, proposed, reasons))
    candidates.sort(
        key=lambda c: (not c.proposed, -c.score, c.item.date or datetime.date.min, c.item.id)
    )
    return candidates
