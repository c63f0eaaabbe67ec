"""Parser of canonical transaction payloads (the ``generic`` connector's format).

Contract: ``parse_canonical(raw)`` takes the bytes or text of a JSON document::

    {"transactions": [{"external_id": "T-1", "kind": "bank_credit", "state": "settled",
                       "amount": "120.50", "fee": "0.50", "currency": "EUR",
                       "booking_date": "2026-01-31", "value_date": "2026-02-01",
                       "counterparty_name": "...", "counterparty_account": "...",
                       "remittance": "...", "structured_reference": "...",
                       "end_to_end_id": "...", "payment_reference": "...",
                       "bank_reference": "...", "reason": "..."}]}

and returns a list of dicts with the same keys, amounts as ``Decimal`` (signed:
money in is positive), dates as ``datetime.date`` and absent optional keys as
``None``. Anything wrong raises ``CanonicalPayloadError`` whose ``code`` says
what, ``path`` where (``transactions[3].amount``) and ``value`` the offending
value, so that callers can word a translated message.
"""

import datetime
import json
from decimal import Decimal, InvalidOperation

from .state_machine import STATES

KINDS = [
    ("bank_credit", "Bank credit"),
    ("bank_debit", "Bank debit"),
    ("charge", "Charge"),
    ("refund", "Refund"),
    ("fee", "Fee"),
    ("payout", "Payout"),
    ("dispute", "Dispute"),
    ("adjustment", "Adjustment"),
]
KIND_CODES = frozenset(code for code, _label in KINDS)
STATE_CODES = frozenset(code for code, _label in STATES)
TEXT_KEYS = (
    "counterparty_name",
    "counterparty_account",
    "remittance",
    "structured_reference",
    "end_to_end_id",
    "payment_reference",
    "bank_reference",
    "reason",
)
MAX_TEXT = 4096


class CanonicalPayloadError(ValueError):
    """A canonical payload that cannot be read; ``code`` names the problem."""

    def __init__(self, code, path, value=None):
        super().__init__(f"{code} at {path}: {value!r}")
        self.code = code
        self.path = path
        self.value = value


def _amount(value, path, required=True):
    if value in (None, ""):
        if required:
            raise CanonicalPayloadError("missing", path)
        return Decimal(0)
    if isinstance(value, float | bool):
        # Floats lose cents: amounts travel as decimal strings or integers.
        raise CanonicalPayloadError("invalid_amount", path, value)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as err:
        raise CanonicalPayloadError("invalid_amount", path, value) from err
    if not amount.is_finite():
        raise CanonicalPayloadError("invalid_amount", path, value)
    return amount


def _date(value, path, required=True):
    if value in (None, ""):
        if required:
            raise CanonicalPayloadError("missing", path)
        return None
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError as err:
        raise CanonicalPayloadError("invalid_date", path, value) from err


def _text(value, path):
    if value is None:
        return None
    if not isinstance(value, str | int):
        raise CanonicalPayloadError("invalid_type", path, value)
    return str(value).strip()[:MAX_TEXT] or None


def _choice(value, path, choices, default):
    if value in (None, ""):
        return default
    if value not in choices:
        raise CanonicalPayloadError("invalid_choice", path, value)
    return value


def _transaction(item, path):
    if not isinstance(item, dict):
        raise CanonicalPayloadError("invalid_type", path, item)
    external_id = _text(item.get("external_id"), f"{path}.external_id")
    if not external_id:
        raise CanonicalPayloadError("missing", f"{path}.external_id")
    currency = _text(item.get("currency"), f"{path}.currency")
    if not currency or len(currency) != 3 or not currency.isalpha():
        raise CanonicalPayloadError(
            "missing" if not currency else "invalid_currency", f"{path}.currency", currency
        )
    amount = _amount(item.get("amount"), f"{path}.amount")
    result = {
        "external_id": external_id,
        "kind": _choice(
            item.get("kind"),
            f"{path}.kind",
            KIND_CODES,
            "bank_credit" if amount >= 0 else "bank_debit",
        ),
        "state": _choice(item.get("state"), f"{path}.state", STATE_CODES, "settled"),
        "amount": amount,
        "fee": _amount(item.get("fee"), f"{path}.fee", required=False),
        "currency": currency.upper(),
        "booking_date": _date(item.get("booking_date"), f"{path}.booking_date"),
        "value_date": _date(item.get("value_date"), f"{path}.value_date", required=False),
    }
    for key in TEXT_KEYS:
        result[key] = _text(item.get(key), f"{path}.{key}")
    return result


def parse_canonical(raw):
    """Parse a canonical payload; see the module docstring for the contract."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise CanonicalPayloadError("not_utf8", f"byte {err.start}") from err
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as err:
        raise CanonicalPayloadError("not_json", f"line {err.lineno}, column {err.colno}") from err
    if not isinstance(document, dict) or not isinstance(document.get("transactions"), list):
        raise CanonicalPayloadError("missing", "transactions")
    transactions = [
        _transaction(item, f"transactions[{index}]")
        for index, item in enumerate(document["transactions"])
    ]
    seen = set()
    for index, vals in enumerate(transactions):
        if vals["external_id"] in seen:
            raise CanonicalPayloadError(
                "duplicate_id", f"transactions[{index}].external_id", vals["external_id"]
            )
        seen.add(vals["external_id"])
    return transactions
