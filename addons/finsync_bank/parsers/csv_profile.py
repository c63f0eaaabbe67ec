"""Bank CSV and XLSX exports read through a mapping profile.

Contract (see ``base``): ``FORMAT``, ``sniff(data)`` and ``parse(data, filename=None,
profile=None)`` returning a ``ParseResult`` (format ``"csv"``, or ``"xlsx"`` for an
Excel workbook: zip magic and an ``xl/`` member; its first sheet is read with
openpyxl, and cells already holding numbers or dates are taken as such). Also
``preview(data, profile, rows=10)`` for the import UI and ``validate_profile``.

The profile is a dict with exactly these keys (all optional but ``date_column``,
``date_format`` and an amount mapping):

- ``encoding`` (``"utf-8"``), ``delimiter`` (``","``), ``quotechar`` (``'"'``): CSV only;
- ``has_header`` (``True``): columns are then header names, else 0-based indexes;
- ``skip_lines_before_header`` (0): metadata lines above the header (or first row);
- ``skip_footer_lines`` (0): rows after the last transaction (totals, balances);
- ``skip_empty_lines`` (``True``): blank rows are ignored rather than rejected;
- ``date_column``, ``date_format`` (a ``strptime`` format such as ``"%m/%d/%Y"``);
- ``decimal_separator`` (``"."``), ``thousands_separator`` (``""``);
- ``amount_column`` (signed), or ``debit_column`` and ``credit_column`` (money out and
  money in; the amount is ``|credit| - |debit|``);
- ``debit_credit_column`` with ``debit_value`` / ``credit_value``: a column marking
  the direction of an unsigned amount;
- ``amount_inverse_sign`` (``False``): negate amounts written from the bank's side;
  the balance column is read as written;
- ``balance_column``: the balance after the row. The statement opens at the first
  row's balance minus its amount and closes at the last row's balance; a row whose
  balance does not follow from the previous one gives a ``balance_mismatch`` warning;
- ``currency``: the statement's currency;
- ``original_amount_column`` / ``original_currency_column``: the amount before
  conversion (given the sign of the booked amount) and its currency, kept in
  ``extra`` when the currency differs from ``currency``. Without an original amount
  column the currency column is the row's own currency: rows in another currency
  than ``currency`` belong to another account and are left out (``other_currency``
  warning);
- ``description_columns`` (list): joined with ``" "`` into ``remittance``;
- ``partner_name_column``: the counterparty's name;
- ``bank_account_column``: the same non-empty value on every row is the statement's
  own account; otherwise each row's value is its counterparty's account.

Rows listed newest first are reversed so that statements read oldest first. Every
row problem fails the whole parse (no statement is half read) with a ``ParseError``
giving the 1-based physical line of the file (skipped lines counted), the column in
``element`` and the cell in ``value``. Codes: ``profile`` (bad profile key, named in
``value``), ``empty``, ``encoding``, ``nul`` (a NUL character: binary data, not text),
``csv`` (unbalanced quotes), ``xlsx`` (unreadable workbook), ``too_large`` (a workbook
that expands past ``max_bytes`` or has more than ``MAX_XLSX_ROWS`` rows), ``header``
(missing header), ``column`` (a mapped column the header lacks), ``missing`` (required
cell empty), ``date`` (not matching ``date_format``), ``amount`` / ``amount_locale``,
``debit_credit`` (neither ``debit_value`` nor ``credit_value``), ``no_rows``.
"""

import csv
import datetime
import io
import zipfile
from decimal import Decimal

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from .base import (
    DEFAULT_MAX_BYTES,
    ParsedStatement,
    ParsedTransaction,
    ParseError,
    ParseResult,
    ParseWarning,
    assign_unique_ids,
    parse_amount,
)

FORMAT = "csv"
XLSX_FORMAT = "xlsx"

DEFAULTS = {
    "encoding": "utf-8",
    "delimiter": ",",
    "quotechar": '"',
    "has_header": True,
    "skip_lines_before_header": 0,
    "skip_footer_lines": 0,
    "skip_empty_lines": True,
    "date_column": None,
    "date_format": None,
    "decimal_separator": ".",
    "thousands_separator": "",
    "amount_column": None,
    "debit_column": None,
    "credit_column": None,
    "debit_credit_column": None,
    "debit_value": None,
    "credit_value": None,
    "amount_inverse_sign": False,
    "balance_column": None,
    "currency": None,
    "original_amount_column": None,
    "original_currency_column": None,
    "description_columns": [],
    "partner_name_column": None,
    "bank_account_column": None,
}
_COLUMN_KEYS = tuple(key for key in DEFAULTS if key.endswith("_column"))
_TEXT_KEYS = ("encoding", "delimiter", "quotechar", "date_format", "decimal_separator")
_ZIP_MAGIC = b"PK\x03\x04"
# A workbook is a zip: 68 KB can expand to 290 MB of sheet XML. Its members may
# expand to as much as a file may weigh (``max_bytes``), its sheet has at most
# this many rows (a bank export, not a database dump).
MAX_XLSX_ROWS = 100_000


class _Table:
    """The rows of a file as ``(line, cells)``, its header and the header's line."""

    def __init__(self, rows, header=None, header_line=None, format_=FORMAT):
        self.rows = rows
        self.header = header
        self.header_line = header_line
        self.format = format_


# -- entry points -------------------------------------------------------------------------


def sniff(data):
    """Whether the bytes are an XLSX workbook or text with a field delimiter."""
    if data[:4] == _ZIP_MAGIC:
        return _is_xlsx(data)
    head = data[:4096]
    return b"\x00" not in head and any(char in head for char in b",;\t|")


def validate_profile(profile):
    """The profile with defaults filled in; ``ParseError("profile")`` naming a bad key."""
    if not isinstance(profile, dict):
        raise ParseError("profile", "the mapping profile must be a dict", value=None)
    unknown = sorted(set(profile) - set(DEFAULTS))
    if unknown:
        _bad_key(unknown[0], "is not a profile key")
    full = DEFAULTS | profile
    for key in ("date_column", "date_format"):
        if full[key] in (None, ""):
            _bad_key(key, "is required")
    for key in _TEXT_KEYS:
        if not isinstance(full[key], str):
            _bad_key(key, "must be a string")
    for key in ("delimiter", "quotechar"):
        if len(full[key]) != 1:
            _bad_key(key, "must be one character")
    for key in ("skip_lines_before_header", "skip_footer_lines"):
        if not isinstance(full[key], int) or full[key] < 0:
            _bad_key(key, "must be a whole number of lines")
    if not isinstance(full["description_columns"], list | tuple):
        _bad_key("description_columns", "must be a list of columns")
    _validate_columns(full)
    _validate_amount_mapping(full)
    return full


def parse(data, filename=None, profile=None, max_bytes=DEFAULT_MAX_BYTES, **options):
    """One statement from the rows of ``data`` read with ``profile``.

    ``max_bytes`` bounds what an XLSX workbook may expand to (see ``MAX_XLSX_ROWS``).
    """
    profile = validate_profile(profile)
    table = _read_table(data, profile, max_bytes)
    rows = _data_rows(table, profile)
    if not rows:
        raise ParseError("no_rows", "the file has no transaction rows", line=table.header_line or 1)
    warnings = []
    account = _own_account(table, rows, profile)
    transactions = [
        tx for tx in (_transaction(row, table, profile, warnings) for row in rows) if tx is not None
    ]
    statement = _statement(transactions, profile, warnings)
    if account:
        statement.account = account
        for tx in transactions:
            tx.counterparty_account = None
    return ParseResult(format=table.format, statements=[statement])


def preview(data, profile, rows=10):
    """The header and first rows as strings, with each row's error (or None).

    Returns ``{"header": [...] | None, "rows": [[...], ...], "lines": [...],
    "errors": [None | {"code", "message", "line", "column", "value"}, ...]}``;
    file-level problems (profile, encoding, header) raise ``ParseError``.
    """
    profile = validate_profile(profile)
    table = _read_table(data, profile)
    shown = _data_rows(table, profile)[:rows]
    errors = []
    for row in shown:
        try:
            _transaction(row, table, profile, [])
            errors.append(None)
        except ParseError as err:
            errors.append(
                {
                    "code": err.code,
                    "message": err.message,
                    "line": err.line,
                    "column": err.element,
                    "value": err.value,
                }
            )
    return {
        "header": table.header,
        "rows": [[_display(cell) for cell in cells] for _line, cells in shown],
        "lines": [line for line, _cells in shown],
        "errors": errors,
    }


# -- profile checks -----------------------------------------------------------------------


def _bad_key(key, problem):
    raise ParseError("profile", f"profile key {key!r} {problem}", value=key)


def _validate_columns(profile):
    wanted = int if not profile["has_header"] else str
    for key in (*_COLUMN_KEYS, "description_columns"):
        values = profile[key] if key == "description_columns" else [profile[key]]
        for value in values:
            if value is not None and (not isinstance(value, wanted) or isinstance(value, bool)):
                kind = "0-based column indexes" if wanted is int else "header names"
                _bad_key(key, f"must give {kind} (has_header is {profile['has_header']})")


def _validate_amount_mapping(profile):
    split = profile["debit_column"] is not None or profile["credit_column"] is not None
    if profile["amount_column"] is None and not split:
        _bad_key("amount_column", "or debit_column and credit_column are required")
    if profile["amount_column"] is not None and split:
        _bad_key("amount_column", "excludes debit_column and credit_column")
    if split and None in (profile["debit_column"], profile["credit_column"]):
        _bad_key(
            "debit_column" if profile["debit_column"] is None else "credit_column",
            "goes with the other of debit_column and credit_column",
        )
    if profile["debit_credit_column"] is not None:
        for key in ("debit_value", "credit_value"):
            if profile[key] in (None, ""):
                _bad_key(key, "is required with debit_credit_column")


# -- reading the table --------------------------------------------------------------------


def _is_xlsx(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(name.startswith("xl/") for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def _read_table(data, profile, max_bytes=DEFAULT_MAX_BYTES):
    if not data or not data.strip():
        raise ParseError("empty", "the file is empty", line=1)
    if data[:4] == _ZIP_MAGIC and _is_xlsx(data):
        lines = _xlsx_lines(data, max_bytes)
        format_ = XLSX_FORMAT
    else:
        lines = _csv_lines(data, profile)
        format_ = FORMAT
    return _split_header(lines, profile, format_)


def _csv_lines(data, profile):
    """``(line, cells)`` for each CSV row after the skipped metadata lines."""
    encoding = profile["encoding"]
    try:
        text = data.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as err:
        raise ParseError(
            "encoding",
            f"byte {data[err.start]:#04x} cannot be read as {encoding}",
            line=data[: err.start].count(b"\n") + 1,
            value=encoding,
        ) from err
    except LookupError:
        _bad_key("encoding", f"names no known encoding ({encoding!r})")
    if "\x00" in text:
        raise ParseError(
            "nul",
            "the file contains a NUL character: binary data, not CSV text",
            line=text[: text.index("\x00")].count("\n") + 1,
        )
    physical = text.splitlines(keepends=True)
    skipped = profile["skip_lines_before_header"]
    # Metadata lines may hold unbalanced quotes: they are skipped before CSV parsing.
    reader = csv.reader(
        physical[skipped:],
        delimiter=profile["delimiter"],
        quotechar=profile["quotechar"],
        strict=True,
    )
    rows = []
    try:
        for cells in reader:
            rows.append((skipped + reader.line_num, [cell.strip() for cell in cells]))
    except csv.Error as err:
        raise ParseError("csv", f"unreadable CSV: {err}", line=skipped + reader.line_num) from err
    return rows


def _xlsx_lines(data, max_bytes=DEFAULT_MAX_BYTES):
    """``(row number, cells)`` of the first sheet; numbers and dates kept as such.

    Bounded before anything is read: the members' uncompressed sizes (from the
    zip directory; a member is never read past its declared size) and, while
    reading, the row count.
    """
    try:
        _check_xlsx_size(data, max_bytes)
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            lines = []
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                if number > MAX_XLSX_ROWS:
                    raise ParseError(
                        "too_large",
                        f"the workbook has more than {MAX_XLSX_ROWS} rows, the limit",
                        line=number,
                    )
                lines.append((number, [_xlsx_cell(value) for value in values]))
            return lines
        finally:
            workbook.close()
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        if isinstance(err, ParseError):
            raise
        raise ParseError("xlsx", f"unreadable Excel workbook: {err}", line=1) from err


def _check_xlsx_size(data, max_bytes):
    if not max_bytes:
        return
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        expanded = sum(member.file_size for member in archive.infolist())
    if expanded > max_bytes:
        raise ParseError(
            "too_large",
            f"the workbook expands to {expanded} bytes, more than the limit of {max_bytes}",
        )


def _xlsx_cell(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        # str() of a float is its shortest round-trip form: 1234.56, not 1234.5599...
        return Decimal(str(value))
    return value


def _split_header(lines, profile, format_):
    if format_ == XLSX_FORMAT:
        lines = lines[profile["skip_lines_before_header"] :]
    if not profile["has_header"]:
        return _Table(lines, format_=format_)
    if not lines:
        raise ParseError(
            "header",
            "the file ends before its header line",
            line=profile["skip_lines_before_header"] + 1,
        )
    header_line, header = lines[0]
    return _Table(lines[1:], [_display(cell) for cell in header], header_line, format_)


def _data_rows(table, profile):
    rows = table.rows
    if profile["skip_empty_lines"]:
        rows = [(line, cells) for line, cells in rows if any(cell != "" for cell in cells)]
    if profile["skip_footer_lines"]:
        rows = rows[: -profile["skip_footer_lines"]]
    return rows


def _display(cell):
    if isinstance(cell, datetime.date):
        return cell.isoformat()
    return str(cell)


# -- one row ------------------------------------------------------------------------------


class _Row:
    """Cell access by profile column, raising errors that name the line and column."""

    def __init__(self, row, table):
        self.line, self.cells = row
        self.table = table

    def cell(self, column):
        index = self._index(column)
        return self.cells[index] if index < len(self.cells) else ""

    def _index(self, column):
        if self.table.header is None:
            return column
        try:
            return self.table.header.index(column)
        except ValueError:
            raise ParseError(
                "column",
                f"the header has no column {column!r}",
                line=self.table.header_line,
                element=column,
                value=column,
            ) from None

    def required(self, column):
        value = self.cell(column)
        if value == "":
            raise ParseError(
                "missing",
                f"column {column!r} is empty",
                line=self.line,
                element=str(column),
                value="",
            )
        return value

    def amount(self, column, profile, required=True):
        value = self.required(column) if required else self.cell(column)
        if isinstance(value, Decimal) or value == "":
            return value if value != "" else None
        try:
            return parse_amount(
                value, profile["decimal_separator"], profile["thousands_separator"], line=self.line
            )
        except ParseError as err:
            err.element = str(column)
            raise

    def date(self, column, date_format):
        value = self.required(column)
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.datetime.strptime(str(value), date_format).date()
        except ValueError as err:
            raise ParseError(
                "date",
                f"{value!r} does not match the date format {date_format!r}",
                line=self.line,
                element=str(column),
                value=str(value),
            ) from err

    def text(self, column):
        """The cell as a string, None when the column is not mapped or the cell empty."""
        if column is None:
            return None
        return _display(self.cell(column)) or None


def _transaction(row, table, profile, warnings):
    """The row's transaction; None for a row in another currency (with a warning)."""
    row = _Row(row, table)
    booking_date = row.date(profile["date_column"], profile["date_format"])
    amount = _amount(row, profile)
    if _other_currency(row, profile, warnings):
        return None
    descriptions = [row.text(column) for column in profile["description_columns"]]
    tx = ParsedTransaction(
        amount=amount,
        booking_date=booking_date,
        currency=profile["currency"],
        counterparty_name=row.text(profile["partner_name_column"]),
        counterparty_account=row.text(profile["bank_account_column"]),
        remittance=" ".join(text for text in descriptions if text) or None,
    )
    tx.extra["line"] = row.line
    _original_amount(row, profile, tx)
    if profile["balance_column"] is not None:
        tx.extra["balance"] = row.amount(profile["balance_column"], profile, required=False)
    return tx


def _amount(row, profile):
    if profile["amount_column"] is not None:
        amount = row.amount(profile["amount_column"], profile)
    else:
        debit = row.amount(profile["debit_column"], profile, required=False)
        credit = row.amount(profile["credit_column"], profile, required=False)
        if debit is None and credit is None:
            row.required(profile["debit_column"])
        amount = abs(credit or 0) - abs(debit or 0)
    if profile["debit_credit_column"] is not None:
        amount = _directed(row, profile, abs(amount))
    return -amount if profile["amount_inverse_sign"] else amount


def _directed(row, profile, amount):
    column = profile["debit_credit_column"]
    marker = row.text(column)
    if marker == str(profile["debit_value"]):
        return -amount
    if marker == str(profile["credit_value"]):
        return amount
    raise ParseError(
        "debit_credit",
        f"{marker!r} is neither {profile['debit_value']!r} nor {profile['credit_value']!r}",
        line=row.line,
        element=str(column),
        value=marker,
    )


def _other_currency(row, profile, warnings):
    """Whether the row's own currency (no original amount mapped) is not the statement's."""
    column = profile["original_currency_column"]
    if column is None or profile["original_amount_column"] is not None:
        return False
    currency = row.text(column)
    if not currency or not profile["currency"] or currency == profile["currency"]:
        return False
    warnings.append(
        ParseWarning(
            "other_currency",
            f"row in {currency}, not {profile['currency']}: left out",
            line=row.line,
        )
    )
    return True


def _original_amount(row, profile, tx):
    amount_column = profile["original_amount_column"]
    if amount_column is None:
        return
    currency = row.text(profile["original_currency_column"])
    original = row.amount(amount_column, profile, required=False)
    if not original or currency == profile["currency"]:
        return
    # Banks print the original amount unsigned or signed their own way: the booked
    # amount says the direction.
    tx.extra["original_amount"] = abs(original).copy_sign(tx.amount)
    if currency:
        tx.extra["original_currency"] = currency


def _own_account(table, rows, profile):
    """The bank account column's value when every row of the file repeats it."""
    column = profile["bank_account_column"]
    if column is None:
        return None
    accounts = {_Row(row, table).text(column) for row in rows}
    return accounts.pop() if len(accounts) == 1 and None not in accounts else None


# -- the statement ------------------------------------------------------------------------


def _statement(transactions, profile, warnings):
    if len(transactions) > 1 and transactions[0].booking_date > transactions[-1].booking_date:
        transactions.reverse()
    statement = ParsedStatement(
        currency=profile["currency"], transactions=transactions, warnings=warnings
    )
    if transactions:
        statement.opening_date = transactions[0].booking_date
        statement.closing_date = transactions[-1].booking_date
    if profile["balance_column"] is not None:
        _balances(statement)
    return assign_unique_ids(statement)


def _balances(statement):
    transactions = statement.transactions
    if not transactions:
        return
    first, last = transactions[0], transactions[-1]
    if first.extra["balance"] is not None:
        statement.opening_balance = first.extra["balance"] - first.amount
    statement.closing_balance = last.extra["balance"]
    previous = None
    for tx in transactions:
        balance = tx.extra["balance"]
        if previous is not None and balance is not None and previous + tx.amount != balance:
            statement.warnings.append(
                ParseWarning(
                    "balance_mismatch",
                    f"balance {balance} does not follow from {previous} and the amount {tx.amount}",
                    line=tx.extra["line"],
                )
            )
        previous = balance
    for name in ("opening", "closing"):
        if getattr(statement, f"{name}_balance") is None:
            statement.warnings.append(
                ParseWarning("missing_balance", f"no {name} balance: the balance cell is empty")
            )
