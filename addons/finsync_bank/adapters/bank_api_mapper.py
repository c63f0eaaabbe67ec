"""Bank API pages -> canonical transaction values (see finsync_base.tools.canonical).

``map_transactions(page)`` and ``map_payments(page)`` return lists of dicts in
the canonical parser's output shape, ready for ``finsync.transaction._upsert_canonical``;
``max_sequence(page, key)`` is the watermark the page moves to.
"""

import datetime
from decimal import Decimal, InvalidOperation

PAYMENT_STATES = {
    "initiated": "initiated",
    "accepted": "acknowledged",
    "settled": "settled",
    "rejected": "rejected",
}


class BankApiMappingError(ValueError):
    def __init__(self, message, path):
        super().__init__(f"{path}: {message}")
        self.path = path


def _amount(value, path):
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError) as err:
        raise BankApiMappingError(f"{value!r} is not an amount", path) from err
    if not amount.is_finite() or isinstance(value, float):
        raise BankApiMappingError(f"{value!r} is not an exact amount", path)
    return amount


def _date(value, path, required=True):
    if not value:
        if required:
            raise BankApiMappingError("a date is required", path)
        return None
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError as err:
        raise BankApiMappingError(f"{value!r} is not a date", path) from err


def _blank():
    return dict.fromkeys(
        (
            "value_date",
            "counterparty_name",
            "counterparty_account",
            "remittance",
            "structured_reference",
            "end_to_end_id",
            "payment_reference",
            "bank_reference",
            "reason",
        )
    )


def map_transactions(page, account):
    """Booked account transactions: settled bank credits and debits."""
    result = []
    for index, item in enumerate(page.get("transactions") or []):
        path = f"transactions[{index}]"
        amount = _amount(item.get("amount"), f"{path}.amount")
        incoming = amount >= 0
        vals = _blank()
        vals.update(
            external_id=f"{account}:{item['transaction_id']}",
            kind="bank_credit" if incoming else "bank_debit",
            state="settled" if item.get("status", "booked") == "booked" else "acknowledged",
            amount=amount,
            fee=Decimal(0),
            currency=(item.get("currency") or "").upper(),
            booking_date=_date(item.get("booking_date"), f"{path}.booking_date"),
            value_date=_date(item.get("value_date"), f"{path}.value_date", required=False),
            counterparty_name=item.get("debtor_name" if incoming else "creditor_name"),
            counterparty_account=item.get("debtor_account" if incoming else "creditor_account"),
            remittance=item.get("remittance_information"),
            end_to_end_id=item.get("end_to_end_id"),
            bank_reference=item.get("transaction_id"),
        )
        result.append(vals)
    return result


def map_payments(page):
    """Outgoing payments whose status moved: the canonical state follows the bank's."""
    result = []
    for index, item in enumerate(page.get("payments") or []):
        path = f"payments[{index}]"
        status = item.get("status")
        if status not in PAYMENT_STATES:
            raise BankApiMappingError(f"unknown payment status {status!r}", f"{path}.status")
        vals = _blank()
        vals.update(
            external_id=f"payment:{item['payment_id']}",
            kind="bank_debit",
            state=PAYMENT_STATES[status],
            amount=-abs(_amount(item.get("amount"), f"{path}.amount")),
            fee=Decimal(0),
            currency=(item.get("currency") or "").upper(),
            booking_date=_date(item.get("date"), f"{path}.date"),
            counterparty_name=item.get("creditor_name"),
            counterparty_account=item.get("creditor_account"),
            remittance=item.get("remittance_information"),
            end_to_end_id=item.get("end_to_end_id"),
            payment_reference=item.get("payment_id"),
            reason=item.get("status_reason"),
        )
        result.append(vals)
    return result


def max_sequence(page, key):
    sequences = [int(item.get("sequence") or 0) for item in page.get(key) or []]
    return max(sequences, default=0)
