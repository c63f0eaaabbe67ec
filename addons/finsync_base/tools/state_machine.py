"""The canonical transaction's state machine.

``initiated -> acknowledged -> settled -> reconciled``, with ``rejected`` before
settlement and ``reversed`` after it. Undoing a reconciliation brings a
transaction back to ``settled``. ``rejected`` and ``reversed`` are final.
"""

STATES = [
    ("initiated", "Initiated"),
    ("acknowledged", "Acknowledged"),
    ("settled", "Settled"),
    ("reconciled", "Reconciled"),
    ("rejected", "Rejected"),
    ("reversed", "Reversed"),
]

TRANSITIONS = {
    "initiated": frozenset({"acknowledged", "settled", "rejected"}),
    "acknowledged": frozenset({"settled", "rejected"}),
    "settled": frozenset({"reconciled", "reversed"}),
    "reconciled": frozenset({"settled", "reversed"}),
    "rejected": frozenset(),
    "reversed": frozenset(),
}

FINAL_STATES = frozenset(state for state, targets in TRANSITIONS.items() if not targets)


def is_legal(from_state, to_state):
    """Tell whether a transaction may move from ``from_state`` to ``to_state``."""
    return to_state in TRANSITIONS.get(from_state, ())


def next_states(from_state):
    """The states a transaction in ``from_state`` may move to, in display order."""
    allowed = TRANSITIONS.get(from_state, ())
    return [state for state, _label in STATES if state in allowed]
