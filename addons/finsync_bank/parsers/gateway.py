"""PayPal reports and Stripe API objects for ``setup/parse``. No Odoo imports here.

``sniff(data)`` says whether ``data`` is a gateway file (``"paypal"`` for an
activity export, STL or TRR report; ``"stripe"`` for any JSON, read as a
Stripe balance transaction, charge, refund, dispute, payout or transfer, or a
list envelope of them, and refused when it is none of these); ``parse(data, filename)`` returns the
document ``setup/parse`` prints, built with the mappers the connectors use
(loaded from the sibling addons by path, so this runs without Odoo). Anything
unreadable raises ``ParseError``.
"""

import importlib.util
import json
import sys
from pathlib import Path

from .base import ParseError

ADDONS = Path(__file__).resolve().parents[2]
STRIPE_OBJECTS = ("balance_transaction", "charge", "refund", "dispute", "payout", "transfer")
PAYPAL_SECTION_ROWS = ("RH", "FH", "SH", "CH")
ORDER_KEYS = ("order_id", "order")


def _adapters(addon):
    """The ``adapters`` package of ``addon``, imported by path under a private name."""
    name = f"_finsync_setup_{addon}_adapters"
    if name not in sys.modules:
        folder = ADDONS / addon / "adapters"
        spec = importlib.util.spec_from_file_location(
            name, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    return sys.modules[name]


def _module(addon, module):
    package = _adapters(addon)
    return importlib.import_module(f"{package.__name__}.{module}")


def sniff(data):
    """``"paypal"``, ``"stripe"`` or ``None``."""
    head = data.lstrip(b"\xef\xbb\xbf").lstrip()
    if head[:1] in (b"{", b"["):
        # No bank format starts so: JSON is read (and refused) as Stripe's.
        return "stripe"
    first = head.split(b"\n", 1)[0].decode("cp1252", "replace")
    cells = [cell.strip().strip('"').strip() for cell in first.split(",")]
    if cells and cells[0] in PAYPAL_SECTION_ROWS:
        return "paypal"
    if "Transaction ID" in cells and "Gross" in cells:
        return "paypal"
    return None


def _stripe_objects(document):
    """The Stripe objects of a JSON document, or ``None`` when it holds none."""
    # A list envelope; API mocks sometimes drop its "object": "list".
    if isinstance(document, dict) and document.get("object", "list") == "list":
        items = document.get("data")
        if (
            isinstance(items, list)
            and items
            and all(
                isinstance(item, dict) and item.get("object") in STRIPE_OBJECTS for item in items
            )
        ):
            return items
        return None
    if isinstance(document, dict) and document.get("object") in STRIPE_OBJECTS:
        return [document]
    return None


def parse(data, filename):
    """The ``setup/parse`` document of a gateway file (see ``sniff``)."""
    kind = sniff(data)
    if kind == "paypal":
        return _parse_paypal(data, filename)
    if kind == "stripe":
        return _parse_stripe(data, filename)
    raise ParseError("unknown_format", "not a PayPal report or Stripe object")


def _row(vals, parent_id, order_id, payout_id):
    amount, fee = vals["amount"], vals["fee"]
    if fee.as_tuple().exponent > amount.as_tuple().exponent:
        fee = fee.quantize(amount)  # an unknown fee (0) in the amount's decimals
    return {
        "id": vals["external_id"],
        "type": vals["kind"],
        "currency": vals["currency"],
        "gross": str(amount),
        "fee": str(fee),
        "net": str(amount - fee),
        "date": vals["booking_date"].isoformat() if vals["booking_date"] else None,
        "parent_id": parent_id,
        "order_id": order_id,
        "payout_id": payout_id,
    }


def _parse_paypal(data, filename):
    reports = _module("finsync_paypal", "paypal_reports")
    try:
        result = reports.parse_report(data, filename)
    except reports.PayPalReportError as err:
        raise ParseError("paypal_report", err.problem, line=err.line) from err
    transactions = []
    for vals in result.rows:
        paypal = vals["paypal"]
        payout = vals["external_id"] if paypal["category"] == "withdrawal" else None
        transactions.append(_row(vals, paypal["reference"], paypal["invoice_id"], payout))
    return {"file": filename, "format": result.format, "transactions": transactions}


def _order_id(obj, invoice_keys):
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(metadata, dict):
        return None
    return next(
        (str(metadata[key]) for key in (*invoice_keys, *ORDER_KEYS) if metadata.get(key)), None
    )


def _map_stripe(mapper, obj, path):
    kind = obj["object"]
    if kind == "balance_transaction":
        return [mapper.map_balance_transaction(obj, path)], obj.get("source")
    if kind == "charge":
        return [mapper.map_charge(obj, path)], obj
    if kind == "refund":
        return [mapper.map_refund(obj, path)], obj
    if kind == "dispute":
        return mapper.map_dispute(obj, path), obj
    if kind == "payout":
        return mapper.map_payout_with_return(obj, path), obj
    return [mapper.map_transfer(obj, path)], obj


def _parse_stripe(data, filename):
    mapper = _module("finsync_stripe", "stripe_mapper")
    try:
        document = json.loads(data.lstrip(b"\xef\xbb\xbf").decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ParseError("encoding", "not UTF-8 JSON") from err
    except ValueError as err:
        raise ParseError("json", f"unreadable JSON: {err.msg}", line=err.lineno) from err
    objects = _stripe_objects(document)
    if objects is None:
        raise ParseError(
            "unknown_format",
            "a JSON file, but not a Stripe balance transaction, charge, refund, dispute, payout"
            " or transfer, nor a list of them",
        )
    transactions = []
    for index, obj in enumerate(objects):
        path = f"data[{index}]" if document is not obj else obj["object"]
        if not isinstance(obj.get("id"), str):
            raise ParseError("stripe_object", "an object without an id", element=path)
        try:
            mapped, source = _map_stripe(mapper, obj, path)
        except mapper.StripeMappingError as err:
            raise ParseError("stripe_object", str(err), element=err.path) from err
        except (KeyError, TypeError, ValueError) as err:
            raise ParseError("stripe_object", f"unreadable {obj['object']}", element=path) from err
        order = _order_id(source, mapper.INVOICE_KEYS)
        for vals in mapped:
            stripe = vals["stripe"]
            transactions.append(_row(vals, stripe["reverses"], order, stripe["payout"]))
    return {"file": filename, "format": "stripe", "transactions": transactions}
