"""BAI2 (BAI Cash Management Balance Reporting Specifications, version 2) parser.

Contract (see ``base``): ``FORMAT``, ``sniff(data)`` and ``parse(data, filename=None,
encoding="utf-8")`` returning a ``ParseResult`` with one ``ParsedStatement`` per
account (``03`` ... ``49``) of every group (``02`` ... ``98``). Pure Python.

Handled:

- records ``01`` file header, ``02`` group header (as-of date and time, group
  currency), ``03`` account identifier with its type-code / amount / item-count /
  funds-type summaries, ``16`` transaction detail, ``88`` continuation (of an ``03``,
  ``16`` or any other record), ``49`` / ``98`` / ``99`` trailers;
- newline-delimited files, fixed-length 80-character blocks without line breaks,
  several ``/``-terminated records on one line (separated by blanks), and a ``16``
  text wrapped onto a physical line of its own without an ``88``;
- funds types ``0``/``1``/``2``/``Z``/empty, ``S`` (three availability amounts),
  ``V`` (value date and time) and ``D`` (distributed availability).

Amounts are in minor units without a decimal point: two implied decimals unless the
currency has another number (JPY 0, KWD 3 ...). The ``03`` currency defaults to the
group's; when neither gives one the statement's currency is ``None``. Detail type
codes 100-399 are credits (positive), 400-699 debits (negative). Statement balances
come from the summaries 010 (opening ledger) and 015 (closing ledger), dated on the
group's as-of date; the other summaries go to ``extra["summaries"]``. A ``16``
record's customer reference is kept in ``extra["customer_reference"]``, its text and
``88`` continuations, blanks collapsed, in ``remittance``. Line numbers are physical
lines (or 80-character blocks).

ParseError codes: ``empty``, ``encoding`` (not decodable with the given encoding,
or NUL bytes), ``not_bai2`` (first line is no record), ``record_type`` (unknown
record code), ``structure`` (record out of place, e.g. a ``16`` before any ``03``),
``truncated`` (the file ends before its ``99`` trailer), ``missing`` (required
field empty), ``amount`` / ``amount_locale`` (not digits / a decimal point),
``date``, ``type_code``, ``funds_type``. ParseWarning codes: ``totals_mismatch``
(a ``49``, ``98`` or ``99`` control total, count or record count that disagrees with
the records), ``missing_balance``, ``type_code`` (a detail type code outside the
credit and debit ranges: amount kept unsigned), ``date_adjusted``.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from .base import (
    ParsedStatement,
    ParsedTransaction,
    ParseError,
    ParseResult,
    ParseWarning,
    assign_unique_ids,
    lenient_date,
)

FORMAT = "bai2"

RECORD_CODES = ("01", "02", "03", "16", "49", "88", "98", "99")
BLOCK_LENGTH = 80
_RECORD_START = re.compile(r"^(\d{2}),")
# A "/" followed by blanks and the next record's code ends a record in the middle
# of a physical line; a "/" inside a text ("22/03/66") is not followed by blanks.
_RECORD_SEPARATOR = re.compile(r"/\s+(?=(?:" + "|".join(RECORD_CODES) + "),)")
_AMOUNT = re.compile(r"^[+-]?\d+$")
_DECIMAL_AMOUNT = re.compile(r"^[+-]?\d*[.,]\d+$")
_DATE = re.compile(r"^(\d{2})(\d{2})(\d{2})$")

# ISO 4217 currencies whose minor unit is not 1/100.
_CURRENCY_DECIMALS = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
# Number of availability fields that follow each funds type, "D" being variable.
_FUNDS_FIELDS = {"": 0, "0": 0, "1": 0, "2": 0, "Z": 0, "S": 3, "V": 2}


@dataclass
class _Record:
    """One logical record: its code, first line and bodies (own, then each ``88``)."""

    code: str
    line: int
    parts: list
    terminated: bool = True

    @property
    def count(self):
        """Physical records it stands for, as the trailers count them."""
        return len(self.parts)

    def body(self):
        """All fields, continuations joined on, the final ``/`` of each part removed."""
        return ",".join(_strip_terminator(part) for part in self.parts)


class _Fields:
    """Reads the comma-separated fields of a record one after the other."""

    def __init__(self, text):
        self.rest = text

    def take(self):
        if self.rest is None:
            return ""
        head, comma, tail = self.rest.partition(",")
        self.rest = tail if comma else None
        return head.strip()

    def remainder(self):
        """What is left, commas included: the free text that ends a ``16`` record."""
        rest, self.rest = self.rest, None
        return rest

    def exhausted(self):
        return self.rest is None


@dataclass
class _Account:
    """An open account: its statement, record count and control total so far."""

    statement: ParsedStatement
    records: int = 0
    total: Decimal = Decimal(0)


@dataclass
class _Group:
    """An open group: as-of date, currency and what its 98 trailer must announce."""

    as_of: object = None
    currency: str | None = None
    records: int = 0
    accounts: int = 0
    total: Decimal = Decimal(0)
    info: dict = field(default_factory=dict)


# -- entry points -------------------------------------------------------------------------


def sniff(data):
    """Whether the bytes start with a ``01,`` file header ended by ``/``."""
    head = data[: BLOCK_LENGTH * 2].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"01,") and b"/" in head.split(b"\n", 1)[0]


def parse(data, filename=None, encoding="utf-8", **options):
    """Read every account of every group of the BAI2 file ``data`` (bytes)."""
    if not data or not data.strip():
        raise ParseError("empty", "the file is empty", line=1)
    lines = _physical_lines(_decode(data, encoding))
    return _Reader().read_records(_records(lines), last_line=len(lines))


# -- decoding and tokenising ----------------------------------------------------------------


def _decode(data, encoding):
    try:
        text = data.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ParseError(
            "encoding",
            f"byte {data[err.start]:#04x} cannot be read as {encoding}",
            line=line,
            value=encoding,
        ) from err
    if "\x00" in text:
        # UTF-16 or binary data decodes as UTF-8 with NUL bytes between the characters.
        line = text[: text.index("\x00")].count("\n") + 1
        raise ParseError("encoding", "NUL bytes: not an ASCII BAI2 file", line=line)
    return text


def _physical_lines(text):
    """Numbered physical records: the lines, or 80-character blocks of an unbroken file."""
    if "\n" not in text and "\r" not in text and len(text) > BLOCK_LENGTH:
        chunks = [text[i : i + BLOCK_LENGTH] for i in range(0, len(text), BLOCK_LENGTH)]
    else:
        chunks = text.splitlines()
    return [(number, chunk.rstrip()) for number, chunk in enumerate(chunks, 1)]


def _records(lines):
    """The logical records, each ``88`` folded into the record it continues."""
    records = []
    for number, line in lines:
        if not line.strip():
            continue
        for piece in _RECORD_SEPARATOR.split(line):
            _add_piece(records, number, piece.strip())
    return records


def _add_piece(records, number, piece):
    match = _RECORD_START.match(piece)
    code = match.group(1) if match else None
    previous = records[-1] if records else None
    if code not in RECORD_CODES and previous and not previous.terminated:
        # A text longer than the line goes on in the next line, without an 88.
        previous.parts[-1] = f"{previous.parts[-1]} {piece}"
        previous.terminated = piece.endswith("/")
        return
    if code is None:
        what = "the file does not start with a BAI2 record" if not records else "not a record"
        raise ParseError(
            "not_bai2" if not records else "record_type", what, line=number, value=piece[:20]
        )
    if code not in RECORD_CODES:
        raise ParseError("record_type", f"unsupported record type {code}", line=number, value=code)
    body = piece[match.end() :]
    if code == "88":
        if previous is None:
            raise ParseError("structure", "88 continuation before any record", line=number)
        previous.parts.append(body)
        previous.terminated = body.endswith("/")
        return
    records.append(_Record(code, number, [body], terminated=body.endswith("/")))


def _strip_terminator(part):
    part = part.rstrip()
    return part[:-1] if part.endswith("/") else part


def _collapsed(text):
    """Text with runs of blanks made single: banks pad BAI2 texts into columns."""
    return " ".join(text.split()) or None


# -- field readers ------------------------------------------------------------------------


def _raw_amount(text, record, what="amount", required=False):
    """The signed integer amount of a field, in minor units; None when empty."""
    if not text:
        if required:
            raise ParseError("missing", f"{what} is empty", line=record.line, value=text)
        return None
    if _DECIMAL_AMOUNT.match(text):
        raise ParseError(
            "amount_locale",
            f"{what} {text!r} has a decimal separator: BAI2 amounts are in minor units",
            line=record.line,
            value=text,
        )
    if not _AMOUNT.match(text):
        raise ParseError(
            "amount", f"{what} {text!r} is not an amount", line=record.line, value=text
        )
    return Decimal(text)


def _scaled(raw, currency):
    return raw.scaleb(-_CURRENCY_DECIMALS.get(currency, 2)) if raw is not None else None


def _date(text, record, warnings):
    match = _DATE.match(text or "")
    if not match:
        raise ParseError("date", f"{text!r} is not a YYMMDD date", line=record.line, value=text)
    year, month, day = (int(part) for part in match.groups())
    # BAI2 dates have two-digit years; the format dates from 1987.
    year += 1900 if year >= 80 else 2000
    return lenient_date(year, month, day, warnings, line=record.line)


def _funds(fields, record, warnings):
    """The funds type of a summary or detail and what its availability fields say."""
    funds_type = fields.take().upper()
    if funds_type == "D":
        count = _raw_amount(fields.take(), record, "availability count", required=True)
        days = [(fields.take(), _raw_amount(fields.take(), record)) for _i in range(int(count))]
        return funds_type, {"availability": days}
    if funds_type not in _FUNDS_FIELDS:
        raise ParseError(
            "funds_type", f"unknown funds type {funds_type!r}", line=record.line, value=funds_type
        )
    values = [fields.take() for _i in range(_FUNDS_FIELDS[funds_type])]
    if funds_type == "S":
        return funds_type, {"availability": [_raw_amount(value, record) for value in values]}
    if funds_type == "V":
        availability = {"value_date": _date(values[0], record, warnings)}
        return funds_type, availability | ({"value_time": values[1]} if values[1] else {})
    return funds_type, {}


def _type_code(text, record):
    if not re.fullmatch(r"\d{3}", text):
        raise ParseError("type_code", f"{text!r} is not a type code", line=record.line, value=text)
    return text


# -- the reader ---------------------------------------------------------------------------


class _Reader:
    """Walks the records, checking their order and the trailers' control totals."""

    def __init__(self):
        self.result = ParseResult(format=FORMAT)
        self.header = None
        self.group = None
        self.account = None
        self.closed = False
        self.file_records = 0
        self.file_total = Decimal(0)
        self.groups = 0

    def read_records(self, records, last_line):
        if records[0].code != "01":
            raise ParseError(
                "structure",
                f"the file starts with a {records[0].code} record, not an 01 file header",
                line=records[0].line,
            )
        handlers = {
            "01": self._file_header,
            "02": self._group_header,
            "03": self._account_header,
            "16": self._detail,
            "49": self._account_trailer,
            "98": self._group_trailer,
            "99": self._file_trailer,
        }
        for record in records:
            if self.closed:
                raise ParseError(
                    "structure", f"{record.code} record after the 99 file trailer", line=record.line
                )
            self._count(record)
            handlers[record.code](record)
        if not self.closed:
            raise ParseError(
                "truncated", "the file ends before its 99 file trailer", line=last_line
            )
        return self.result

    def _count(self, record):
        self.file_records += record.count
        if self.group:
            self.group.records += record.count
        if self.account:
            self.account.records += record.count

    def _expect(self, record, group, account):
        """Raise unless the record comes with a group / account open as it needs."""
        if (self.group is not None) != group or (self.account is not None) != account:
            where = (
                "inside an account"
                if self.account
                else ("inside a group" if self.group else "outside any group")
            )
            raise ParseError("structure", f"{record.code} record {where}", line=record.line)

    def _warn(self, warnings, record, message):
        warnings.append(ParseWarning("totals_mismatch", message, line=record.line))

    # -- headers --

    def _file_header(self, record):
        if self.header is not None:
            raise ParseError("structure", "a second 01 file header", line=record.line)
        fields = _Fields(record.body())
        keys = ("sender", "receiver", "creation_date", "creation_time", "file_id")
        self.header = dict(zip(keys, (fields.take() for _key in keys), strict=True))

    def _group_header(self, record):
        self._expect(record, group=False, account=False)
        fields = _Fields(record.body())
        receiver, originator, status = fields.take(), fields.take(), fields.take()
        self.group = _Group(as_of=_date(fields.take(), record, self.result.warnings))
        self.group.records = record.count
        as_of_time = fields.take()
        self.group.currency = fields.take().upper() or None
        self.group.info = {
            "ultimate_receiver": receiver or None,
            "originator": originator or None,
            "group_status": status or None,
            "as_of_time": as_of_time or None,
        }

    def _account_header(self, record):
        self._expect(record, group=True, account=False)
        fields = _Fields(record.body())
        number = fields.take()
        if not number:
            raise ParseError("missing", "03 record without an account number", line=record.line)
        currency = fields.take().upper() or self.group.currency
        statement = ParsedStatement(
            account=number,
            currency=currency,
            opening_date=self.group.as_of,
            closing_date=self.group.as_of,
        )
        statement.extra.update(
            self.group.info,
            line=record.line,
            file_id=self.header["file_id"],
            sender=self.header["sender"],
        )
        self.account = _Account(statement, records=record.count)
        self._summaries(fields, record)

    def _summaries(self, fields, record):
        statement = self.account.statement
        summaries = {}
        while not fields.exhausted():
            code = fields.take()
            if not code:
                continue  # defaulted summary or the empty field before the final "/"
            code = _type_code(code, record)
            raw = _raw_amount(fields.take(), record)
            fields.take()  # item count
            _funds(fields, record, statement.warnings)
            self.account.total += raw or 0
            summaries[code] = _scaled(raw, statement.currency)
        statement.opening_balance = summaries.pop("010", None)
        statement.closing_balance = summaries.pop("015", None)
        statement.extra["summaries"] = summaries
        for name, value in (
            ("opening", statement.opening_balance),
            ("closing", statement.closing_balance),
        ):
            if value is None:
                statement.warnings.append(
                    ParseWarning(
                        "missing_balance",
                        f"account {statement.account} has no {name} ledger "
                        f"balance ({'010' if name == 'opening' else '015'} summary)",
                        line=record.line,
                    )
                )

    # -- details --

    def _detail(self, record):
        if self.account is None:
            raise ParseError(
                "structure", "16 transaction detail before any 03 account record", line=record.line
            )
        statement = self.account.statement
        fields = _Fields(_strip_terminator(record.parts[0]))
        code = _type_code(fields.take(), record)
        raw = _raw_amount(fields.take(), record, required=True)
        self.account.total += raw
        funds_type, availability = _funds(fields, record, statement.warnings)
        bank_reference, customer_reference = fields.take(), fields.take()
        texts = [fields.remainder() or ""] + [_strip_terminator(p) for p in record.parts[1:]]
        tx = ParsedTransaction(
            amount=self._signed(_scaled(raw, statement.currency), code, record),
            booking_date=self.group.as_of,
            value_date=availability.pop("value_date", None),
            currency=statement.currency,
            remittance=_collapsed(" ".join(texts)),
            bank_reference=bank_reference or None,
            bank_transaction_code=code,
        )
        tx.extra.update(availability, line=record.line, funds_type=funds_type or None)
        if customer_reference:
            tx.extra["customer_reference"] = customer_reference
        statement.transactions.append(tx)

    def _signed(self, amount, code, record):
        number = int(code)
        if 100 <= number <= 399:
            return amount
        if 400 <= number <= 699:
            return -amount
        self.account.statement.warnings.append(
            ParseWarning(
                "type_code",
                f"type code {code} is neither a credit nor a debit: amount kept as written",
                line=record.line,
            )
        )
        return amount

    # -- trailers --

    def _account_trailer(self, record):
        self._expect(record, group=True, account=True)
        fields = _Fields(record.body())
        total = _raw_amount(fields.take(), record, "account control total")
        count = _raw_amount(fields.take(), record, "number of records")
        account, statement = self.account, self.account.statement
        if total is not None and total != account.total:
            self._warn(
                statement.warnings,
                record,
                f"account {statement.account}: control "
                f"total {total} but the amounts add up to {account.total}",
            )
        if count is not None and count != account.records:
            self._warn(
                statement.warnings,
                record,
                f"account {statement.account}: {count} records announced, {account.records} found",
            )
        assign_unique_ids(statement)
        self.group.total += account.total if total is None else total
        self.group.accounts += 1
        self.result.statements.append(statement)
        self.account = None

    def _group_trailer(self, record):
        self._expect(record, group=True, account=False)
        fields = _Fields(record.body())
        group, total = self.group, _raw_amount(fields.take(), record)
        self._check(
            self.result.warnings,
            record,
            f"group of {group.as_of}",
            (
                ("control total", total, group.total),
                ("accounts", _raw_amount(fields.take(), record), group.accounts),
                ("records", _raw_amount(fields.take(), record), group.records),
            ),
        )
        self.file_total += group.total if total is None else total
        self.groups += 1
        self.group = None

    def _file_trailer(self, record):
        self._expect(record, group=False, account=False)
        fields = _Fields(record.body())
        self._check(
            self.result.warnings,
            record,
            "file",
            (
                ("control total", _raw_amount(fields.take(), record), self.file_total),
                ("groups", _raw_amount(fields.take(), record), self.groups),
                ("records", _raw_amount(fields.take(), record), self.file_records),
            ),
        )
        self.closed = True

    def _check(self, warnings, record, what, checks):
        for name, announced, found in checks:
            if announced is not None and announced != found:
                self._warn(warnings, record, f"{what}: {name} {announced} announced, {found} found")
