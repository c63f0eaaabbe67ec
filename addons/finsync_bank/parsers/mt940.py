"""SWIFT MT940 (customer statement) and MT942 (interim transaction report) parser.

Contract (see ``base``): ``FORMAT``, ``sniff(data)`` and ``parse(data, filename=None)``
returning a ``ParseResult`` whose format is ``"mt940"``, or ``"mt942"`` when every
message of the file is an MT942. Pure Python, no Odoo imports.

Handled:

- one or several statements per file, bare or wrapped in SWIFT blocks
  ``{1:...}{2:...}{4: ... -}``, with bank preambles (``ABNANL2A``/``940``, ``:940:``),
  SOH/ETX, ``\\x1a``, NUL bytes and ``\\r\\n``/``\\r``/``\\n`` line endings;
- encodings: UTF-8, else the best of cp1252, iso-8859-2, cp852 (DOS Latin-2 of
  Hungarian CMI exports) and latin-1, recorded in ``statement.extra["encoding"]``;
- fields :20: :21: :25: :28:/:28C: :60F:/:60M: :61: :86: :62F:/:62M: :64: :65:
  and the MT942 fields :13:/:13D: :34F: :90D: :90C:;
- :86: dialects, tried in order: numbered subfields after a 3-digit code with ``?``
  (German SEPA, DK standard), ``~`` (ING Romania), ``+`` (BRD), ``>`` (Triodos) or ``<``
  separators; slash-keyed ``/EREF/.../CNTP/.../REMI/...`` (ING, ABN AMRO, Rabobank,
  Triodos, Knab); mBank's ``KEY: value;`` layout; PostFinance's labelled layout; a
  leading ``IBAN name`` line (SNS); anything else is free text. Rabobank's own
  layouts carry the counterparty on the :61: line itself (account on the next line,
  or the old padded ``reference   name`` form) and fill what :86: leaves empty.

Amounts are signed for the account holder: ``D`` and ``RC`` (reversal of a credit)
lines are negative, ``C`` and ``RD`` positive; ``RC``/``RD`` set ``extra["reversal"]``.
MT942 lines are intraday (``extra["status"] = "pending"``).

:25: keeps the whole identification in ``statement.account`` (``51230800/0000007304``,
``BIC/account``; a currency the bank appends is dropped); with a ``bank/`` part, the
account alone is ``extra["account_number"]`` and the bank code ``extra["bank_id"]``.
The :61: funds code (the letter after the D/C mark) is ``extra["funds_code"]``.

ParseError codes: ``empty``, ``not_mt940`` (no :20: statement; a :20: with no
balance nor :61: line; prose, CSV rows or XML outside or under one-line fields:
a file quoting MT940 tags is no MT940), ``missing_account``
(no :25:), ``balance`` / ``statement_line`` / ``date`` / ``amount`` (unreadable
field; ``amount`` also for a dot used as decimal separator), ``truncated`` (the file
stops inside an MT940 statement before its closing balance). Every error carries the
1-based line of the original file. ParseWarning codes: ``date_adjusted``,
``missing_balance``, ``balance_mismatch``, ``currency_mismatch``,
``control_total_mismatch``.
"""

import datetime
import re
import unicodedata
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
from .mt940_details import DIALECTS, IBAN, NO_REFERENCE

FORMAT = "mt940"
MT942_FORMAT = "mt942"

# Single-byte encodings tried when the file is not UTF-8; the one that reads most
# non-ASCII bytes as letters wins, earlier entries winning ties (see _decode).
_FALLBACK_ENCODINGS = ("cp1252", "iso-8859-2", "cp852", "latin-1")

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TAG = re.compile(r"^:(\d{2}[A-Z]?|NS):(.*)$")
# {1:..}{2:..}{3:{108:..}} headers, optionally followed by the opening of block 4.
_BLOCK_HEADER = re.compile(r"^((?:\{[1-35]:(?:[^{}]|\{[^{}]*\})*\})*)(\{4:)?")
_MESSAGE_TYPE = re.compile(r"\{2:[IO](\d{3})")
_MESSAGE_END = re.compile(r"^-\}?(\{5:.*)?\s*$")
_SNIFF = re.compile(rb"(^|[\r\n{])(\{4:)?[\r\n]*:20:.{0,40}[\r\n]+(?:[^\r\n]*[\r\n]+){0,12}?:25:")

_BALANCE = re.compile(r"^([DC])(\d{6})([A-Z]{3})([\d.,]+)$")
_STATEMENT_LINE = re.compile(
    r"^(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?"
    r"(?P<amount>[\d.,]+)(?P<code>[A-Z][A-Z0-9 ]{3})(?P<rest>.*)$"
)
# Rabobank pads the 16-character customer reference with spaces and puts the
# counterparty name after it on the same line.
_PADDED_REFERENCE = re.compile(r"^(\S.{0,15}?)\s{2,}(\S.*)$")
_SWIFT_AMOUNT = re.compile(r"^\d+(,\d*)?$")
_DATETIME = re.compile(r"^(\d{6})(\d{2})(\d{2})(?:([+-])(\d{2})(\d{2}))?$")
_SUM_ENTRIES = re.compile(r"^(\d*)([A-Z]{3})([\d.,]+)$")
_FLOOR_LIMIT = re.compile(r"^([A-Z]{3})([DC]?)([\d.,]+)$")
_LOCAL_ACCOUNT = re.compile(r"^\d{7,10}$")
# What may stand before the first :20:: SWIFT blocks (stripped), a ``:940:`` tag or a
# bank's one-word header lines (ABN AMRO's ``ABNANL2A`` / ``940``). Prose, CSV
# headers or XML there mean the file is something else quoting MT940 tags.
_PREAMBLE_WORD = re.compile(r"^[A-Za-z0-9]{0,16}$")
# Fields that hold one line: a bank may wrap the value (ING's ":28C:0000" + "0"), but
# prose or a CSV row under them means another format.
_WRAPPED_VALUE = re.compile(r"^[A-Za-z0-9/.,+-]{1,35}$")
_SINGLE_LINE_TAGS = ("20", "25", "28", "28C", "60F", "60M", "62F", "62M", "64", "65")
# A statement holds at least one of these; a :20: without any is no MT940 message.
_BODY_TAGS = ("60F", "60M", "61", "62F", "62M", "13", "13D", "34F", "90D", "90C")
# ING puts the name of the :86: key holding the reference ("EREF", "PREF") in :61:.
_POINTER_REFERENCES = ("EREF", "PREF", "KREF", "MARF", "KREF+")


@dataclass
class _Field:
    """One tag of the file: its value lines (continuations included) and 1-based line."""

    tag: str
    lines: list
    line: int

    @property
    def value(self):
        return self.lines[0].strip()


@dataclass
class _Message:
    """The fields from one :20: to the next, and whether a ``-`` terminator closed them."""

    fields: list = field(default_factory=list)
    message_type: str | None = None
    terminated: bool = False


# -- entry points -------------------------------------------------------------------------


def sniff(data):
    """Whether the bytes hold a :20: tag followed closely by a :25: tag."""
    return bool(_SNIFF.search(data[:4096].replace(b"\x00", b"")))


def parse(data, filename=None, **options):
    """Read every MT940/MT942 statement of ``data`` (bytes)."""
    if not data or not data.strip(b" \t\r\n\x00\x1a"):
        raise ParseError("empty", "the file is empty", line=1)
    text, encoding = _decode(data)
    lines = [_CONTROL.sub("", line) for line in _LINE_BREAK.split(text)]
    messages = _messages(_read_fields(lines))
    if not messages:
        raise ParseError("not_mt940", "no :20: statement found: not an MT940/MT942 file", line=1)
    last_line = max(number for number, line in enumerate(lines, start=1) if line.strip())
    statements = []
    for index, message in enumerate(messages):
        is_last = index == len(messages) - 1
        statements.append(_build_statement(message, encoding, is_last, last_line))
    types = {statement.extra["message_type"] for statement in statements}
    return ParseResult(format=MT942_FORMAT if types == {"942"} else FORMAT, statements=statements)


# -- decoding and tokenising ----------------------------------------------------------------


def _is_utf8(data):
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return True


def _decode(data):
    """Text and encoding name: UTF-8 when valid, else the fallback reading most letters."""
    if _is_utf8(data):
        return data.decode("utf-8-sig"), "utf-8"
    best = None
    for encoding in _FALLBACK_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = _letter_score(text)
        if best is None or score > best[0]:
            best = (score, text, encoding)
    return best[1], best[2]


def _letter_score(text):
    """Non-ASCII letters minus non-ASCII controls: how plausible a decoding reads."""
    score = 0
    for char in text:
        if char.isascii():
            continue
        category = unicodedata.category(char)
        score += 1 if category.startswith("L") else -1 if category.startswith("C") else 0
    return score


def _strip_block_header(text):
    """The line without SWIFT block headers, and the message type named in block 2."""
    if not text.startswith("{"):
        return text, None
    header = _BLOCK_HEADER.match(text)
    message_type = _MESSAGE_TYPE.search(header.group(1))
    return text[header.end() :], message_type.group(1) if message_type else None


def _read_fields(lines):
    """Tag fields with their continuation lines; ``MT`` and ``END`` mark headers and ends."""
    fields = []
    current = None
    for number, raw in enumerate(lines, start=1):
        text, message_type = _strip_block_header(raw)
        if message_type:
            fields.append(_Field("MT", [message_type], number))
        tag = _TAG.match(text)
        if tag:
            current = _Field(tag.group(1), [tag.group(2)], number)
            fields.append(current)
        elif _MESSAGE_END.match(text) and not _continues_details(current, lines, number):
            fields.append(_Field("END", [], number))
            current = None
        elif current is not None and text.strip():
            if current.tag in _SINGLE_LINE_TAGS and not _WRAPPED_VALUE.match(text.strip()):
                _refuse_foreign_text(number, f"text under the one-line field :{current.tag}:")
            current.lines.append(text)
        elif not _PREAMBLE_WORD.match(text.strip().strip(":{}-")):
            _refuse_foreign_text(number, "text outside any MT940 field")
    return fields


def _refuse_foreign_text(number, what):
    """A file quoting MT940 tags among other text (a letter, a CSV, XML) is no MT940."""
    raise ParseError("not_mt940", f"{what}: not an MT940/MT942 file", line=number)


def _continues_details(current, lines, number):
    """A lone ``-`` inside a wrapped :86: (ING wraps ``MND-EV01`` there) is text, not an end."""
    if current is None or current.tag != "86" or number >= len(lines):
        return False
    following = lines[number].strip()
    return bool(following) and not following.startswith((":", "{", "}", "-"))


def _messages(fields):
    """Group the fields into statements, each opened by :20:."""
    messages = []
    current = None
    pending_type = None
    for item in fields:
        if item.tag == "MT":
            pending_type = item.value
        elif item.tag == "20":
            current = _Message(fields=[item], message_type=pending_type)
            messages.append(current)
            pending_type = None
        elif item.tag == "END" and current is not None:
            current.terminated = True
            current = None
        elif current is not None:
            current.fields.append(item)
    return messages


# -- field values ----------------------------------------------------------------------------


def _amount(text, line):
    """A SWIFT amount (``1234,56``, ``0,``, ``500``) as Decimal; a dot is an error."""
    if not _SWIFT_AMOUNT.match(text):
        raise ParseError(
            "amount",
            f"{text!r} is not a SWIFT amount (digits with a decimal comma)",
            line=line,
            value=text,
        )
    return Decimal(text.replace(",", "."))


def _date(yymmdd, warnings, line):
    """``YYMMDD``; years before 80 are 20YY. 30 February becomes the month's last day."""
    year = int(yymmdd[:2])
    year += 2000 if year < 80 else 1900
    return lenient_date(year, int(yymmdd[2:4]), int(yymmdd[4:6]), warnings, line=line)


def _entry_date(value_date, mmdd, warnings, line):
    """The booking date ``MMDD`` in the year that puts it nearest the value date."""
    month, day = int(mmdd[:2]), int(mmdd[2:])
    year = value_date.year
    # A December booking of a January value date belongs to the year before, and
    # a January booking of a December value date to the year after.
    if month - value_date.month > 6:
        year -= 1
    elif value_date.month - month > 6:
        year += 1
    return lenient_date(year, month, day, warnings, line=line)


def _balance(item, warnings):
    """``(date, currency, signed amount)`` of a balance field such as ``C140220EUR564,35``."""
    match = _BALANCE.match(item.value)
    if not match:
        raise ParseError("balance", f"{item.value!r} is not a :{item.tag}: balance", line=item.line)
    mark, date, currency, amount = match.groups()
    value = _amount(amount, item.line)
    return _date(date, warnings, item.line), currency, -value if mark == "D" else value


def _account(identification, currency):
    """Account, bank code and whole identification of :25: (``IBAN``, ``BIC/account``,
    ``bank/account/CUR``); a currency the bank appends is no part of any of them."""
    text = identification.strip().lstrip("/")
    # ING and Rabobank append the currency to the account, Raiffeisen adds "/HUF".
    if currency and text.upper().endswith(currency) and len(text) > len(currency):
        text = text[: -len(currency)].rstrip(" /")
    bank, sep, account = text.partition("/")
    return (account.strip(), bank.strip(), text) if sep else (text, None, text)


def _report_datetime(item):
    """The :13D: date-time indication ``YYMMDDHHMM+hhmm`` of an MT942."""
    match = _DATETIME.match(item.value)
    if not match:
        raise ParseError("date", f"{item.value!r} is not a :13D: date-time", line=item.line)
    date = _date(match.group(1), None, item.line)
    tzinfo = None
    if match.group(4):
        offset = datetime.timedelta(hours=int(match.group(5)), minutes=int(match.group(6)))
        tzinfo = datetime.timezone(-offset if match.group(4) == "-" else offset)
    try:
        return datetime.datetime.combine(
            date, datetime.time(int(match.group(2)), int(match.group(3)), tzinfo=tzinfo)
        )
    except ValueError as err:
        raise ParseError("date", f"{item.value!r} has an impossible time", line=item.line) from err


# -- statements ----------------------------------------------------------------------------


class _StatementBuilder:
    """Fills one ParsedStatement from the fields of one message."""

    def __init__(self, encoding):
        self.statement = ParsedStatement(
            extra={"encoding": encoding, "forward_available_balances": []}
        )
        self.details = []  # (transaction, :86: lines) pairs, read once the statement is known
        self.owner = None  # the transaction a following :86: belongs to
        self.has_942_fields = False
        self.handlers = {
            "20": self._reference,
            "21": self._related_reference,
            "25": self._account,
            "28": self._statement_number,
            "28C": self._statement_number,
            "60F": self._opening,
            "60M": self._opening,
            "61": self._line,
            "86": self._information,
            "62F": self._closing,
            "62M": self._closing,
            "64": self._available,
            "65": self._forward_available,
            "13": self._datetime,
            "13D": self._datetime,
            "34F": self._floor_limit,
            "90D": self._sum_entries,
            "90C": self._sum_entries,
        }

    def feed(self, item):
        handler = self.handlers.get(item.tag)
        if item.tag != "86":
            self.owner = None
        if handler:
            handler(item)

    def _reference(self, item):
        self.statement.statement_id = item.value or None
        self.statement.extra["line"] = item.line

    def _related_reference(self, item):
        self.statement.extra["related_reference"] = item.value

    def _account(self, item):
        self.statement.extra["account_identification"] = item.value
        self.statement.extra["account_line"] = item.line

    def _statement_number(self, item):
        self.statement.extra["statement_number"] = item.value

    def _opening(self, item):
        statement = self.statement
        date, currency, amount = _balance(item, statement.warnings)
        statement.opening_date, statement.currency, statement.opening_balance = (
            date,
            currency,
            amount,
        )
        statement.extra["opening_balance_type"] = "intermediate" if item.tag == "60M" else "final"

    def _closing(self, item):
        statement = self.statement
        date, currency, amount = _balance(item, statement.warnings)
        statement.closing_date, statement.closing_balance = date, amount
        statement.extra["closing_balance_type"] = "intermediate" if item.tag == "62M" else "final"
        if statement.currency and currency != statement.currency:
            statement.warnings.append(
                ParseWarning(
                    "currency_mismatch",
                    f"closing balance in {currency}, opening balance in {statement.currency}",
                    line=item.line,
                )
            )
        statement.currency = statement.currency or currency

    def _available(self, item):
        date, _currency, amount = _balance(item, self.statement.warnings)
        self.statement.extra["available_balance"] = {"date": date, "amount": amount}

    def _forward_available(self, item):
        date, _currency, amount = _balance(item, self.statement.warnings)
        self.statement.extra["forward_available_balances"].append({"date": date, "amount": amount})

    def _line(self, item):
        transaction = _statement_line(item, self.statement.warnings)
        self.statement.transactions.append(transaction)
        self.details.append((transaction, []))
        self.owner = transaction

    def _information(self, item):
        # Rabobank repeats :86: for each line of text, so several may follow one :61:.
        if self.owner is not None:
            self.details[-1][1].extend(item.lines)
            return
        info = self.statement.extra.get("information")
        text = " ".join(" ".join(item.lines).split())
        self.statement.extra["information"] = f"{info} {text}" if info else text

    def _datetime(self, item):
        self.has_942_fields = True
        self.statement.extra["report_datetime"] = _report_datetime(item)

    def _floor_limit(self, item):
        self.has_942_fields = True
        match = _FLOOR_LIMIT.match(item.value)
        if not match:
            raise ParseError("amount", f"{item.value!r} is not a :34F: floor limit", line=item.line)
        currency, mark, amount = match.groups()
        self.statement.currency = self.statement.currency or currency
        key = {"D": "floor_limit_debit", "C": "floor_limit_credit"}.get(mark, "floor_limit")
        self.statement.extra[key] = _amount(amount, item.line)

    def _sum_entries(self, item):
        self.has_942_fields = True
        match = _SUM_ENTRIES.match(item.value)
        if not match:
            raise ParseError("amount", f"{item.value!r} is not a :{item.tag}: sum", line=item.line)
        count, currency, amount = match.groups()
        value = _amount(amount, item.line)
        key = "sum_debit_entries" if item.tag == "90D" else "sum_credit_entries"
        self.statement.extra[key] = {
            "count": int(count) if count else None,
            "amount": -value if item.tag == "90D" else value,
            "line": item.line,
        }
        self.statement.currency = self.statement.currency or currency


def _build_statement(message, encoding, is_last, last_line):
    """One ParsedStatement from one message, checked and with unique ids assigned."""
    if not any(item.tag in _BODY_TAGS for item in message.fields):
        raise ParseError(
            "not_mt940",
            f"statement {message.fields[0].value!r} has no balance (:60F:/:62F:) nor "
            ":61: line: not an MT940/MT942 file",
            line=message.fields[0].line,
        )
    builder = _StatementBuilder(encoding)
    for item in message.fields:
        builder.feed(item)
    statement = builder.statement
    message_type = message.message_type or (
        "942" if builder.has_942_fields and statement.opening_balance is None else "940"
    )
    statement.extra["message_type"] = message_type
    identification = _resolve_account(statement)
    if message_type == "940":
        _check_complete(statement, message, is_last, last_line)
    for transaction, details in builder.details:
        _finish_transaction(transaction, details, statement, message_type)
    _check_balances(statement)
    _check_control_totals(statement)
    statement.extra = {key: value for key, value in statement.extra.items() if value != []}
    # Ids keep using the account number alone, as before the whole identification
    # was kept: a file imported then is still recognised.
    assign_unique_ids(statement)
    # ``bank/account`` (``51230800/0000007304``) stays whole; the importer finds the
    # journal by it or by ``extra["account_number"]``.
    statement.account = identification
    return statement


def _resolve_account(statement):
    identification = statement.extra.get("account_identification")
    if not identification:
        raise ParseError(
            "missing_account",
            f"statement {statement.statement_id!r} has no :25: account identification",
            line=statement.extra.get("line"),
        )
    statement.account, bank, whole = _account(identification, statement.currency)
    if bank:
        statement.extra.update(bank_id=bank, account_number=statement.account)
    return whole


def _check_complete(statement, message, is_last, last_line):
    """A missing balance is a warning, unless the file stops before the closing balance."""
    if statement.closing_balance is None and is_last and not message.terminated:
        raise ParseError(
            "truncated",
            f"the file ends inside statement {statement.statement_id!r}: no :62F: closing balance",
            line=last_line,
        )
    for name, tag in (("opening_balance", ":60F:"), ("closing_balance", ":62F:")):
        if getattr(statement, name) is None:
            statement.warnings.append(
                ParseWarning(
                    "missing_balance",
                    f"statement {statement.statement_id!r} has no {tag} balance",
                    line=statement.extra.get("line"),
                )
            )


def _check_balances(statement):
    if statement.opening_balance is None or statement.closing_balance is None:
        return
    expected = statement.opening_balance + sum(tx.amount for tx in statement.transactions)
    if expected != statement.closing_balance:
        statement.warnings.append(
            ParseWarning(
                "balance_mismatch",
                f"opening balance {statement.opening_balance} plus the lines makes {expected}, "
                f"the closing balance says {statement.closing_balance}",
                line=statement.extra.get("line"),
            )
        )


def _check_control_totals(statement):
    """MT942 :90D:/:90C: give the number and sum of the debit and credit lines."""
    for key, sign in (("sum_debit_entries", -1), ("sum_credit_entries", 1)):
        control = statement.extra.get(key)
        if not control:
            continue
        amounts = [tx.amount for tx in statement.transactions if tx.amount * sign > 0]
        if control["count"] not in (None, len(amounts)) or control["amount"] != sum(amounts):
            statement.warnings.append(
                ParseWarning(
                    "control_total_mismatch",
                    f"{key}: {control['count']} entries totalling {control['amount']} announced, "
                    f"{len(amounts)} totalling {sum(amounts)} found",
                    line=control["line"],
                )
            )


# -- statement lines ------------------------------------------------------------------------


def _statement_line(item, warnings):
    """A ParsedTransaction from a :61: field (its :86: is applied later)."""
    match = _STATEMENT_LINE.match(item.value)
    if not match:
        raise ParseError(
            "statement_line", f"{item.value!r} is not a :61: statement line", line=item.line
        )
    value_date = _date(match.group("value"), warnings, item.line)
    entry = match.group("entry")
    mark = match.group("mark")
    amount = _amount(match.group("amount"), item.line)
    customer, bank_reference, same_line_details = _references(match.group("rest"))
    extra = {"line": item.line, "customer_reference": customer}
    if mark in ("RC", "RD"):
        extra["reversal"] = True
    if match.group("funds"):
        extra["funds_code"] = match.group("funds")
    supplementary = " ".join(line.strip() for line in item.lines[1:]) or same_line_details
    if supplementary:
        extra["supplementary_details"] = supplementary
    return ParsedTransaction(
        # Reversal of a credit (RC) takes money out, reversal of a debit (RD) puts it back.
        amount=-amount if mark in ("D", "RC") else amount,
        value_date=value_date,
        # SWIFT gives the entry date only when it differs from the value date.
        booking_date=_entry_date(value_date, entry, warnings, item.line) if entry else value_date,
        bank_reference=bank_reference,
        # Some banks pad the type code ("S   " for a SWIFT transfer without a number).
        bank_transaction_code=match.group("code").strip(),
        end_to_end_id=None if customer in (None, *NO_REFERENCE, *_POINTER_REFERENCES) else customer,
        extra={key: value for key, value in extra.items() if value is not None},
    )


def _references(rest):
    """Customer reference, bank reference (after ``//``) and same-line details of :61:."""
    customer, sep, bank = rest.partition("//")
    if sep:
        return customer.strip() or None, bank.strip() or None, None
    padded = _PADDED_REFERENCE.match(rest)
    if padded:
        return padded.group(1), None, padded.group(2).strip()
    return rest.strip() or None, None, None


def _finish_transaction(transaction, details, statement, message_type):
    transaction.currency = statement.currency
    transaction.extra["status"] = "pending" if message_type == "942" else "booked"
    if details:
        _apply_details(transaction, details)
    _apply_rabobank_line(transaction)
    # A counterparty equal to our own account is the bank echoing it (Triodos), and
    # a customer reference that only repeats the counterparty account (SNS, old
    # Rabobank) is no end-to-end id.
    if transaction.counterparty_account == statement.account:
        transaction.counterparty_account = None
    if transaction.end_to_end_id and transaction.end_to_end_id in (
        transaction.counterparty_account,
        transaction.extra.get("counterparty_account_from_line"),
    ):
        transaction.end_to_end_id = None
    transaction.extra.pop("counterparty_account_from_line", None)


def _apply_details(transaction, lines):
    """Set the transaction fields found in its :86: lines by the first matching dialect."""
    transaction.extra["information"] = "\n".join(line.rstrip() for line in lines).strip()
    name, found = next(
        (name, found) for name, dialect in DIALECTS if (found := dialect(lines)) is not None
    )
    transaction.extra["details_dialect"] = name
    transaction.extra.update(found.pop("extra", {}))
    for key, value in found.items():
        if value:
            setattr(transaction, key, value)


def _apply_rabobank_line(transaction):
    """Rabobank puts the counterparty on the :61: line; use it where :86: had none."""
    details = transaction.extra.get("supplementary_details")
    customer = transaction.extra.get("customer_reference") or ""
    if not details:
        return
    compact = details.replace(" ", "")
    if " " not in details.strip() and (IBAN.match(compact) or _LOCAL_ACCOUNT.match(compact)):
        transaction.counterparty_account = transaction.counterparty_account or compact
    elif _LOCAL_ACCOUNT.match(customer):
        # Old layout: "0121470966      W.P. Jansen": account as reference, then the name.
        transaction.counterparty_account = transaction.counterparty_account or customer
        transaction.counterparty_name = transaction.counterparty_name or details
        transaction.extra["counterparty_account_from_line"] = customer
