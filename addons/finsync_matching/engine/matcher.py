"""Pairing bank lines with open items, with the reason in plain words.

Contract: ``match(line, index, rule)`` where

- ``line`` is a ``BankLine`` (amount signed as the bank books it, texts, partner id
  if known, date),
- ``index`` an ``OpenItemIndex`` built once per run from every open item of the
  company (references normalised, items by partner),
- ``rule`` a ``Rule`` (tolerances, date window, whether to reconcile automatically),

returns a ``Decision``: ``action`` is ``"reconcile"`` (exactly one best
candidate set whose amount agrees), ``"propose"`` (a candidate the rule does
not allow to reconcile on its own), ``"ambiguous"`` (two or more equally good
candidates: never a guess) or ``"none"``; ``items`` the chosen open items,
``score`` and ``reasons`` ("reference INV-2026-42 in the label; amount equal;
partner equal"). Amounts are ``Decimal`` in the items' currency.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations

from .references import extract, normalize

MAX_SUBSET_ITEMS = 12  # open items of one partner searched for a sum (2^12 subsets)


@dataclass
class OpenItem:
    id: int
    reference: str
    amount: Decimal  # residual, signed: receivable positive
    currency: str
    partner_id: int | None = None
    date: datetime.date | None = None
    other_references: tuple = ()


@dataclass
class BankLine:
    id: int
    amount: Decimal
    currency: str
    texts: tuple = ()
    partner_id: int | None = None
    date: datetime.date | None = None


@dataclass
class Rule:
    name: str = "Default"
    auto_reconcile: bool = True
    amount_tolerance: Decimal = Decimal(0)
    percent_tolerance: Decimal = Decimal(0)
    date_window_days: int | None = None
    match_reference: bool = True
    match_partner_amount: bool = True
    allow_many_items: bool = True


@dataclass
class Decision:
    action: str
    items: list = field(default_factory=list)
    score: int = 0
    reasons: list = field(default_factory=list)
    difference: Decimal = Decimal(0)
    basis: str = ""  # "reference" or "partner_amount": what found the items
    amount_agrees: bool = True  # equal, or within the rule's tolerance

    @property
    def explanation(self):
        return "; ".join(self.reasons)


class OpenItemIndex:
    """Open items by normalised reference and by partner, built once per run."""

    def __init__(self, items):
        self.by_reference = {}
        self.by_partner = {}
        for item in items:
            for reference in (item.reference, *item.other_references):
                key = normalize(reference)
                if key:
                    self.by_reference.setdefault(key, []).append(item)
            if item.partner_id:
                self.by_partner.setdefault(item.partner_id, []).append(item)


def tolerance(rule, amount):
    """The largest difference the rule accepts on ``amount``."""
    return max(rule.amount_tolerance, abs(amount) * rule.percent_tolerance / 100)


def _in_window(rule, line, item):
    if rule.date_window_days is None or not line.date or not item.date:
        return True
    return abs((line.date - item.date).days) <= rule.date_window_days


def _reference_candidates(line, index, rule):
    found = {}
    for text in line.texts:
        for key in extract(text):
            for item in index.by_reference.get(key, ()):
                if item.currency == line.currency and _in_window(rule, line, item):
                    found.setdefault(item.id, (item, key))
    return list(found.values())


def _amount_reasons(line, total, rule):
    difference = line.amount - total
    if difference == 0:
        return True, ["amount equal"], difference
    if abs(difference) <= tolerance(rule, total):
        return True, [f"amount within tolerance ({difference:+})"], difference
    return False, [f"amount differs by {difference:+}"], difference


def _by_reference(line, index, rule):
    candidates = _reference_candidates(line, index, rule)
    if not candidates:
        return None
    items = [item for item, _key in candidates]
    keys = sorted({key for _item, key in candidates})
    reasons = [f"reference {', '.join(keys)} in the label"]
    if len(items) > 1 and not rule.allow_many_items:
        return Decision("ambiguous", items, 50, [*reasons, "several open items"], basis="reference")
    total = sum((item.amount for item in items), Decimal(0))
    agrees, amount_reasons, difference = _amount_reasons(line, total, rule)
    partners = {item.partner_id for item in items}
    if line.partner_id and partners == {line.partner_id}:
        amount_reasons.append("partner equal")
    score = 100 if agrees else 60
    action = ("reconcile" if rule.auto_reconcile else "propose") if agrees else "propose"
    return Decision(action, items, score, reasons + amount_reasons, difference, "reference", agrees)


def _subsets(items, amount, tolerance):
    if len(items) > MAX_SUBSET_ITEMS:
        return []
    found = []
    for size in range(1, len(items) + 1):
        for subset in combinations(items, size):
            if abs(sum((item.amount for item in subset), Decimal(0)) - amount) <= tolerance:
                found.append(list(subset))
        if found:
            return found  # the smallest sets only
    return found


def _by_partner_amount(line, index, rule):
    if not line.partner_id:
        return None
    items = [
        item
        for item in index.by_partner.get(line.partner_id, ())
        if item.currency == line.currency and _in_window(rule, line, item)
    ]
    allowed = tolerance(rule, line.amount)
    subsets = (
        _subsets(items, line.amount, allowed)
        if rule.allow_many_items
        else [[item] for item in items if abs(item.amount - line.amount) <= allowed]
    )
    if not subsets:
        return None
    if len(subsets) > 1:
        return Decision(
            "ambiguous",
            [item for subset in subsets for item in subset],
            40,
            [f"{len(subsets)} sets of open items of the partner have this amount"],
            basis="partner_amount",
        )
    [chosen] = subsets
    total = sum((item.amount for item in chosen), Decimal(0))
    _agrees, reasons, difference = _amount_reasons(line, total, rule)
    # Without a reference, an amount alone is a proposal, never an automatic match.
    return Decision(
        "propose", chosen, 70, ["partner equal", *reasons], difference, "partner_amount"
    )


def match(line, index, rule):
    """The decision for one bank line (see the module docstring)."""
    if rule.match_reference:
        decision = _by_reference(line, index, rule)
        if decision:
            return decision
    if rule.match_partner_amount:
        decision = _by_partner_amount(line, index, rule)
        if decision:
            return decision
    return Decision("none", reasons=["no open item found"])
