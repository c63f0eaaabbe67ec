"""The one normalised output of every bank statement parser.

Contract of a parser module (``ofx``, ``camt``, ``mt940``, ``bai2``, ``csv_profile``):

- ``FORMAT``: the format code it reports (``"ofx"``, ``"camt.053"``, ...).
- ``sniff(data: bytes) -> bool``: whether the bytes look like its format (cheap, no parse).
- ``parse(data: bytes, filename: str | None = None, **options) -> ParseResult``.

Amounts are ``Decimal`` and signed from the account holder's view (money in is
positive); dates are ``datetime.date``; text is stripped, ``None`` when absent.
Anything a parser cannot read raises ``ParseError`` with a ``code``, the
``line`` (1-based, for line formats) or ``element`` (an XPath-like path for
XML) where it happened, and the offending ``value``; callers word the
translated message. Oddities that do not stop parsing (a value date of
30 February read as the month's last day, trailer totals that disagree with
the lines) are ``ParseWarning`` entries on the statement or result.
"""

import calendar
import datetime
import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal

# The largest file a parser reads, unless the caller says otherwise (the bank
# connectors' "Largest File" setting); an XLSX workbook may expand to no more.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


class ParseError(ValueError):
    """A file that cannot be read; ``code`` names the problem, line/element where."""

    def __init__(self, code, message, line=None, element=None, value=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.element = element
        self.value = value

    def where(self):
        if self.line is not None:
            return f"line {self.line}"
        if self.element:
            return f"element {self.element}"
        return ""


@dataclass
class ParseWarning:
    code: str
    message: str
    line: int | None = None
    element: str | None = None


@dataclass
class ParsedTransaction:
    amount: Decimal
    booking_date: datetime.date | None = None
    value_date: datetime.date | None = None
    currency: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    remittance: str | None = None
    structured_reference: str | None = None
    end_to_end_id: str | None = None
    bank_reference: str | None = None
    bank_transaction_code: str | None = None
    unique_id: str | None = None
    # Format-specific facts kept for matching and audit: "status" (booked /
    # pending), "reversal" (bool), "charges" (Decimal), "original_amount",
    # "original_currency", "transaction_type", "line" (source line number) ...
    extra: dict = field(default_factory=dict)


@dataclass
class ParsedStatement:
    account: str | None = None
    currency: str | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    opening_date: datetime.date | None = None
    closing_date: datetime.date | None = None
    statement_id: str | None = None
    transactions: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


@dataclass
class ParseResult:
    format: str
    statements: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


def assign_unique_ids(statement, prefix=""):
    """Give every transaction without one a ``unique_id`` made of its own content only.

    With a bank reference: account, reference, date (booking, else value) and
    amount, ``NL91ABNA0417164300:REF-1:2026-01-05:-12.5``; without one, a hash of
    account, dates, amount, currency, counterparty and texts. Lines identical in
    those parts are told apart by an occurrence counter in file order (``#2``,
    ``#3``... after a reference id; ``-1``, ``-2``... after a hash). Nothing else in
    the file changes a line's id: the same entry in an intraday report and in the
    end-of-day statement, or in two overlapping files, is imported once.
    """
    seen = Counter()
    for tx in statement.transactions:
        if tx.unique_id:
            continue
        if tx.bank_reference:
            date = tx.booking_date or tx.value_date
            key = ":".join(
                (
                    statement.account or "",
                    tx.bank_reference,
                    date.isoformat() if date else "",
                    amount_key(tx.amount),
                )
            )
            seen[key] += 1
            suffix = f"#{seen[key]}" if seen[key] > 1 else ""
            tx.unique_id = f"{prefix}{key}{suffix}"
            continue
        basis = "|".join(
            str(part or "")
            for part in (
                statement.account,
                tx.booking_date,
                tx.value_date,
                tx.amount,
                tx.currency,
                tx.counterparty_name,
                tx.counterparty_account,
                tx.remittance,
                tx.end_to_end_id,
                tx.bank_reference,
            )
        )
        digest = hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]
        seen[digest] += 1
        tx.unique_id = f"{prefix}{digest}-{seen[digest]}"
    return statement


def amount_key(amount):
    """An amount as it appears in an id: plain digits, no trailing zeros (``-12.5``, ``100``)."""
    text = format(Decimal(amount), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _jsonable(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(val) for key, val in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


TRANSACTION_KEYS = (
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "counterparty_name",
    "counterparty_account",
    "remittance",
    "structured_reference",
    "end_to_end_id",
    "bank_reference",
    "bank_transaction_code",
    "unique_id",
)


def result_to_json(result, filename):
    """The document ``setup/parse`` prints for one file."""
    statements = []
    for statement in result.statements:
        statements.append(
            {
                "account": statement.account,
                "currency": statement.currency,
                "opening_balance": _jsonable(statement.opening_balance),
                "closing_balance": _jsonable(statement.closing_balance),
                "opening_date": _jsonable(statement.opening_date),
                "closing_date": _jsonable(statement.closing_date),
                "transactions": [
                    {key: _jsonable(getattr(tx, key)) for key in TRANSACTION_KEYS}
                    for tx in statement.transactions
                ],
                "warnings": [_jsonable(asdict(w)) for w in statement.warnings],
            }
        )
    return {
        "file": filename,
        "format": result.format,
        "statements": statements,
        "warnings": [_jsonable(asdict(w)) for w in result.warnings],
    }


def parse_amount(text, decimal_separator=".", thousands_separator="", line=None, element=None):
    """``"1.234,56"`` with ``","`` as decimal separator -> ``Decimal("1234.56")``."""
    raw = (text or "").strip()
    cleaned = raw.replace(" ", "").replace("\u00a0", "")
    if thousands_separator:
        if not _grouped_by_thousands(cleaned, decimal_separator, thousands_separator):
            # "12.50" with "." as thousands separator is a decimal in the wrong locale,
            # not twelve hundred and fifty.
            raise ParseError(
                "amount_locale",
                f"amount {raw!r} does not group digits by {thousands_separator!r} thousands",
                line=line,
                element=element,
                value=raw,
            )
        cleaned = cleaned.replace(thousands_separator, "")
    if decimal_separator != ".":
        if "." in cleaned and decimal_separator not in cleaned and not thousands_separator:
            raise ParseError(
                "amount_locale",
                f"amount {raw!r} does not use the decimal separator {decimal_separator!r}",
                line=line,
                element=element,
                value=raw,
            )
        cleaned = cleaned.replace(decimal_separator, ".")
    negative = cleaned.endswith("-") or (cleaned.startswith("(") and cleaned.endswith(")"))
    cleaned = cleaned.strip("()").rstrip("-")
    try:
        amount = Decimal(cleaned)
    except Exception as err:
        raise ParseError(
            "amount", f"{raw!r} is not an amount", line=line, element=element, value=raw
        ) from err
    if not amount.is_finite():
        raise ParseError(
            "amount", f"{raw!r} is not an amount", line=line, element=element, value=raw
        )
    return -amount if negative else amount


def _grouped_by_thousands(text, decimal_separator, thousands_separator):
    """Whether every thousands separator in ``text`` is followed by exactly three digits."""
    integer_part = text.split(decimal_separator)[0] if decimal_separator else text
    groups = integer_part.split(thousands_separator)
    return all(len(group) == 3 and group.isdigit() for group in groups[1:])


def lenient_date(year, month, day, warnings=None, line=None, element=None):
    """A date; a day past the month's end (30 February) becomes its last day, with a warning."""
    try:
        return datetime.date(year, month, day)
    except ValueError as err:
        if 1 <= month <= 12 and 28 < day <= 31:
            last = calendar.monthrange(year, month)[1]
            if warnings is not None:
                warnings.append(
                    ParseWarning(
                        "date_adjusted",
                        f"{year:04d}-{month:02d}-{day:02d} does not exist: read as "
                        f"{year:04d}-{month:02d}-{last:02d}",
                        line=line,
                        element=element,
                    )
                )
            return datetime.date(year, month, last)
        raise ParseError(
            "date",
            f"{year:04d}-{month:02d}-{day:02d} is not a date",
            line=line,
            element=element,
            value=f"{year}-{month}-{day}",
        ) from err
