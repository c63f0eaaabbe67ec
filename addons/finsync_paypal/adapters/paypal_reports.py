"""Parser of PayPal's report files into canonical transaction values.

Contract: ``parse_report(data, filename, date_order=None)`` takes the bytes of

- an **activity export** ("Download activity", CSV, one row per balance
  movement, header row first: ``Date, Time, TimeZone, Name, Type, Status,
  Currency, Gross, Fee, Net, ..., Transaction ID, ..., Reference Txn ID,
  Invoice Number, ...``), or the older **statement** export (``Description``
  instead of ``Type``, ``Invoice ID``, ``Bank Name``...); dates are
  ``D/M/YYYY`` or ``M/D/YYYY`` depending on the account's country: the order
  is read from the file when a day above 12 tells it, else ``date_order``
  (``"dmy"`` or ``"mdy"``) must say it; amounts like ``1,653.75`` or
  ``1.653,75``;
- a **settlement report** (STL) or **transaction detail report** (TRR) of
  PayPal's secure FTP reports: rows typed by their first column (``RH``/``FH``/
  ``SH`` headers, ``CH`` column names, ``SB`` data, ``SF``/``SC``/``RF``/``RC``/
  ``FF`` footers), amounts in hundredths of the currency (PayPal writes
  ``15000`` for 150 JPY too), ``CR``/``DR`` signs, T-codes;

and returns a ``ReportResult`` whose ``rows`` are canonical dicts built by
``paypal_mapper.blank`` (so a row of a report and the same transaction pulled
from the API are one transaction). Anything unreadable raises
``PayPalReportError`` naming the file, the line and the column; footer totals
that disagree with the rows are ``warnings``, not errors (the file is still
PayPal's word on each row).
"""

import csv
import datetime
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .paypal_mapper import STATES, blank, category_of, describe

MAX_BYTES = 50 * 1024 * 1024

ACTIVITY_COLUMNS = {
    "date": ("Date",),
    "time": ("Time",),
    "timezone": ("TimeZone", "Time Zone"),
    "name": ("Name",),
    "type": ("Type", "Description"),
    "status": ("Status",),
    "currency": ("Currency",),
    "gross": ("Gross",),
    "fee": ("Fee",),
    "net": ("Net",),
    "from_email": ("From Email Address",),
    "to_email": ("To Email Address",),
    "transaction_id": ("Transaction ID",),
    "reference": ("Reference Txn ID",),
    "invoice": ("Invoice Number", "Invoice ID"),
    "subject": ("Subject",),
    "note": ("Note",),
    "bank_name": ("Bank Name",),
    "bank_account": ("Bank Account",),
}
REQUIRED_ACTIVITY = ("date", "type", "currency", "gross", "transaction_id")
ACTIVITY_STATES = {
    "completed": "settled",
    "cleared": "settled",
    "refunded": "settled",
    "partially refunded": "settled",
    "pending": "acknowledged",
    "held": "acknowledged",
    "unclaimed": "acknowledged",
    "denied": "rejected",
    "failed": "rejected",
    "canceled": "rejected",
    "cancelled": "rejected",
    "removed": "rejected",
    "reversed": "reversed",
}
# Common time zone abbreviations of PayPal's exports, in hours from UTC.
ZONES = {
    "UTC": 0,
    "GMT": 0,
    "PST": -8,
    "PDT": -7,
    "MST": -7,
    "MDT": -6,
    "CST": -6,
    "CDT": -5,
    "EST": -5,
    "EDT": -4,
    "CET": 1,
    "CEST": 2,
    "BST": 1,
}


class PayPalReportError(ValueError):
    """An unreadable report; ``filename``, ``line`` and ``column`` say where."""

    def __init__(self, message, filename, line=None, column=None):
        where = filename
        if line:
            where += f", line {line}"
        if column:
            where += f", column {column}"
        super().__init__(f"{where}: {message}")
        self.problem = message
        self.filename = filename
        self.line = line
        self.column = column


@dataclass
class ReportResult:
    format: str
    rows: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    batch_reference: str = None

    def net_by_currency(self):
        """{currency: net of the rows}, conversions included: the balance's movement."""
        totals = defaultdict(Decimal)
        for row in self.rows:
            totals[row["currency"]] += row["amount"] - row["fee"]
        return dict(totals)


def parse_report(data, filename="report.csv", date_order=None):
    """Parse one PayPal report file; see the module docstring."""
    if len(data) > MAX_BYTES:
        raise PayPalReportError(f"larger than {MAX_BYTES // (1024 * 1024)} MB", filename)
    text = _decode(data, filename)
    records = list(_read_csv(text, filename))
    if not records:
        raise PayPalReportError("the file is empty", filename)
    first_line, first = records[0]
    if first and first[0].strip() in ("RH", "FH", "SH", "CH"):
        return _parse_sections(records, filename)
    headers = [cell.strip() for cell in first]
    if "Transaction ID" in headers and "Gross" in headers:
        return _parse_activity(records, headers, filename, date_order)
    raise PayPalReportError(
        "not a PayPal activity export, settlement or transaction detail report",
        filename,
        first_line,
    )


def _decode(data, filename):
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PayPalReportError("not UTF-8 or Windows-1252 text", filename)


def _read_csv(text, filename):
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                yield reader.line_num, row
    except csv.Error as err:
        raise PayPalReportError(f"broken CSV ({err})", filename, reader.line_num) from err


# ----------------------------------------------------------------------
# Amounts and dates
# ----------------------------------------------------------------------
AMOUNT_FORMATS = (
    (re.compile(r"[+-]?\d+"), None, None),
    (re.compile(r"[+-]?\d+\.\d+"), None, "."),
    (re.compile(r"[+-]?\d+,\d{1,2}"), None, ","),  # "12,50"; "1,234" groups thousands
    (re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?"), ",", "."),
    (re.compile(r"[+-]?\d{1,3}(\.\d{3})+(,\d+)?"), ".", ","),
)


def parse_amount(text):
    """``1,653.75``, ``-1.653,75``, ``12,50``, ``12431.37`` -> Decimal.

    Raises ValueError for anything else (a stray character, mixed grouping).
    """
    value = (text or "").strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    for pattern, group, decimal in AMOUNT_FORMATS:
        if pattern.fullmatch(value):
            if group:
                value = value.replace(group, "")
            if decimal == ",":
                value = value.replace(",", ".")
            return Decimal(value)
    raise ValueError(text)


def _date_order(records, index, filename, date_order):
    """``dmy`` or ``mdy``: from the file when a part above 12 tells, else ``date_order``."""
    seen = set()
    for line, row in records:
        if index >= len(row):
            continue
        parts = row[index].strip().split("/")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise PayPalReportError(
                f"{row[index]!r} is not a date (D/M/YYYY or M/D/YYYY)", filename, line, "Date"
            )
        if int(parts[0]) > 12:
            seen.add("dmy")
        if int(parts[1]) > 12:
            seen.add("mdy")
    if len(seen) > 1:
        raise PayPalReportError("dates are day-first and month-first at once", filename)
    if seen:
        found = seen.pop()
        if date_order and date_order != found:
            raise PayPalReportError(
                f"the dates are {'day' if found == 'dmy' else 'month'}-first, not as chosen",
                filename,
            )
        return found
    if date_order in ("dmy", "mdy"):
        return date_order
    raise PayPalReportError(
        "the dates could be day-first or month-first: choose the date order", filename
    )


def _moment(date_text, time_text, zone, order, filename, line):
    parts = [int(p) for p in date_text.strip().split("/")]
    day, month = (parts[0], parts[1]) if order == "dmy" else (parts[1], parts[0])
    try:
        clock = datetime.time.fromisoformat(time_text.strip()) if time_text.strip() else None
        moment = datetime.datetime.combine(
            datetime.date(parts[2], month, day), clock or datetime.time()
        )
    except ValueError as err:
        raise PayPalReportError(
            f"{date_text} {time_text} is not a date and time", filename, line, "Date"
        ) from err
    offset = ZONES.get((zone or "").strip().upper())
    tz = datetime.timezone(datetime.timedelta(hours=offset)) if offset is not None else None
    if tz is None and zone and zone.strip():
        try:
            from zoneinfo import ZoneInfo

            tz = ZoneInfo(zone.strip())
        except (KeyError, ValueError):
            tz = None
    return moment.replace(tzinfo=tz or datetime.UTC)


# ----------------------------------------------------------------------
# Activity export
# ----------------------------------------------------------------------
def _activity_category(type_text, amount):
    text = type_text.lower()
    if "chargeback reversal" in text or "cancellation of chargeback" in text:
        return "chargeback_reversal"
    if "refund" in text:
        return "refund"
    if "chargeback" in text or ("reversal" in text and "hold" not in text):
        return "chargeback"
    if "withdrawal" in text or "transfer to bank" in text:
        return "withdrawal"
    if "conversion" in text:
        return "conversion"
    if "hold" in text or "release" in text:
        released = "release" in text or "cancellation" in text or "reversal" in text
        return "release" if released or amount > 0 else "hold"
    if "fee" in text:
        return "fee"
    if "deposit" in text or "add funds" in text:
        return "deposit"
    if "payment" in text or "donation" in text or "checkout" in text:
        return "payment" if amount >= 0 else "payment_sent"
    return "other"


def _parse_activity(records, headers, filename, date_order):
    columns = {}
    for key, names in ACTIVITY_COLUMNS.items():
        for name in names:
            if name in headers:
                columns[key] = headers.index(name)
                break
    missing = [ACTIVITY_COLUMNS[key][0] for key in REQUIRED_ACTIVITY if key not in columns]
    if missing:
        raise PayPalReportError(f"missing column {', '.join(missing)}", filename, records[0][0])
    data = records[1:]
    if not data:
        raise PayPalReportError("the export has no transactions", filename)
    order = _date_order(data, columns["date"], filename, date_order)
    result = ReportResult(format="paypal_activity")
    seen = {}
    for line, row in data:
        vals = _activity_row(row, line, columns, headers, filename, order)
        if vals["external_id"] in seen:
            raise PayPalReportError(
                f"transaction {vals['external_id']} already on line {seen[vals['external_id']]}",
                filename,
                line,
                "Transaction ID",
            )
        seen[vals["external_id"]] = line
        result.rows.append(vals)
    return result


def _activity_row(row, line, columns, headers, filename, order):
    if len(row) != len(headers):
        raise PayPalReportError(
            f"{len(row)} columns where the header has {len(headers)}", filename, line
        )

    def cell(key):
        return row[columns[key]].strip() if key in columns else ""

    def amount(key, required=True):
        text = cell(key)
        if not text and not required:
            return Decimal(0)
        try:
            return parse_amount(text)
        except ValueError as err:
            raise PayPalReportError(
                f"{text!r} is not an amount", filename, line, headers[columns[key]]
            ) from err

    tx_id = cell("transaction_id")
    if not tx_id:
        raise PayPalReportError("no transaction id", filename, line, "Transaction ID")
    currency = cell("currency").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise PayPalReportError(f"{currency!r} is not a currency", filename, line, "Currency")
    gross = amount("gross")
    fee_column = amount("fee", required=False)  # negative when PayPal kept a fee
    if "net" in columns and cell("net"):
        net = amount("net")
        if gross + fee_column != net:
            raise PayPalReportError(
                f"net {net} is not gross {gross} plus fee {fee_column}", filename, line, "Net"
            )
    status = cell("status").lower()
    category = _activity_category(cell("type"), gross)
    vals = blank(
        tx_id,
        category,
        ACTIVITY_STATES.get(status, "settled"),
        currency,
        gross,
        -fee_column,
        _moment(cell("date"), cell("time"), cell("timezone"), order, filename, line),
        {"status": cell("status") or None, "reference": cell("reference") or None},
    )
    vals["paypal"]["fee_known"] = True
    describe(vals, invoice=cell("invoice"), subject=cell("subject"), note=cell("note"))
    vals["bank_reference"] = f"paypal {cell('type')} {tx_id}"
    vals["counterparty_name"] = cell("name") or cell("bank_name") or None
    # The other party: who paid us, or whom we paid (our own address is the other one).
    other_party = cell("from_email") if gross >= 0 else cell("to_email")
    vals["counterparty_account"] = other_party or cell("bank_account") or None
    return vals


# ----------------------------------------------------------------------
# Settlement (STL) and transaction detail (TRR) reports
# ----------------------------------------------------------------------
SECTION_ROWS = frozenset({"RH", "FH", "SH", "CH", "SB", "SF", "SC", "RF", "RC", "FF"})


def _parse_sections(records, filename):
    name = filename.upper()
    report = "paypal_stl" if "STL" in name else "paypal_trr" if "TRR" in name else "paypal_report"
    result = ReportResult(format=report)
    header = None
    footers = []
    for line, row in records:
        kind = row[0].strip()
        if kind not in SECTION_ROWS:
            raise PayPalReportError(f"unknown row type {kind!r}", filename, line, "1")
        if kind == "SH" and len(row) > 1 and not result.batch_reference:
            result.batch_reference = re.sub(r"\D", "", row[1].strip()[:10]) or None
        elif kind == "CH":
            header = [cell.strip() for cell in row[1:]]
        elif kind == "SB":
            if header is None:
                raise PayPalReportError("a data row before the column header (CH)", filename, line)
            result.rows.append(_section_row(row[1:], header, filename, line))
        elif kind == "SF":
            footers.append((line, row))
    seen = {}
    for vals in result.rows:
        previous = seen.setdefault(vals["external_id"], vals)
        if previous is not vals:
            raise PayPalReportError(
                f"transaction {vals['external_id']} appears twice", filename, None
            )
    result.warnings += _check_footers(result.rows, footers, filename)
    return result


def _cents(text, filename, line, column):
    value = (text or "").strip()
    if not value:
        return None
    if not re.fullmatch(r"-?\d+", value):
        raise PayPalReportError(f"{value!r} is not an amount in cents", filename, line, column)
    return Decimal(value).scaleb(-2)


def _signed(sign, value, filename, line, column):
    sign = (sign or "").strip().upper()
    if value is None:
        return None
    if sign not in ("CR", "DR"):
        raise PayPalReportError(f"{sign!r} is neither CR nor DR", filename, line, column)
    return value if sign == "CR" else -value


def _section_row(cells, header, filename, line):
    cells = cells + [""] * (len(header) - len(cells))

    def cell(name):
        return cells[header.index(name)].strip() if name in header else ""

    tx_id = cell("Transaction ID")
    if not tx_id:
        raise PayPalReportError("no transaction id", filename, line, "Transaction ID")
    code = cell("Transaction Event Code")
    if not re.fullmatch(r"T\d{4}", code):
        raise PayPalReportError(
            f"{code!r} is not a T-code", filename, line, "Transaction Event Code"
        )
    currency = cell("Gross Transaction Currency").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise PayPalReportError(
            f"{currency!r} is not a currency", filename, line, "Gross Transaction Currency"
        )
    gross = _signed(
        cell("Transaction Debit or Credit"),
        _cents(cell("Gross Transaction Amount"), filename, line, "Gross Transaction Amount"),
        filename,
        line,
        "Transaction Debit or Credit",
    )
    if gross is None:
        raise PayPalReportError("no amount", filename, line, "Gross Transaction Amount")
    fee_in = _signed(
        cell("Fee Debit or Credit"),
        _cents(cell("Fee Amount"), filename, line, "Fee Amount"),
        filename,
        line,
        "Fee Debit or Credit",
    )
    fee_currency = cell("Fee Currency").upper()
    if fee_in is not None and fee_currency and fee_currency != currency:
        raise PayPalReportError(
            f"fee in {fee_currency}, amount in {currency}", filename, line, "Fee Currency"
        )
    moment = _report_moment(cell("Transaction Initiation Date"), filename, line)
    status = cell("Transactional Status") or "S"
    reference_type = cell("PayPal Reference ID Type")
    vals = blank(
        tx_id,
        category_of(code, gross),
        STATES.get(status, "settled"),
        currency,
        gross,
        -fee_in if fee_in is not None else Decimal(0),
        moment,
        {
            "event_code": code,
            "status": status,
            "reference": cell("PayPal Reference ID") if reference_type in ("", "TXN") else None,
            "bank_reference_id": cell("Bank Reference ID") or None,
        },
    )
    vals["paypal"]["fee_known"] = True
    describe(
        vals,
        invoice=cell("Invoice ID"),
        subject=cell("Transaction Subject"),
        note=cell("Transaction Note"),
    )
    full_name = " ".join(p for p in (cell("First Name"), cell("Last Name")) if p)
    vals["counterparty_name"] = cell("Consumer Business Name") or full_name or None
    vals["counterparty_account"] = cell("Payer's Account ID") or None
    return vals


def _report_moment(text, filename, line):
    try:
        return datetime.datetime.strptime(text.strip(), "%Y/%m/%d %H:%M:%S %z")
    except ValueError as err:
        raise PayPalReportError(
            f"{text!r} is not a date (YYYY/MM/DD HH:MM:SS +HHMM)",
            filename,
            line,
            "Transaction Initiation Date",
        ) from err


def _check_footers(rows, footers, filename):
    """Compare each SF footer's gross credits, fee debits and fee credits with the rows."""
    warnings = []
    for line, row in footers:
        if len(row) < 6:
            continue
        currency = row[1].strip().upper()
        mine = [r for r in rows if r["currency"] == currency]
        actual = {
            "gross credits": sum((r["amount"] for r in mine if r["amount"] > 0), Decimal(0)),
            "fee debits": sum((r["fee"] for r in mine if r["fee"] > 0), Decimal(0)),
            "fee credits": sum((-r["fee"] for r in mine if r["fee"] < 0), Decimal(0)),
        }
        stated = {"gross credits": row[2], "fee debits": row[4], "fee credits": row[5]}
        for label, text in stated.items():
            try:
                value = Decimal(text.strip()).scaleb(-2)
            except (InvalidOperation, ValueError):
                continue
            if value != actual[label]:
                warnings.append(
                    f"{filename}, line {line}: {currency} {label} are {value} in the footer, "
                    f"{actual[label]} in the rows"
                )
    return warnings
