"""Stripe objects -> canonical transaction values (see finsync_base.tools.canonical).

``map_balance_transaction(bt)`` maps one balance transaction (its ``source``
expanded or not); ``map_event(event)`` maps a webhook event to the
transactions it tells about (none for event types FinSync does not book).
Both return dicts in the canonical parser's output shape (amounts as
``Decimal``, signed: money into the Stripe balance is positive; ``fee`` is the
cost Stripe kept, so ``net = amount - fee``) plus a ``stripe`` dict::

    {"object_id", "balance_transaction", "fee_known", "reverses", "payout",
     "arrival_date", "payout_status"}

The external id of a transaction is the id of the object that moved the money
(``ch_``, ``re_``, ``dp_``, ``po_``; the balance transaction's own id when it
has no source), so a charge seen first in a webhook and later in a pull is one
transaction; a won dispute is ``<dp_id>:won``, a failed payout's return
``<po_id>:failed``.
"""

import datetime
from decimal import Decimal

# Currencies whose Stripe amounts are in the major unit, and those with three
# decimals (https://docs.stripe.com/currencies).
ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())
# Metadata keys under which shops put the invoice they charge for.
INVOICE_KEYS = ("invoice_number", "invoice", "invoice_ref", "invoice_reference", "reference")

CHARGE_STATES = {"pending": "initiated", "failed": "rejected"}
REFUND_STATES = {
    "pending": "initiated",
    "requires_action": "initiated",
    "succeeded": "settled",
    "failed": "rejected",
    "canceled": "rejected",
}
PAYOUT_STATES = {
    "pending": "acknowledged",
    "in_transit": "acknowledged",
    "paid": "settled",
    "failed": "rejected",
    "canceled": "rejected",
}


class StripeMappingError(ValueError):
    def __init__(self, message, path):
        super().__init__(f"{path}: {message}")
        self.path = path


# ----------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------
def to_amount(value, currency, path):
    """Stripe's integer minor units as an exact ``Decimal`` of the currency."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise StripeMappingError(f"{value!r} is not an integer amount", path)
    code = (currency or "").upper()
    exponent = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    return Decimal(value).scaleb(-exponent)


def to_date(value, path, required=True):
    if value in (None, ""):
        if required:
            raise StripeMappingError("a date is required", path)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise StripeMappingError(f"{value!r} is not a unix time", path)
    return datetime.datetime.fromtimestamp(value, datetime.UTC).date()


def _currency(obj, path):
    code = obj.get("currency")
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha():
        raise StripeMappingError(f"{code!r} is not a currency", f"{path}.currency")
    return code.upper()


def _id(value):
    """The id of an expandable field (a string, or the expanded object)."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) else None


def _blank(external_id, kind, state, currency, amount, fee, day, stripe):
    return {
        "external_id": external_id,
        "kind": kind,
        "state": state,
        "amount": amount,
        "fee": fee if fee is not None else Decimal(0),
        "currency": currency,
        "booking_date": day,
        "value_date": None,
        "counterparty_name": None,
        "counterparty_account": None,
        "remittance": None,
        "structured_reference": None,
        "end_to_end_id": None,
        "payment_reference": None,
        "bank_reference": None,
        "reason": None,
        "stripe": {
            "object_id": external_id,
            "balance_transaction": None,
            "fee_known": fee is not None,
            "reverses": None,
            "payout": None,
            "arrival_date": None,
            "payout_status": None,
            **stripe,
        },
    }


def _references(vals, obj):
    """Invoice reference, payment intent and payer of a charge-like object."""
    metadata = obj.get("metadata") or {}
    invoice = next((str(metadata[key]) for key in INVOICE_KEYS if metadata.get(key)), None)
    payment_intent = _id(obj.get("payment_intent"))
    billing = obj.get("billing_details") or {}
    method = (obj.get("payment_method_details") or {}).get("type")
    label = " ".join(
        part for part in ("stripe", invoice, obj.get("object"), obj.get("id"), method) if part
    )
    vals.update(
        remittance=invoice or obj.get("description") or label,
        end_to_end_id=payment_intent,
        payment_reference=payment_intent or obj.get("id"),
        counterparty_name=billing.get("name") or None,
        bank_reference=label,
    )
    return vals


# ----------------------------------------------------------------------
# Balance transactions (the pull)
# ----------------------------------------------------------------------
def map_balance_transaction(bt, path="balance_transaction"):
    """One balance transaction -> one canonical dict (see the module docstring)."""
    if not isinstance(bt, dict) or not str(bt.get("id", "")).startswith("txn_"):
        raise StripeMappingError("not a balance transaction", path)
    currency = _currency(bt, path)
    amount = to_amount(bt.get("amount"), currency, f"{path}.amount")
    fee = to_amount(bt.get("fee", 0), currency, f"{path}.fee")
    net = bt.get("net")
    if net is not None and to_amount(net, currency, f"{path}.net") != amount - fee:
        raise StripeMappingError(f"net {net} is not amount {amount} - fee {fee}", path)
    day = to_date(bt.get("created"), f"{path}.created")
    source = bt.get("source")
    source_obj = source if isinstance(source, dict) else {}
    source_id = _id(source) or bt["id"]
    kind, external_id, reverses = _classify(bt, source_obj, source_id, amount)
    vals = _blank(
        external_id,
        kind,
        "settled",
        currency,
        amount,
        fee,
        day,
        {"balance_transaction": bt["id"], "reverses": reverses},
    )
    vals["value_date"] = to_date(bt.get("available_on"), f"{path}.available_on", required=False)
    if kind in ("charge", "refund"):
        _references(vals, source_obj or {"id": source_id, "object": kind})
        if not source_obj:
            vals["remittance"] = bt.get("description") or vals["remittance"]
    else:
        vals["remittance"] = bt.get("description") or f"stripe {bt.get('type')} {source_id}"
        vals["bank_reference"] = f"stripe {bt.get('type')} {source_id}"
    if kind == "payout":
        payout_id = external_id.split(":")[0]
        vals["stripe"].update(
            payout=payout_id,
            arrival_date=to_date(source_obj.get("arrival_date"), path, required=False),
            payout_status=source_obj.get("status"),
        )
        if external_id.endswith(":failed"):
            vals["stripe"]["reverses"] = payout_id
    return vals


def _classify(bt, source, source_id, amount):
    """(kind, external id, id of the transaction it reverses) of a balance transaction."""
    bt_type = bt.get("type") or ""
    category = bt.get("reporting_category") or ""
    obj = source.get("object") or ""
    if obj == "dispute" or source_id.startswith("dp_") or category.startswith("dispute"):
        if category == "dispute_reversal" or amount > 0:
            return "dispute", f"{source_id}:won", source_id
        return "dispute", source_id, source.get("charge")
    if obj == "payout" or bt_type in ("payout", "payout_cancel", "payout_failure"):
        if bt_type in ("payout_cancel", "payout_failure") or amount > 0:
            return "payout", f"{source_id}:failed", source_id
        return "payout", source_id, None
    if obj == "refund" or bt_type in ("refund", "payment_refund"):
        return "refund", source_id, _id(source.get("charge"))
    if obj == "charge" or bt_type in ("charge", "payment"):
        return "charge", source_id, None
    if bt_type in ("stripe_fee", "application_fee", "tax") or category == "fee":
        return "fee", bt["id"], None
    return "adjustment", bt["id"], None


# ----------------------------------------------------------------------
# Webhook events
# ----------------------------------------------------------------------
def map_event(event):
    """A webhook event -> the canonical dicts it carries (``[]`` when none)."""
    if not isinstance(event, dict) or event.get("object") != "event":
        raise StripeMappingError("not a Stripe event", "event")
    event_type = event.get("type") or ""
    obj = (event.get("data") or {}).get("object")
    if not isinstance(obj, dict):
        raise StripeMappingError("no data.object", "event.data")
    kind = obj.get("object")
    if kind == "charge" and event_type.startswith("charge.") and ".dispute." not in event_type:
        result = [map_charge(obj)]
        refunds = (obj.get("refunds") or {}).get("data") or []
        result += [map_refund(refund, f"refunds[{i}]") for i, refund in enumerate(refunds)]
        return result
    if kind == "refund":
        return [map_refund(obj)]
    if kind == "dispute":
        return map_dispute(obj)
    if kind == "payout":
        return map_payout_with_return(obj)
    if kind == "balance_transaction":
        return [map_balance_transaction(obj)]
    return []


def _expanded_fee(obj, currency, path):
    """The fee of an object's balance transaction when it came expanded, else None."""
    bt = obj.get("balance_transaction")
    if isinstance(bt, dict):
        return to_amount(bt.get("fee", 0), currency, f"{path}.balance_transaction.fee")
    return None


def map_charge(charge, path="charge"):
    currency = _currency(charge, path)
    captured = charge.get("captured", True)
    status = charge.get("status")
    if status == "succeeded":
        state = "settled" if captured else "acknowledged"
    else:
        state = CHARGE_STATES.get(status, "initiated")
    value = charge.get("amount_captured") if captured and charge.get("amount_captured") else None
    amount = to_amount(value if value is not None else charge.get("amount"), currency, path)
    vals = _blank(
        charge["id"],
        "charge",
        state,
        currency,
        amount,
        _expanded_fee(charge, currency, path),
        to_date(charge.get("created"), f"{path}.created"),
        {"balance_transaction": _id(charge.get("balance_transaction"))},
    )
    return _references(vals, charge)


def map_refund(refund, path="refund"):
    currency = _currency(refund, path)
    amount = -to_amount(refund.get("amount"), currency, f"{path}.amount")
    vals = _blank(
        refund["id"],
        "refund",
        REFUND_STATES.get(refund.get("status"), "settled"),
        currency,
        amount,
        _expanded_fee(refund, currency, path),
        to_date(refund.get("created"), f"{path}.created"),
        {
            "balance_transaction": _id(refund.get("balance_transaction")),
            "reverses": _id(refund.get("charge")),
        },
    )
    return _references(vals, refund)


def map_dispute(dispute, path="dispute"):
    """A dispute: the withdrawal once funds left, and the reinstatement once won."""
    currency = _currency(dispute, path)
    day = to_date(dispute.get("created"), f"{path}.created")
    bts = [bt for bt in dispute.get("balance_transactions") or [] if isinstance(bt, dict)]
    withdrawn = [bt for bt in bts if (bt.get("amount") or 0) < 0]
    reinstated = [bt for bt in bts if (bt.get("amount") or 0) > 0]
    charge_id = _id(dispute.get("charge"))
    if withdrawn:
        result = [map_balance_transaction(withdrawn[0], f"{path}.balance_transactions[0]")]
        result[0]["external_id"] = result[0]["stripe"]["object_id"] = dispute["id"]
        result[0]["stripe"]["reverses"] = charge_id
        result[0]["kind"] = "dispute"
    else:
        amount = -to_amount(dispute.get("amount"), currency, f"{path}.amount")
        result = [
            _blank(
                dispute["id"],
                "dispute",
                "acknowledged",
                currency,
                amount,
                None,
                day,
                {"reverses": charge_id},
            )
        ]
    result[0]["remittance"] = f"stripe dispute {dispute['id']} ({dispute.get('reason') or '-'})"
    if reinstated or dispute.get("status") == "won":
        if reinstated:
            won = map_balance_transaction(reinstated[0], f"{path}.balance_transactions")
        else:
            won = _blank(
                "",
                "dispute",
                "settled",
                currency,
                -result[0]["amount"],
                None,
                day,
                {},
            )
        won["external_id"] = won["stripe"]["object_id"] = f"{dispute['id']}:won"
        won["kind"] = "dispute"
        won["stripe"]["reverses"] = dispute["id"]
        won["remittance"] = f"stripe dispute {dispute['id']} won"
        result.append(won)
    return result


def map_payout_with_return(payout, path="payout"):
    """A payout, and the money coming back to the balance when it failed or was canceled.

    Stripe takes a payout's amount from the balance when it creates it; a
    failed or canceled payout gives it back (``<po_id>:failed``, the same
    transaction a pull finds as the ``payout_failure`` balance transaction).
    """
    vals = map_payout(payout, path)
    if payout.get("status") not in ("failed", "canceled"):
        return [vals]
    back = _blank(
        f"{payout['id']}:failed",
        "payout",
        "settled",
        vals["currency"],
        -vals["amount"],
        None,
        vals["booking_date"],
        {"payout": payout["id"], "reverses": payout["id"], "payout_status": payout.get("status")},
    )
    back["stripe"]["fee_known"] = True
    back["remittance"] = f"stripe payout {payout['id']} {payout.get('status')}"
    back["bank_reference"] = back["remittance"]
    return [vals, back]


def map_transfer(transfer, path="transfer"):
    """A Connect transfer: money leaving the balance for a connected account."""
    currency = _currency(transfer, path)
    vals = _blank(
        transfer["id"],
        "adjustment",
        "reversed" if transfer.get("reversed") else "settled",
        currency,
        -to_amount(transfer.get("amount"), currency, f"{path}.amount"),
        None,
        to_date(transfer.get("created"), f"{path}.created"),
        {"balance_transaction": _id(transfer.get("balance_transaction"))},
    )
    vals["stripe"]["fee_known"] = True
    vals["remittance"] = transfer.get("description") or f"stripe transfer {transfer['id']}"
    vals["bank_reference"] = f"stripe transfer {transfer['id']}"
    return vals


def map_payout(payout, path="payout"):
    currency = _currency(payout, path)
    status = payout.get("status")
    amount = -to_amount(payout.get("amount"), currency, f"{path}.amount")
    vals = _blank(
        payout["id"],
        "payout",
        PAYOUT_STATES.get(status, "acknowledged"),
        currency,
        amount,
        None,
        to_date(payout.get("created"), f"{path}.created"),
        {
            "balance_transaction": _id(payout.get("balance_transaction")),
            "payout": payout["id"],
            "arrival_date": to_date(payout.get("arrival_date"), f"{path}.arrival_date", False),
            "payout_status": status,
        },
    )
    vals["stripe"]["fee_known"] = True
    vals["remittance"] = payout.get("statement_descriptor") or payout.get("description")
    vals["bank_reference"] = f"stripe payout {payout['id']}"
    vals["value_date"] = vals["stripe"]["arrival_date"]
    return vals
