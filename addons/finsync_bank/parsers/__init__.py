"""Bank statement parsers: bytes in, ``ParseResult`` out. No Odoo imports here.

``parse_file(data, filename, profile=None)`` detects the format and returns the
normalised ``base.ParseResult``; every format module follows the contract in
``base``'s docstring.
"""

from . import bai2, camt, csv_profile, mt940, ofx
from .base import DEFAULT_MAX_BYTES, ParseError, ParseResult, result_to_json

# Detection order matters: the cheap, unambiguous signatures first; CSV last,
# since nearly any text passes for CSV and it needs a mapping profile anyway.
SNIFFED_MODULES = (camt, ofx, mt940, bai2)
# Line formats read as single-byte text: a NUL byte there is binary data (CSV
# checks its decoded text itself, its encoding may be UTF-16; XML refuses NUL).
TEXT_MODULES = (ofx, mt940, bai2)

__all__ = ["ParseError", "ParseResult", "detect_format", "parse_file", "result_to_json"]


def detect_format(data, filename=None, profile=None):
    """The parser module for ``data``; ``ParseError("unknown_format")`` if none fits."""
    if not data or not data.strip():
        raise ParseError("empty", "the file is empty")
    for module in SNIFFED_MODULES:
        if module.sniff(data):
            return module
    if profile is not None and csv_profile.sniff(data):
        return csv_profile
    raise ParseError(
        "unknown_format",
        "the file is not OFX, CAMT, MT940/MT942 or BAI2, and no CSV/XLSX profile was given",
    )


def parse_file(data, filename=None, profile=None, max_bytes=DEFAULT_MAX_BYTES):
    """Detect the format of ``data`` and parse it into a ``ParseResult``."""
    if max_bytes and len(data) > max_bytes:
        raise ParseError(
            "too_large",
            f"the file has {len(data)} bytes, more than the limit of {max_bytes}",
        )
    module = detect_format(data, filename, profile)
    if module is csv_profile:
        return module.parse(data, filename=filename, profile=profile, max_bytes=max_bytes)
    if module in TEXT_MODULES and b"\x00" in data:
        raise ParseError(
            "nul",
            "the file contains a NUL byte: binary data, not a bank statement",
            line=data[: data.index(b"\x00")].count(b"\n") + 1,
        )
    return module.parse(data, filename=filename)
