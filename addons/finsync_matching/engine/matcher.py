"""Pairing bank lines with open items, with the reason in plain words.

Contract: ``match(line, index, rule)`` where

- ``line`` is a ``BankLine`` (amount signed as the bank books it, texts, partner id
  if known, date),
- ``index`` an ``OpenItemIndex`` built once per run from every open item of the
  company (references normalised, items by partner),
- ``rule`` a ``Rule`` (tolerances, date window, whether to reconcile automatically),

returns a ``Decision``: ``action`` is ``"reconcile"`` (exactly one best
candidate set whose amount agrees, or one referenced invoice paid in part when
the rule allows partial payments), ``"propose"`` (a candidate the rule does
not allow to reconcile on its own), ``"ambiguous"`` (two or more equally good
candidates: never a guess) or ``"none"``; ``items`` the chosen open items,
``partial_amounts`` what a partial payment pays of its item, ``score`` and
``reasons`` ("reference INV-2026-42 in the label; amount equal; partner
equal"). Amounts are ``Decimal`` in the items' currency.

A run calls ``match`` for every line by reference first (``stages``), then by
partner and amount for the lines left, and ``index.settle(decision)`` after
each reconciliation, so no item is paid twice and amount-only matching sees
only what references left open.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations

from .references import difference, extract, near_keys, reference_keys

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
    # How the partner was found: "statement" (set on the line), "account"
    # (counterparty bank account), "name" (counterparty name); "" when unknown.
    partner_source: str = ""


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
    # A referenced invoice paid in part stays open for the rest (several payments
    # for one invoice); otherwise a smaller amount is an amount mismatch.
    allow_partial: bool = False
    # The partner's only open item of exactly this amount is reconciled without a
    # reference; otherwise partner and amount alone are a proposal.
    auto_partner_amount: bool = False


@dataclass
class Decision:
    action: str
    items: list = field(default_factory=list)
    score: int = 0
    reasons: list = field(default_factory=list)
    difference: Decimal = Decimal(0)
    basis: str = ""  # "reference" or "partner_amount": what found the items
    amount_agrees: bool = True  # equal, or within the rule's tolerance
    # Item id -> the part of its residual this line pays (signed like the item),
    # for items not paid in full; the others are paid in full.
    partial_amounts: dict = field(default_factory=dict)

    @property
    def explanation(self):
        return "; ".join(self.reasons)

    def paid(self, item):
        """What this decision pays of ``item`` (signed like its residual)."""
        return self.partial_amounts.get(item.id, item.amount)


class OpenItemIndex:
    """Open items by reference key and by partner, built once per run.

    ``settle(decision)`` takes what a reconciled decision paid off its items, so
    that later lines of the same run never pay an item twice and the next
    payment of an invoice paid in part meets only what is left.
    """

    def __init__(self, items):
        self.by_reference = {}
        self.by_partner = {}
        # Keys with the year or the prefix left out: a reference written with another
        # one is found, only to explain a proposal.
        self.by_near = {}
        for item in items:
            keys = set()
            for reference in (item.reference, *item.other_references):
                keys |= reference_keys(reference)
            for key in keys:
                self.by_reference.setdefault(key, []).append(item)
                for near in near_keys(key):
                    self.by_near.setdefault(near, []).append((item, key))
            if item.partner_id:
                self.by_partner.setdefault(item.partner_id, []).append(item)

    def settle(self, decision):
        for item in decision.items:
            item.amount -= decision.paid(item)


def tolerance(rule, amount):
    """The largest difference the rule accepts on ``amount``."""
    return max(rule.amount_tolerance, abs(amount) * rule.percent_tolerance / 100)


def _in_window(rule, line, item):
    if rule.date_window_days is None or not line.date or not item.date:
        return True
    return abs((line.date - item.date).days) <= rule.date_window_days


def _eligible(rule, line, item):
    """Open (not paid off earlier in the run), same currency, within the date window."""
    return item.amount != 0 and item.currency == line.currency and _in_window(rule, line, item)


def _reference_candidates(line, index, rule):
    found = {}
    for text in line.texts:
        for key in extract(text):
            for item in index.by_reference.get(key, ()):
                if _eligible(rule, line, item):
                    found.setdefault(item.id, (item, key))
    return list(found.values())


def _amount_reasons(line, total, rule):
    difference = line.amount - total
    if difference == 0:
        return True, ["amount equal"], difference
    if abs(difference) <= tolerance(rule, total):
        return True, [f"amount within tolerance ({difference:+})"], difference
    return False, [f"amount differs by {difference:+}"], difference


PARTNER_SOURCES = {
    "statement": "partner equal",
    "account": "partner equal (found by the counterparty account)",
    "name": "partner equal (found by the counterparty name)",
}


def _partner_reasons(line, items):
    """("partner equal"-like reasons, whether the line's known payer is another partner)."""
    partners = {item.partner_id for item in items}
    if line.partner_id and partners == {line.partner_id}:
        return [PARTNER_SOURCES.get(line.partner_source, "partner equal")], False
    # A payer identified by name only may be a namesake: not a conflict.
    conflict = bool(line.partner_id) and line.partner_source in ("statement", "account")
    return (["paid by another partner"] if conflict else []), conflict


def _is_part_of(amount, total):
    """``amount`` pays less than ``total``, in the same direction."""
    return amount != 0 and (amount > 0) == (total > 0) and abs(amount) < abs(total)


def _as_written(item, key):
    """The item's reference that ``key`` was found by, as the accountant knows it
    (``INV/2026/00042``, not the key ``INV-2026-42``)."""
    for reference in (item.reference, *item.other_references):
        if reference and key in reference_keys(reference):
            return reference
    return key


def _near_misses(line, index, rule):
    """{item id: (item, key written, item's key)}: open items whose reference the
    label writes with another year or prefix (``INV/2027/00566`` for ``INV/2026/00566``)."""
    found = {}
    for text in line.texts:
        for written in extract(text):
            for near in near_keys(written):
                for item, key in index.by_near.get(near, ()):
                    if key != written and _eligible(rule, line, item):
                        found.setdefault(item.id, (item, written, key))
    return found


def _by_near_miss(line, index, rule):
    """A reference that exists nowhere as written is never enough to reconcile: the
    open items it nearly names are a proposal saying what differs."""
    misses = _near_misses(line, index, rule)
    if not misses:
        return None
    items = [item for item, _written, _key in misses.values()]
    reasons = [
        f"reference {written} in the label is not open as written: "
        f"{_as_written(item, key)} differs ({difference(written, key)})"
        for item, written, key in misses.values()
    ]
    total = sum((item.amount for item in items), Decimal(0))
    agrees, amount_reasons, diff = _amount_reasons(line, total, rule)
    partner_reasons, _conflict = _partner_reasons(line, items)
    return Decision(
        "propose", items, 30, reasons + amount_reasons + partner_reasons, diff, "reference", agrees
    )


def _completion(line, index, rule, items, partner_reasons, conflict):
    """The referenced ``items`` pay less than the line: the partner's other open items
    that make up exactly the rest, when exactly one such set exists."""
    partners = {item.partner_id for item in items}
    if not rule.allow_many_items or len(partners) != 1 or None in partners:
        return None
    if line.partner_id and partners != {line.partner_id}:
        return None
    total = sum((item.amount for item in items), Decimal(0))
    rest = line.amount - total
    if not _is_part_of(total, line.amount):
        return None
    taken = {item.id for item in items}
    others = [
        item
        for item in index.by_partner.get(partners.pop(), ())
        if item.id not in taken and _eligible(rule, line, item)
    ]
    subsets = _subsets(others, rest, Decimal(0))
    if not subsets:
        return None
    shown = ", ".join(sorted(item.reference for item in items))
    if len(subsets) > 1:
        return Decision(
            "ambiguous",
            items + [item for subset in subsets for item in subset],
            40,
            [
                f"reference {shown} in the label",
                f"{len(subsets)} sets of the partner's open items make up the rest ({rest})",
            ],
            basis="reference",
        )
    [chosen] = subsets
    completed = ", ".join(sorted(item.reference for item in chosen))
    sure = rule.auto_reconcile and not conflict
    return Decision(
        "reconcile" if sure else "propose",
        items + chosen,
        90,
        [
            f"reference {shown} in the label",
            f"completed with {completed}: the partner's only open items making up the rest",
            "amount equal",
            *partner_reasons,
        ],
        basis="reference",
    )


def _by_reference(line, index, rule):
    candidates = _reference_candidates(line, index, rule)
    if not candidates:
        return _by_near_miss(line, index, rule)
    items = [item for item, _key in candidates]
    shown = sorted({_as_written(item, key) for item, key in candidates})
    reasons = [f"reference {', '.join(shown)} in the label"]
    if len(items) > 1 and not rule.allow_many_items:
        return Decision("ambiguous", items, 50, [*reasons, "several open items"], basis="reference")
    total = sum((item.amount for item in items), Decimal(0))
    agrees, amount_reasons, difference = _amount_reasons(line, total, rule)
    partner_reasons, conflict = _partner_reasons(line, items)
    if not agrees and rule.allow_partial and len(items) == 1 and _is_part_of(line.amount, total):
        # Several payments for one invoice: this one pays a part, the rest stays open.
        sure = rule.auto_reconcile and not conflict
        return Decision(
            "reconcile" if sure else "propose",
            items,
            90,
            [*reasons, f"partial payment of {line.amount} ({total} open)", *partner_reasons],
            basis="reference",
            amount_agrees=False,
            partial_amounts={items[0].id: line.amount},
        )
    if not agrees:
        completed = _completion(line, index, rule, items, partner_reasons, conflict)
        if completed:
            return completed
    # A difference written off on the word of a reference alone needs the payer to agree.
    sure = agrees and rule.auto_reconcile and (difference == 0 or not conflict)
    return Decision(
        "reconcile" if sure else "propose",
        items,
        100 if agrees else 60,
        reasons + amount_reasons + partner_reasons,
        difference,
        "reference",
        agrees,
    )


def _subsets(items, amount, tolerance):
    """The smallest sets of ``items`` whose amounts add up to ``amount``; single
    items are always looked at, sums only over at most ``MAX_SUBSET_ITEMS`` items."""
    found = [[item] for item in items if abs(item.amount - amount) <= tolerance]
    if found or len(items) > MAX_SUBSET_ITEMS:
        return found
    for size in range(2, len(items) + 1):
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
        item for item in index.by_partner.get(line.partner_id, ()) if _eligible(rule, line, item)
    ]
    # An exact amount is a better explanation than one within the tolerance.
    for allowed in (Decimal(0), tolerance(rule, line.amount)):
        subsets = (
            _subsets(items, line.amount, allowed)
            if rule.allow_many_items
            else [[item] for item in items if abs(item.amount - line.amount) <= allowed]
        )
        if subsets:
            break
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
    partner_reason = PARTNER_SOURCES.get(line.partner_source, "partner equal")
    # Without a reference, an amount alone is a proposal, unless the rule trusts the
    # partner's only open item of exactly this amount.
    if rule.auto_partner_amount and rule.auto_reconcile and len(chosen) == 1 and not difference:
        return Decision(
            "reconcile",
            chosen,
            80,
            [partner_reason, *reasons, "the partner's only open item of this amount"],
            difference,
            "partner_amount",
        )
    return Decision("propose", chosen, 70, [partner_reason, *reasons], difference, "partner_amount")


STAGES = ("reference", "partner_amount")


def match(line, index, rule, stages=STAGES):
    """The decision for one bank line (see the module docstring).

    ``stages`` limits the ways tried: a run first matches every line by
    reference, then the lines left by partner and amount, so that an amount
    alone never takes an item a reference pays in the same run.
    """
    if rule.match_reference and "reference" in stages:
        decision = _by_reference(line, index, rule)
        if decision:
            return decision
    if rule.match_partner_amount and "partner_amount" in stages:
        decision = _by_partner_amount(line, index, rule)
        if decision:
            return decision
    return Decision("none", reasons=["no open item found"])


# ----------------------------------------------------------------------
# One open item scored for a bank line (the manual-match wizard's ranking)
# ----------------------------------------------------------------------
REFERENCE_POINTS = 50
PARTNER_POINTS = 25
AMOUNT_POINTS = 25


def label_keys(line):
    """Every reference candidate in the line's texts (as ``match`` reads them)."""
    keys = set()
    for text in line.texts:
        keys |= extract(text)
    return keys


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


def score_item(line, item, keys=None):
    """(points, reasons) of one open item for ``line``, in the words of ``match``.

    What an accountant choosing by hand looks at, added up: 50 when one of the
    item's references is in the line's texts, 25 when the partner is the line's
    payer (said as ``match`` says it, with how the payer was found), up to 25
    for the amount (25 when equal, less as the difference grows, 0 at a
    difference of the whole line amount or more). ``keys``: ``label_keys(line)``.
    """
    keys = label_keys(line) if keys is None else keys
    points, reasons = 0, []
    reference = _reference_found(item, keys)
    if reference:
        points += REFERENCE_POINTS
        reasons.append(f"reference {reference} in the label")
    partner_reasons, conflict = _partner_reasons(line, [item])
    if partner_reasons and not conflict:
        points += PARTNER_POINTS
    reasons += partner_reasons
    amount_points, amount_reason = _amount_points(line.amount, item.amount)
    points += amount_points
    reasons.append(amount_reason)
    return points, reasons
