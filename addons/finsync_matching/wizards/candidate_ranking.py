"""Ranking of open items for the manual-match wizard (pure Python, no ``odoo`` import).

Contract: ``rank(line, items, proposed_ids=())`` takes a matching-engine
``BankLine`` and ``OpenItem`` values (amounts as ``Decimal``, signed as booked)
and returns ``Candidate`` values, best first: the items the engine proposed
(the exception's candidates) come first, then by score. The score adds up what
an accountant looks at, with the reasons in plain words:

- 50 when one of the item's references is found in the line's texts (compared
  as the matching engine does: ``references.reference_keys``),
- 25 when the partner is the line's partner,
- up to 25 for the amount: 25 when equal, less as the difference grows, 0 at
  a difference of the whole line amount or more.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from ..engine.references import extract, reference_keys

REFERENCE_POINTS = 50
PARTNER_POINTS = 25
AMOUNT_POINTS = 25


@dataclass
class Candidate:
    item: object
    score: int
    proposed: bool = False
    reasons: list = field(default_factory=list)

    @property
    def explanation(self):
        return "; ".join(self.reasons)


def _reference_found(item, keys):
    for reference in (item.reference, *item.other_references):
        if reference and reference_keys(reference) & keys:
            return reference
    return None


def _amount_points(line_amount, item_amount):
    difference = line_amount - item_amount
    if difference == 0:
        return AMOUNT_POINTS, "amount equal"
    base = abs(line_amount) or abs(item_amount)
    closeness = max(Decimal(0), 1 - abs(difference) / base) if base else Decimal(0)
    points = int((closeness * AMOUNT_POINTS).to_integral_value(rounding="ROUND_FLOOR"))
    return points, f"amount differs by {difference:+}"


def score(line, item, keys):
    """(points, reasons) of one open item for one bank line; ``keys`` from ``extract``."""
    points, reasons = 0, []
    reference = _reference_found(item, keys)
    if reference:
        points += REFERENCE_POINTS
        reasons.append(f"reference {reference} in the label")
    if line.partner_id and item.partner_id == line.partner_id:
        points += PARTNER_POINTS
        reasons.append("partner equal")
    amount_points, amount_reason = _amount_points(line.amount, item.amount)
    points += amount_points
    reasons.append(amount_reason)
    return points, reasons


def label_keys(line):
    """Every reference candidate in the line's texts."""
    keys = set()
    for text in line.texts:
        keys |= extract(text)
    return keys


def rank(line, items, proposed_ids=()):
    """The candidates for ``line``, proposed ones first, then by score, then oldest."""
    keys = label_keys(line)
    proposed_ids = set(proposed_ids)
    candidates = []
    for item in items:
        points, reasons = score(line, item, keys)
        proposed = item.id in proposed_ids
        if proposed:
            reasons.insert(0, "proposed by matching")
        candidates.append(Candidate(item, points, proposed, reasons))
    candidates.sort(
        key=lambda c: (not c.proposed, -c.score, c.item.date or datetime.date.min, c.item.id)
    )
    return candidates
