"""The ``:86:`` information-to-account-owner dialects of MT940/MT942 (pure Python).

Each ``_parse_*`` takes the field's lines and returns the transaction values it
found (counterparty, remittance, references) or ``None`` when the text is not in
its dialect; ``DIALECTS`` lists them in the order ``mt940`` tries them.
"""

import re

IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
NO_REFERENCE = ("NONREF", "NOTPROVIDED")


def _clean(text):
    """Whitespace runs collapsed; ``None`` for nothing."""
    return " ".join((text or "").split()) or None


def _reference(text):
    text = _clean(text)
    return None if text is None or text.upper() in NO_REFERENCE else text


_SUBFIELDS_START = re.compile(r"^\s*(\d{3})\s*([?~<>+])\d{2}")
_PURPOSE_CODES = (*(str(n) for n in range(20, 30)), "60", "61", "62", "63")
_SEPA_KEYWORD = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|COAM|OAMT)\+")
_SEPA_EXTRA = {
    "KREF": "customer_reference_sepa",
    "MREF": "mandate_reference",
    "CRED": "creditor_id",
    "DEBT": "debtor_id",
    "ABWA": "ultimate_party",
    "ABWE": "ultimate_party",
}


def _parse_subfields(lines):
    """``166?00GUTSCHRIFT?20...?31IBAN?32name``: a code, then numbered subfields.

    Lines are wraps of one text (joined without a separator). ``?`` is the German
    DK standard; ING Romania uses ``~``, BRD ``+``, Triodos ``>``.
    """
    text = "".join(lines)
    start = _SUBFIELDS_START.match(text)
    if not start:
        return None
    separator = start.group(2)
    # A dangling separator closes some exports (ING Romania, "?" in German ones).
    body = text[start.start(2) :].rstrip().rstrip(separator)
    pieces = re.split(re.escape(separator) + r"(\d{2})", body)
    subfields = {}
    for code, value in zip(pieces[1::2], pieces[2::2], strict=True):
        subfields[code] = subfields.get(code, "") + value
    found = _sepa_purpose("".join(subfields.get(code, "") for code in _PURPOSE_CODES))
    found.update(_subfield_counterparty(subfields))
    found["extra"].update(
        {
            "gvc": start.group(1),
            "booking_text": _clean(subfields.get("00")),
            "primanota": _clean(subfields.get("10")),
            "counterparty_bank": _clean(subfields.get("30")),
            "text_key_extension": _clean(subfields.get("34")),
        }
    )
    found["extra"] = {key: value for key, value in found["extra"].items() if value}
    return found


def _subfield_counterparty(subfields):
    """Account from 38 (Polish IBAN) or 31, name from 32+33; ING Romania puts the IBAN in 33."""
    name_tail = subfields.get("33") or ""
    account = subfields.get("38") or subfields.get("31")
    if not account and IBAN.match(name_tail.replace(" ", "")):
        account, name_tail = name_tail, ""
    name = ((subfields.get("32") or "") + name_tail).strip(" /")
    return {
        "counterparty_account": (account or "").replace(" ", "") or None,
        "counterparty_name": _clean(name),
    }


def _sepa_purpose(purpose):
    """Split ``EREF+...SVWZ+...`` SEPA keywords of a purpose text."""
    pieces = _SEPA_KEYWORD.split(purpose)
    if len(pieces) == 1:
        return {"remittance": _clean(purpose), "extra": {}}
    values = {key: _clean(value) for key, value in zip(pieces[1::2], pieces[2::2], strict=True)}
    return {
        "end_to_end_id": _reference(values.get("EREF")),
        "remittance": values.get("SVWZ") or _clean(purpose),
        "extra": {name: values.get(key) for key, name in _SEPA_EXTRA.items() if values.get(key)},
    }


_SLASH_KEYS = (
    "EREF|PREF|KREF|MARF|CSID|CNTP|REMI|RTRN|IBAN|BIC|NAME|ADDR|ORDP|BENM|ULTD|ULTC|ULTB"
    "|TRTP|ISDT|PURP|SVCL|FEES|OCMT|EXCH|TRCD|BUSP|RTYP|CHGS"
)
_SLASH_START = re.compile(rf"^\s*/({_SLASH_KEYS})/")
_SLASH_SPLIT = re.compile(rf"/({_SLASH_KEYS})/")
_SLASH_EXTRA = {
    "MARF": "mandate_reference",
    "CSID": "creditor_id",
    "PREF": "payment_information_id",
    "RTRN": "return_reason",
    "TRTP": "booking_text",
    "ISDT": "instruction_date",
    "ADDR": "counterparty_address",
    "BIC": "counterparty_bic",
    "PURP": "purpose_code",
}


def _parse_slash_keyed(lines):
    """``/EREF/x//CNTP/iban/bic/name/city//REMI/USTD//text/`` (ING, ABN AMRO, Rabobank)."""
    text = "".join(lines)  # the keys delimit the values: line breaks are mere wraps
    if not _SLASH_START.match(text):
        return None
    pieces = _SLASH_SPLIT.split(text)
    values = {
        key: value.strip().strip("/") for key, value in zip(pieces[1::2], pieces[2::2], strict=True)
    }
    found = {
        "end_to_end_id": _reference(values.get("EREF")),
        "counterparty_account": values.get("IBAN") or None,
        "counterparty_name": _clean(values.get("NAME")),
        "extra": {name: _clean(values[key]) for key, name in _SLASH_EXTRA.items() if key in values},
    }
    if "CNTP" in values:
        account, bic, name, city = ([*values["CNTP"].split("/"), "", "", ""])[:4]
        found.update(counterparty_account=account.strip() or None, counterparty_name=_clean(name))
        found["extra"].update(counterparty_bic=bic.strip() or None, counterparty_city=_clean(city))
    if "ORDP" in values or "BENM" in values:
        found["extra"]["counterparty_role"] = "ordering" if "ORDP" in values else "beneficiary"
    found["remittance"], found["structured_reference"] = _slash_remittance(values.get("REMI"))
    found["extra"] = {key: value for key, value in found["extra"].items() if value}
    return found


def _slash_remittance(value):
    """``USTD//free text``, ``STRD/CUR/reference`` or plain text -> (remittance, reference)."""
    if value is None:
        return None, None
    kind, _sep, body = value.partition("/")
    if kind == "USTD":
        return _clean(body.strip("/")), None
    if kind == "STRD":
        _issuer, _sep, reference = body.partition("/")
        return None, _clean(reference.strip("/"))
    return _clean(value), None


_MBANK_START = re.compile(r"^(\d{3}) ([^;]*);")
_MBANK_KEYS = {
    "Z RACH.": "counterparty_account",
    "NA RACH.": "counterparty_account",
    "OD": "counterparty_name",
    "DO": "counterparty_name",
    "TYT.": "remittance",
}


def _parse_mbank(lines):
    """mBank: ``911 TRANSAKCJA; Z RACH.: account; OD: name; TYT.: title; TNR: ...``."""
    text = "".join(lines)  # mBank wraps at a fixed width, also inside words
    start = _MBANK_START.match(text)
    if not start:
        return None
    values = {}
    for segment in text[start.end() :].split(";"):
        key, sep, value = segment.partition(":")
        if sep:
            values[key.strip()] = _clean(value)
    if not set(values) & set(_MBANK_KEYS):
        return None
    found = {target: values.get(key) for key, target in _MBANK_KEYS.items() if values.get(key)}
    if found.get("counterparty_account"):
        found["counterparty_account"] = found["counterparty_account"].replace(" ", "")
    found["extra"] = {"gvc": start.group(1), "booking_text": _clean(start.group(2))}
    if values.get("TNR"):
        found["extra"]["transaction_number"] = values["TNR"]
    return found


_POSTFINANCE_LABELS = {
    "AUFTRAGGEBER": "counterparty_name",
    "ZAHLUNGSEMPFAENGER": "counterparty_name",
    "ZAHLUNGSEMPFÄNGER": "counterparty_name",
    "DONNEUR D'ORDRE": "counterparty_name",
    "BENEFICIAIRE": "counterparty_name",
    "BÉNÉFICIAIRE": "counterparty_name",
    "MITTEILUNGEN": "remittance",
    "COMMUNICATIONS": "remittance",
    "REFERENZEN": "structured_reference",
    "REFERENCES": "structured_reference",
    "RÉFÉRENCES": "structured_reference",
}
_POSTFINANCE_SPLIT = re.compile(
    r"\b(" + "|".join(re.escape(label) for label in _POSTFINANCE_LABELS) + r"):"
)


def _parse_postfinance(lines):
    """PostFinance: ``GIRO AUS KONTO ... AUFTRAGGEBER: name MITTEILUNGEN: text``."""
    text = " ".join(line.strip() for line in lines)
    pieces = _POSTFINANCE_SPLIT.split(text)
    if len(pieces) == 1:
        return None
    found = {"extra": {"booking_text": _clean(pieces[0])} if _clean(pieces[0]) else {}}
    for label, value in zip(pieces[1::2], pieces[2::2], strict=True):
        found.setdefault(_POSTFINANCE_LABELS[label], _clean(value))
    return found


_LEADING_ACCOUNT = re.compile(r"^\s*([A-Z]{2}\d{2}[A-Z0-9]{10,30})\s+(\S.*)$")


def _parse_leading_account(lines):
    """SNS / ASN: a first line ``IBAN name``, then the remittance lines."""
    first = _LEADING_ACCOUNT.match(lines[0])
    if not first:
        return None
    return {
        "counterparty_account": first.group(1),
        "counterparty_name": _clean(first.group(2)),
        "remittance": _clean(" ".join(lines[1:])),
    }


def _parse_free_text(lines):
    """Anything else: the text is the remittance."""
    return {"remittance": _clean(" ".join(lines))}


DIALECTS = (
    ("subfields", _parse_subfields),
    ("slash_keyed", _parse_slash_keyed),
    ("mbank", _parse_mbank),
    ("postfinance", _parse_postfinance),
    ("leading_account", _parse_leading_account),
    ("free_text", _parse_free_text),
)
