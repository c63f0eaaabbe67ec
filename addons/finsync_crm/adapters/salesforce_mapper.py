"""Salesforce records -> canonical partner values, and the keys that find duplicates.

Pure functions (no Odoo imports), tested without a database:

- ``account_fields(vat_field, iban_field)`` / ``CONTACT_FIELDS``: what the
  pulls select;
- ``map_account(record, vat_field, iban_field)`` -> ``{"name", "street",
  "city", "zip", "country", "phone", "website", "vat", "iban"}``
  (``None`` where the record says nothing); ``map_contact(record)`` ->
  ``{"name", "email", "phone", "function", "account"}``;
- ``FIELD_SETS``: which canonical values each field set (the unit of
  ownership) holds;
- ``normalize_name``, ``normalize_code``, ``domain_of``: the duplicate keys;
- ``canonical_stamp``: one spelling of a ``SystemModstamp`` (REST and Bulk
  2.0 write it differently), the half of the idempotency key with the Id.
"""

import re
import unicodedata
from datetime import UTC, datetime

ACCOUNT_FIELDS = (
    "Id",
    "Name",
    "BillingStreet",
    "BillingCity",
    "BillingPostalCode",
    "BillingCountry",
    "Phone",
    "Website",
    "SystemModstamp",
)
CONTACT_FIELDS = (
    "Id",
    "AccountId",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "Title",
    "SystemModstamp",
)
# Field set (owned by the CRM or by Odoo, per connector) -> canonical values.
FIELD_SETS = {
    "name": ("name",),
    "address": ("street", "city", "zip", "country"),
    "phone": ("phone", "website"),
    "vat": ("vat",),
    "contacts": ("name", "email", "phone", "function"),
}
ACCOUNT_SETS = ("name", "address", "phone", "vat")
# Legal forms left out when comparing names ("Azure Interior Inc." = "Azure Interior").
LEGAL_FORMS = frozenset(
    "inc incorporated ltd limited llc plc corp corporation co company gmbh ag sa sas sarl "
    "bv nv srl spa oy ab as aps kg".split()
)


class SalesforceMappingError(ValueError):
    """A record FinSync cannot read (no Id, no stamp)."""


def account_fields(vat_field=None, iban_field=None):
    return ACCOUNT_FIELDS + tuple(name for name in (vat_field, iban_field) if name)


def _text(record, key):
    value = record.get(key)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def map_account(record, vat_field=None, iban_field=None):
    street = _text(record, "BillingStreet")
    return {
        "name": _text(record, "Name"),
        "street": street and " ".join(street.split()),
        "city": _text(record, "BillingCity"),
        "zip": _text(record, "BillingPostalCode"),
        "country": _text(record, "BillingCountry"),
        "phone": _text(record, "Phone"),
        "website": _text(record, "Website"),
        "vat": normalize_code(_text(record, vat_field)) if vat_field else None,
        "iban": normalize_code(_text(record, iban_field)) if iban_field else None,
    }


def map_contact(record):
    name = " ".join(
        part for part in (_text(record, "FirstName"), _text(record, "LastName")) if part
    )
    return {
        "name": name or None,
        "email": (_text(record, "Email") or "").lower() or None,
        "phone": _text(record, "Phone"),
        "function": _text(record, "Title"),
        "account": _text(record, "AccountId"),
    }


def normalize_name(name):
    """Lower case, accents and punctuation removed, legal forms left out, no spaces."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = text.replace(".", "")  # "S.A." is "sa"
    words = [word for word in re.split(r"[^a-z0-9]+", text) if word]
    kept = [word for word in words if word not in LEGAL_FORMS] or words
    return "".join(kept)


def normalize_code(value):
    """A VAT number or an IBAN: upper case letters and digits only."""
    return re.sub(r"[^A-Z0-9]", "", value.upper()) if value else None


def domain_of(value):
    """The domain of an e-mail address or a website, without ``www.`` (None for none)."""
    if not value:
        return None
    text = value.strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = re.sub(r"^[a-z]+://", "", text).split("/", 1)[0].split(":", 1)[0]
    text = text.removeprefix("www.")
    return text or None


def parse_stamp(value):
    """A Salesforce datetime (``...000+0000`` from REST, ``...000Z`` from Bulk 2.0)."""
    if not value:
        raise SalesforceMappingError("a record without SystemModstamp")
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise SalesforceMappingError(f"unreadable SystemModstamp {value!r}") from err
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def canonical_stamp(value):
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` of a Salesforce datetime (or a datetime)."""
    moment = value if isinstance(value, datetime) else parse_stamp(value)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def soql_datetime(moment):
    """A SOQL datetime literal (seconds, UTC): ``2026-01-01T00:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_key(sobject, record):
    """The idempotency key of a record's version: (sObject, Id, SystemModstamp)."""
    record_id = record.get("Id")
    if not record_id:
        raise SalesforceMappingError("a record without Id")
    return f"{sobject}/{record_id}/{canonical_stamp(record.get('SystemModstamp'))}"


def same(key, left, right):
    """Whether two canonical values say the same (websites without their scheme)."""
    if key == "website":
        left, right = (v and re.sub(r"^[a-z]+://", "", v.strip().lower()) for v in (left, right))
    return (left or None) == (right or None)
