"""Salesforce Opportunities and their line items as plain values (no Odoo imports).

Contract: ``map_opportunity(record, currency_field)`` and ``map_line(record)``
take a record as REST (JSON types) or Bulk API 2.0 (CSV strings) returns it
and give canonical values; ``deal_signature`` is a stable digest of what the
Odoo document is made of (account, currency, lines), so a record read again
with nothing billable changed leaves the document alone. ``writeback_values``
maps an invoice's state onto the connector's custom field API names.
"""

import hashlib
import json

from .salesforce_mapper import SalesforceMappingError, canonical_stamp

OPPORTUNITY_FIELDS = (
    "Id",
    "Name",
    "AccountId",
    "StageName",
    "IsWon",
    "CloseDate",
    "Amount",
    "HasOpportunityLineItem",
    "SystemModstamp",
)
LINE_FIELDS = (
    "Id",
    "OpportunityId",
    "ProductCode",
    "Description",
    "Quantity",
    "UnitPrice",
    "Discount",
    "SortOrder",
    "SystemModstamp",
)
# Write-back statuses, in the order an invoice goes through them.
STATUSES = ("posted", "overdue", "paid")


def opportunity_fields(currency_field=None):
    return OPPORTUNITY_FIELDS + ((currency_field,) if currency_field else ())


def _text(value):
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value, name):
    """A number of a JSON or CSV record (None when empty)."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise SalesforceMappingError(f"unreadable {name} {value!r}") from err


def _flag(value):
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def map_opportunity(record, currency_field=None):
    if not record.get("Id"):
        raise SalesforceMappingError("an opportunity without Id")
    return {
        "id": record["Id"],
        "name": _text(record.get("Name")),
        "account": _text(record.get("AccountId")),
        "stage": _text(record.get("StageName")),
        "close_date": _text(record.get("CloseDate")),
        "amount": _number(record.get("Amount"), "Amount"),
        "has_lines": _flag(record.get("HasOpportunityLineItem")),
        "currency": (_text(record.get(currency_field)) or "").upper() or None
        if currency_field
        else None,
        "stamp": canonical_stamp(record.get("SystemModstamp")),
    }


def map_line(record):
    if not record.get("Id") or not record.get("OpportunityId"):
        raise SalesforceMappingError("an opportunity line without Id or OpportunityId")
    sort_order = _number(record.get("SortOrder"), "SortOrder")
    return {
        "id": record["Id"],
        "opportunity": record["OpportunityId"],
        "code": _text(record.get("ProductCode")),
        "description": _text(record.get("Description")),
        "quantity": _number(record.get("Quantity"), "Quantity") or 0.0,
        "price_unit": _number(record.get("UnitPrice"), "UnitPrice") or 0.0,
        "discount": _number(record.get("Discount"), "Discount") or 0.0,
        "sequence": int(sort_order) if sort_order is not None else 0,
        "stamp": canonical_stamp(record.get("SystemModstamp")),
    }


def sorted_lines(lines):
    """The lines of a deal in Salesforce's order (SortOrder, then Id)."""
    return sorted(lines.values(), key=lambda line: (line["sequence"], line["id"]))


def deal_signature(opportunity, lines):
    """Digest of what the document is made of; the same values give the same digest."""
    content = {
        "account": opportunity.get("account"),
        "currency": opportunity.get("currency"),
        "lines": [
            [
                line["code"],
                line["description"],
                line["quantity"],
                line["price_unit"],
                line["discount"],
            ]
            for line in sorted_lines(lines)
        ],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def writeback_values(field_names, state):
    """``{API name: value}`` of an invoice's state on the configured custom fields.

    ``field_names``: ``{"number", "status", "amount_paid", "paid_date"}`` ->
    API name (an empty name is left out); ``state``: the same keys -> value.
    """
    return {api_name: state.get(key) for key, api_name in field_names.items() if api_name}
