"""Bank statement parsers: bytes in, ``ParseResult`` out. No Odoo imports here.

``parse_file(data, filename, profile=None)`` detects the format and returns the
normalised ``base.ParseResult``; every format module follows the contract in
``base``'s docstring.
"""

from . import bai2, camt, csv_profile, mt940, ofx
from .base import ParseError, ParseResult, result_to_json

# Detection order matters: the cheap, unambiguous signatures first; CSV last,
# since nearly any text passes for CSV and it needs a mapping profile anyway.
SNIFFED_MODULES = (camt, ofx, mt940, bai2)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

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
        return module.parse(data, filename=filename, profile=profile)
    return module.parse(data, filename=filename)
