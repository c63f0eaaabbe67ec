"""Redaction of secrets and account numbers before anything is logged or shown.

``redact(value)`` walks dicts, lists and strings and returns a copy in which
values under secret-looking keys are replaced by ``"***"`` and long digit runs
(card and account numbers, IBANs) keep only their last four characters.
"""

import re

REDACTED = "***"

SECRET_KEY_RE = re.compile(
    r"(secret|token|password|passwd|api[_-]?key|authorization|signature|credential|"
    r"private[_-]?key|client[_-]?secret|cookie)",
    re.IGNORECASE,
)
# IBANs (2 letters, 2 digits, 10-30 alphanumerics) and digit runs of 8 or more
# (account and card numbers, possibly grouped by spaces or dashes).
ACCOUNT_RE = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b|\b\d(?:[ -]?\d){7,}\b")
BEARER_RE = re.compile(r"(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def mask_account(number):
    """``"NL91ABNA0417164300"`` -> ``"****4300"``; short or empty values unchanged."""
    if not number:
        return number
    compact = re.sub(r"[\s-]", "", str(number))
    if len(compact) <= 4:
        return compact
    return "****" + compact[-4:]


def redact_text(text):
    """Mask account numbers and bearer tokens inside free text."""
    if not text:
        return text
    text = BEARER_RE.sub(lambda m: m.group(1) + " " + REDACTED, str(text))
    return ACCOUNT_RE.sub(lambda m: mask_account(m.group(0)), text)


def redact(value, _key=None):
    """Return a redacted deep copy of ``value`` (dict, list, tuple or scalar)."""
    if _key is not None and SECRET_KEY_RE.search(str(_key)):
        return REDACTED if value not in (None, "", False) else value
    if isinstance(value, dict):
        return {key: redact(val, key) for key, val in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(item) for item in value)
    if isinstance(value, str):
        return redact_text(value)
    return value
