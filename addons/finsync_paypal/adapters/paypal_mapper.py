"""PayPal records -> canonical transaction values (see finsync_base.tools.canonical).

``map_transaction(detail)`` maps one ``transaction_details`` item of the
Transaction Search API; ``map_webhook_event(event)`` maps a webhook event to
the transactions it tells about (none for event types that move no money);
``paypal_reports`` builds the same values from PayPal's report files. Every
result is a dict in the canonical parser's output shape (amounts as
``Decimal``, signed: money into the PayPal balance is positive; ``fee`` is the
cost PayPal kept, so ``net = amount - fee``, and a fee PayPal gives back on a
refund is negative) plus a ``paypal`` dict::

    {"event_code", "category", "reference", "reverses", "invoice_id", "status",
     "fee_known", "bank_reference_id", "moment"}

``reference`` is the transaction PayPal relates a row to (the authorization of
a payment, the payment a conversion paid for...); ``reverses`` is the same id
only when the row undoes it (refunds, chargebacks and their reversals,
releases, returned payouts).

``category`` says what the money did, whatever the source called it:

- ``payment`` (money received: T00xx credit), ``payment_sent`` (T00xx debit),
- ``refund`` (T1107 and other refunds), ``chargeback`` (T1201, T1106 payment
  reversals), ``chargeback_reversal`` (T1202: money back after a dispute),
- ``withdrawal`` (T04xx: payout to the bank; a credit is a returned payout),
- ``hold`` / ``release`` (T15xx and dispute holds, by sign),
- ``conversion`` (T02xx: one leg per currency, linked to what caused it),
- ``fee`` (T01xx, fee_amount-only rows), ``deposit`` (T03xx), ``other``.

The external id is PayPal's transaction id, which is also the id of the
capture or refund in webhook events, so a payment told by a webhook and later
pulled is one transaction.
"""

import datetime
import re
from decimal import Decimal, InvalidOperation

KIND_BY_CATEGORY = {
    "payment": "charge",
    "payment_sent": "adjustment",
    "refund": "refund",
    "chargeback": "dispute",
    "chargeback_reversal": "dispute",
    "withdrawal": "payout",
    "hold": "adjustment",
    "release": "adjustment",
    "conversion": "adjustment",
    "fee": "fee",
    "deposit": "adjustment",
    "other": "adjustment",
}
# transaction_status of the reporting API and the reports.
STATES = {"S": "settled", "P": "acknowledged", "D": "rejected", "F": "rejected", "V": "reversed"}
# Webhook resource status.
RESOURCE_STATES = {
    "COMPLETED": "settled",
    "PENDING": "acknowledged",
    "DECLINED": "rejected",
    "DENIED": "rejected",
    "FAILED": "rejected",
    "REFUNDED": "settled",
    "PARTIALLY_REFUNDED": "settled",
    "REVERSED": "reversed",
    "completed": "settled",
    "pending": "acknowledged",
    "denied": "rejected",
    "refunded": "settled",
    "partially_refunded": "settled",
    "reversed": "reversed",
}
CODE_RE = re.compile(r"^T\d{4}$")
REVERSING = frozenset({"refund", "chargeback", "chargeback_reversal", "release", "withdrawal"})


class PayPalMappingError(ValueError):
    def __init__(self, message, path):
        super().__init__(f"{path}: {message}")
        self.path = path


# ----------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------
def to_decimal(value, path):
    """A PayPal decimal string (``"-13.79"``) as an exact ``Decimal``."""
    if isinstance(value, bool) or isinstance(value, float) or value in (None, ""):
        raise PayPalMappingError(f"{value!r} is not a decimal amount", path)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as err:
        raise PayPalMappingError(f"{value!r} is not a decimal amount", path) from err
    if not amount.is_finite():
        raise PayPalMappingError(f"{value!r} is not a decimal amount", path)
    return amount


def money(obj, path, required=True):
    """``{"currency_code", "value"}`` -> (currency, Decimal); None when absent and optional."""
    if not obj:
        if required:
            raise PayPalMappingError("an amount is required", path)
        return None, None
    if not isinstance(obj, dict):
        raise PayPalMappingError(f"{obj!r} is not an amount", path)
    code = obj.get("currency_code") or obj.get("currency")
    if not isinstance(code, str) or len(code) != 3 or not code.isalpha():
        raise PayPalMappingError(f"{code!r} is not a currency", f"{path}.currency_code")
    raw = obj.get("value") if "value" in obj else obj.get("total")
    return code.upper(), to_decimal(raw, f"{path}.value")


def to_moment(value, path, required=True):
    """PayPal's ISO time (``2014-07-11T04:03:52+0000``, ``...Z``) as an aware datetime."""
    if value in (None, ""):
        if required:
            raise PayPalMappingError("a date is required", path)
        return None
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    match = re.match(r"^(.*[T ]\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d):?(\d\d)$", text)
    if match:
        text = f"{match.group(1)}{match.group(2)}:{match.group(3)}"
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError as err:
        raise PayPalMappingError(f"{value!r} is not a date and time", path) from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


def category_of(event_code, amount):
    """What a PayPal T-code means for the balance (see the module docstring)."""
    code = event_code or ""
    group = code[:3]
    if code == "T1107":
        return "refund"
    if code in ("T1201", "T1106"):
        return "chargeback"
    if code == "T1202":
        return "chargeback_reversal"
    if code == "T1110":
        return "hold"
    if code in ("T1111", "T1105"):
        return "release"
    if code == "T1108":
        return "fee"
    if group == "T11":
        return "refund" if amount <= 0 else "chargeback_reversal"
    if group == "T12":
        return "chargeback" if amount < 0 else "chargeback_reversal"
    if group == "T00":
        return "payment" if amount >= 0 else "payment_sent"
    if group == "T04":
        return "withdrawal"
    if group == "T15":
        return "hold" if amount < 0 else "release"
    if group == "T02":
        return "conversion"
    if group == "T01":
        return "fee"
    if group == "T03":
        return "deposit"
    return "other"


def blank(external_id, category, state, currency, amount, fee, moment, paypal):
    """A canonical dict with every key, for the mappers and report parsers."""
    reference = paypal.pop("reference", None) or None
    # A payout to the bank reverses something only when it comes back (a credit).
    undoes = category in REVERSING and (category != "withdrawal" or amount > 0)
    vals = {
        "external_id": external_id,
        "kind": KIND_BY_CATEGORY[category],
        "state": state,
        "amount": amount,
        "fee": fee if fee is not None else Decimal(0),
        "currency": currency,
        "booking_date": moment.date(),
        "value_date": None,
        "counterparty_name": None,
        "counterparty_account": None,
        "remittance": None,
        "structured_reference": None,
        "end_to_end_id": None,
        "payment_reference": external_id,
        "bank_reference": None,
        "reason": None,
        "paypal": {
            "event_code": None,
            "category": category,
            "reference": reference,
            "reverses": reference if undoes else None,
            "invoice_id": None,
            "status": None,
            "fee_known": fee is not None,
            "bank_reference_id": None,
            "moment": moment,
            **paypal,
        },
    }
    return vals


def describe(vals, invoice=None, subject=None, note=None):
    """Remittance and bank reference as people and the matching engine read them."""
    paypal = vals["paypal"]
    label = " ".join(
        part
        for part in ("paypal", paypal["event_code"] or paypal["category"], vals["external_id"])
        if part
    )
    words = [part.strip() for part in (invoice, subject, note) if part and part.strip()]
    vals["remittance"] = " ".join(dict.fromkeys(words[:2])) or label
    vals["bank_reference"] = label
    paypal["invoice_id"] = invoice or None
    return vals


# ----------------------------------------------------------------------
# Transaction Search (the pull)
# ----------------------------------------------------------------------
def map_transaction(detail, path="transaction_details[0]"):
    """One ``transaction_details`` item -> one canonical dict."""
    if not isinstance(detail, dict) or not isinstance(detail.get("transaction_info"), dict):
        raise PayPalMappingError("no transaction_info", path)
    info = detail["transaction_info"]
    where = f"{path}.transaction_info"
    tx_id = info.get("transaction_id")
    if not isinstance(tx_id, str) or not tx_id.strip():
        raise PayPalMappingError("no transaction_id", where)
    code = info.get("transaction_event_code") or ""
    if code and not CODE_RE.match(code):
        raise PayPalMappingError(f"{code!r} is not a T-code", f"{where}.transaction_event_code")
    currency, amount = money(info.get("transaction_amount"), f"{where}.transaction_amount")
    fee_currency, fee_value = money(info.get("fee_amount"), f"{where}.fee_amount", False)
    if fee_currency and fee_currency != currency:
        raise PayPalMappingError(
            f"fee in {fee_currency}, amount in {currency}", f"{where}.fee_amount"
        )
    status = info.get("transaction_status") or "S"
    category = category_of(code, amount)
    reference_type = info.get("paypal_reference_id_type")
    reference = info.get("paypal_reference_id") if reference_type in (None, "TXN") else None
    vals = blank(
        tx_id.strip(),
        category,
        STATES.get(status, "initiated"),
        currency,
        amount,
        -fee_value if fee_value is not None else None,
        to_moment(info.get("transaction_initiation_date"), f"{where}.transaction_initiation_date"),
        {
            "event_code": code or None,
            "status": status,
            "reference": reference,
            "bank_reference_id": info.get("bank_reference_id") or None,
        },
    )
    describe(
        vals,
        invoice=info.get("invoice_id"),
        subject=info.get("transaction_subject"),
        note=info.get("transaction_note"),
    )
    payer = detail.get("payer_info") or {}
    name = payer.get("payer_name") or {}
    vals["counterparty_name"] = (
        name.get("alternate_full_name")
        or " ".join(p for p in (name.get("given_name"), name.get("surname")) if p)
        or (detail.get("shipping_info") or {}).get("name")
        or None
    )
    vals["counterparty_account"] = payer.get("account_id") or None
    return vals


def map_page(page):
    """Every transaction of a Transaction Search page."""
    details = page.get("transaction_details") if isinstance(page, dict) else None
    if not isinstance(details, list):
        raise PayPalMappingError("no transaction_details list", "page")
    return [
        map_transaction(detail, f"transaction_details[{index}]")
        for index, detail in enumerate(details)
    ]


# ----------------------------------------------------------------------
# Webhook events
# ----------------------------------------------------------------------
def _link(resource, rel):
    for link in resource.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == rel and link.get("href"):
            return link["href"].rstrip("/").rsplit("/", 1)[-1]
    return None


def map_webhook_event(event):
    """A webhook event -> the canonical dicts it carries (``[]`` when none).

    Booked: captures (v2, ``PAYMENT.CAPTURE.*``) and sales (v1,
    ``PAYMENT.SALE.*``) with their fee, refunds of either, and reversals.
    Authorizations, orders and disputes being opened move no money yet.
    """
    if not isinstance(event, dict) or not isinstance(event.get("event_type"), str):
        raise PayPalMappingError("not a PayPal webhook event", "event")
    resource = event.get("resource")
    if not isinstance(resource, dict):
        raise PayPalMappingError("no resource", "event.resource")
    event_type = event["event_type"]
    if event_type in ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.SALE.REFUNDED"):
        return [_map_refund(resource, event_type)]
    if event_type in ("PAYMENT.CAPTURE.REVERSED", "PAYMENT.SALE.REVERSED"):
        return [_map_refund(resource, event_type, category="chargeback")]
    if event_type.startswith("PAYMENT.CAPTURE.") or event_type.startswith("PAYMENT.SALE."):
        return [_map_capture(resource, event_type)]
    return []


def _resource_id(resource, path):
    rid = resource.get("id")
    if not isinstance(rid, str) or not rid:
        raise PayPalMappingError("no id", f"{path}.id")
    return rid


def _map_capture(resource, event_type, path="event.resource"):
    rid = _resource_id(resource, path)
    currency, amount = money(resource.get("amount"), f"{path}.amount")
    breakdown = resource.get("seller_receivable_breakdown") or {}
    fee_obj = breakdown.get("paypal_fee") or resource.get("transaction_fee")
    _fee_currency, fee = money(fee_obj, f"{path}.paypal_fee", required=False)
    state = RESOURCE_STATES.get(resource.get("status") or resource.get("state"), "initiated")
    if event_type.endswith(".DENIED") or event_type.endswith(".DECLINED"):
        state = "rejected"
    vals = blank(
        rid,
        "payment",
        state,
        currency,
        amount,
        fee,
        to_moment(resource.get("create_time"), f"{path}.create_time"),
        {"status": resource.get("status") or resource.get("state")},
    )
    describe(
        vals,
        invoice=resource.get("invoice_id") or resource.get("invoice_number"),
        subject=resource.get("custom_id") or resource.get("custom"),
    )
    return vals


def _map_refund(resource, event_type, category="refund", path="event.resource"):
    rid = _resource_id(resource, path)
    currency, amount = money(resource.get("amount"), f"{path}.amount")
    breakdown = resource.get("seller_payable_breakdown") or {}
    _fee_currency, fee_back = money(breakdown.get("paypal_fee"), f"{path}.paypal_fee", False)
    state = RESOURCE_STATES.get(resource.get("status") or resource.get("state"), "settled")
    if category == "chargeback" and state == "reversed":
        state = "settled"  # the reversal itself is done: its money has left
    vals = blank(
        rid,
        category,
        state,
        currency,
        -abs(amount),
        -fee_back if fee_back is not None else None,
        to_moment(resource.get("create_time"), f"{path}.create_time"),
        {
            "status": resource.get("status") or resource.get("state"),
            "reference": _link(resource, "up") or resource.get("sale_id") or None,
        },
    )
    return describe(
        vals,
        invoice=resource.get("invoice_id") or resource.get("invoice_number"),
        note=resource.get("note_to_payer"),
    )
