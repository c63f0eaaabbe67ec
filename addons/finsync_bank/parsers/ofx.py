"""OFX / QFX bank and credit-card statements -> ``ParseResult``.

Follows the parser contract of ``base.py``: ``FORMAT``, ``sniff(data)`` and
``parse(data, filename=None, **options)``; pure Python, no Odoo import.

Dialects handled:

- OFX 1.x SGML (``OFXHEADER:100`` key/value header, ``CHARSET:1252`` ...,
  leaf elements whose end tag is optional), including Quicken/QuickBooks QFX
  files (``<INTU.BID>``) and header-less files that start at ``<OFX>``;
- OFX 2.x XML (``<?OFX OFXHEADER="200" ...?>``), including the common
  "XML" files that still leave leaf elements unclosed, values in CDATA
  sections and any ASCII-compatible declared encoding (``us-ascii``).

One ``ParsedStatement`` per ``STMTRS`` (bank) or ``CCSTMTRS`` (credit card),
in file order; an account-information answer (``ACCTINFORS``) yields one
statement per listed account, without transactions or balances and with an
``account_listing`` warning. Investment statements (``INVSTMTRS``) and
sign-on-only answers are refused (``no_statement``) saying so.

Mapping: ``ACCTID`` -> account (``BANKID``/``BRANCHID``/``ACCTTYPE`` in
``extra``), ``CURDEF`` -> currency, ``LEDGERBAL`` -> closing balance and date
(``DTEND`` when it has no ``DTASOF``), earliest ``DTSTART`` -> opening date.
OFX carries no opening balance: when the closing balance and a transaction
list are given, the opening one is derived as closing minus the transactions,
flagged by ``extra["opening_balance_derived"]``. Per transaction: ``FITID`` ->
bank_reference (and the unique id when unique), ``NAME``/``PAYEE`` ->
counterparty, ``MEMO`` -> remittance, ``TRNTYPE`` -> bank_transaction_code,
``DTPOSTED`` -> booking date, ``DTUSER`` -> value date, ``CHECKNUM``,
``REFNUM`` and foreign-currency facts in ``extra``.

The file is read by a small tokenizer of our own rather than ``ofxparse``:
it keeps the line of every element for error messages, reads dates in the
bank's own time zone (``ofxparse`` moves them to UTC, so a statement ending
``20130831165153[-8:PST]`` would end on 1 September), checks the status of
every transaction response and never resolves entity declarations.

Warnings (``ParseWarning.code``): ``currency_missing``, ``balance_missing``,
``date_adjusted`` (a value date past the month's end), ``server_status`` (a
non-error status code), ``account_listing``, ``investment_skipped`` (the file
also holds an investment statement, not read).

Errors (``ParseError.code``): ``empty``, ``encoding``, ``not_ofx``,
``header``, ``xml_entities``, ``syntax``, ``truncated``, ``server_error``,
``no_statement``, ``account_missing``, ``date``, ``date_missing``,
``amount``, ``amount_missing``.
"""

import bisect
import codecs
import datetime
import re
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, unescape

from .base import (
    ParsedStatement,
    ParsedTransaction,
    ParseError,
    ParseResult,
    ParseWarning,
    assign_unique_ids,
    lenient_date,
    parse_amount,
)

FORMAT = "ofx"

_SNIFF_SIZE = 2048
_OFX_TAG = re.compile(rb"<OFX>", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"<\?xml[^>]*\bencoding=[\"']([\w.-]+)[\"']", re.IGNORECASE)
_OFX2_VERSION = re.compile(rb"<\?OFX[^>]*\bVERSION=[\"'](\d+)[\"']", re.IGNORECASE)
_ENTITY_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# Tags, plus the processing instructions and comments of OFX 2 that carry no data.
_MARKUP = re.compile(r"<(/?)([A-Za-z][\w.]*)\s*>|<\?.*?\?>|<!--.*?-->", re.DOTALL)
# A CDATA section holds a value verbatim (OFX 2 XML): ``<NAME><![CDATA[A & B]]></NAME>``.
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_OFX_END = re.compile(r"</OFX>\s*\Z", re.IGNORECASE)
_NEWLINE = re.compile(r"\r\n|\r|\n")
# YYYYMMDD, optional time HHMMSS.XXX (some banks write HHMMSS:XXX), optional [offset:TZ].
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:\d{2,6}(?:[.:]\d{1,6})?)?\s*(?:\[[^\]]*\])?")
# OFX allows a comma as decimal separator; thousands separators are never allowed.
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")
_CHARSETS = {"NONE": "cp1252", "8859-1": "latin-1", "ISO-8859-1": "latin-1"}
_STATEMENT_TAGS = {"STMTRS": "BANKACCTFROM", "CCSTMTRS": "CCACCTFROM"}
_ACCOUNT_INFO_TAGS = {"BANKACCTINFO": "BANKACCTFROM", "CCACCTINFO": "CCACCTFROM"}


@dataclass
class _Node:
    """One OFX element: a leaf has ``text``, an aggregate has ``children``."""

    tag: str
    line: int
    path: str
    text: str | None = None
    children: list = field(default_factory=list)

    def find(self, *tags):
        """The element at the path of child ``tags`` below this one, or None."""
        node = self
        for tag in tags:
            node = next((child for child in node.children if child.tag == tag), None)
            if node is None:
                return None
        return node

    def value(self, *tags):
        node = self.find(*tags)
        return node.text if node is not None else None

    def walk(self):
        """Every descendant element, in document order."""
        for child in self.children:
            yield child
            yield from child.walk()


def sniff(data):
    """Whether ``data`` starts like OFX: an OFX 1/2 header or a bare ``<OFX>``."""
    head = data[:_SNIFF_SIZE].upper()
    return b"OFXHEADER" in head or b"<OFX>" in head


def parse(data, filename=None, **options):
    """Every statement of an OFX file; ``filename`` and ``options`` are not needed by OFX."""
    text, version = _decode(data)
    _refuse_entities(text)
    ofx = _build_tree(_expand_cdata(text)).find("OFX")
    if ofx is None:
        raise ParseError("not_ofx", "the file has no <OFX> element at its top level")
    result = ParseResult(format=FORMAT, warnings=_check_statuses(ofx))
    context = _institution(ofx, version)
    for node in ofx.walk():
        if node.tag in _STATEMENT_TAGS:
            result.statements.append(_statement(node, context))
    result.statements += _listed_accounts(ofx, context)
    if not result.statements:
        _refuse_without_statement(ofx)
    _note_investments(ofx, result.statements)
    return result


def _note_investments(ofx, statements):
    """Tell, on every statement read, that the file's investment statements were not."""
    for investment in ofx.walk():
        if investment.tag != "INVSTMTRS":
            continue
        for statement in statements:
            statement.warnings.append(
                ParseWarning(
                    "investment_skipped",
                    "the file also holds an investment statement (INVSTMTRS),"
                    " which FinSync does not read",
                    line=investment.line,
                    element=investment.path,
                )
            )


def _refuse_without_statement(ofx):
    """Say what the file holds instead of a statement: investments, a sign-on, nothing."""
    investment = next((node for node in ofx.walk() if node.tag == "INVSTMTRS"), None)
    if investment is not None:
        raise ParseError(
            "no_statement",
            "the file is an investment statement (INVSTMTRS), which FinSync does not read:"
            " it reads bank and credit-card statements (STMTRS, CCSTMTRS) and account lists",
            line=investment.line,
            element=investment.path,
        )
    if [child.tag for child in ofx.children] == ["SIGNONMSGSRSV1"]:
        raise ParseError(
            "no_statement",
            "the file holds only the bank's sign-on answer (SIGNONMSGSRSV1), no statement",
            line=ofx.line,
            element=ofx.path,
        )
    raise ParseError(
        "no_statement",
        "the file holds no bank or credit-card statement (STMTRS, CCSTMTRS) nor account list",
        line=ofx.line,
        element=ofx.path,
    )


# Bytes to text -------------------------------------------------------------


def _decode(data):
    """The file's text, decoded as its header says, and its OFX version (or None)."""
    if not data.strip():
        raise ParseError("empty", "the file is empty")
    # OFX is single-byte or UTF-8 text: NUL bytes mean UTF-16/32 or a binary file,
    # which a single-byte codec would otherwise "decode" without complaint.
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data:
        raise ParseError(
            "encoding", "the file is UTF-16 or binary, not OFX text", line=1, value=data[:4]
        )
    data = data.removeprefix(codecs.BOM_UTF8)
    if not _OFX_TAG.search(data):
        raise ParseError("not_ofx", "the file has no <OFX> element: it is not an OFX file")
    codec, version = _codec_and_version(data)
    try:
        return data.decode(codec), version
    except UnicodeDecodeError as err:
        bad = data[err.start : err.start + 1]
        raise ParseError(
            "encoding",
            f"byte {bad!r} is not valid {codec} text, the encoding the file declares",
            line=data.count(b"\n", 0, err.start) + 1,
            value=bad,
        ) from err


def _codec_and_version(data):
    """The codec and version an OFX 1 key/value header or an OFX 2 XML declaration gives."""
    head = data[: data.find(b"<")]
    if head.strip():
        headers = _sgml_header(head)
        version = headers.get("VERSION")
        if headers.get("ENCODING", "").upper() in ("UTF-8", "UNICODE"):
            return "utf-8", version
        charset = headers.get("CHARSET", "NONE").upper()
        codec = _CHARSETS.get(charset, f"cp{charset}")
    else:
        declared = _XML_ENCODING.search(data[:_SNIFF_SIZE])
        version = _OFX2_VERSION.search(data[:_SNIFF_SIZE])
        version = version.group(1).decode() if version else None
        codec = declared.group(1).decode() if declared else "utf-8"
    try:
        return codecs.lookup(codec).name, version
    except LookupError as err:
        raise ParseError(
            "encoding", f"unknown character set {codec!r} in the header", value=codec
        ) from err


def _sgml_header(head):
    """``{"VERSION": "102", ...}`` from the ``KEY:VALUE`` lines before ``<OFX>``."""
    headers = {}
    for number, raw in enumerate(head.splitlines(), 1):
        if not raw.strip():
            continue
        key, colon, value = raw.decode("ascii", "replace").partition(":")
        if not colon:
            raise ParseError(
                "header", f"{raw!r} is not an OFX header line (KEY:VALUE)", line=number, value=raw
            )
        headers[key.strip().upper()] = value.strip()
    return headers


def _refuse_entities(text):
    """Refuse DOCTYPE and ENTITY declarations (entity expansion attacks) before any parsing."""
    match = _ENTITY_DECLARATION.search(text)
    if match:
        raise ParseError(
            "xml_entities",
            "the file declares a DOCTYPE or entities, which OFX never needs: refused",
            line=len(_NEWLINE.findall(text, 0, match.start())) + 1,
            value=match.group(0),
        )


# Text to element tree -------------------------------------------------------


def _expand_cdata(text):
    """CDATA sections replaced by their text, escaped as ordinary element text.

    The escaping is undone by ``_unescape`` like any other value's, and keeps
    the lines where they are, so errors still name the line of the file.
    """
    return _CDATA.sub(lambda match: escape(match.group(1)), text)


def _tokens(text):
    """``(is_end_tag, TAG, line, text following the tag)`` for every tag of the file."""
    line_starts = [0] + [match.end() for match in _NEWLINE.finditer(text)]
    matches = list(_MARKUP.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        following = text[match.end() : end]
        line = bisect.bisect_right(line_starts, match.start())
        if "<" in following:
            raise ParseError(
                "syntax",
                "unreadable markup: neither an OFX tag nor an XML declaration",
                line=line + following[: following.index("<")].count("\n"),
                value=following.strip()[:40],
            )
        if match.group(2):
            yield bool(match.group(1)), match.group(2).upper(), line, following.strip()
        elif following.strip():
            raise ParseError("syntax", "text outside any element", line=line, value=following)


def _build_tree(text):
    """The element tree under a nameless root, SGML end tags inferred."""
    # Checked before reading tags so that a file cut inside a tag reads as truncated too.
    if not _OFX_END.search(text):
        raise ParseError(
            "truncated",
            "the file does not end with </OFX>: it is truncated",
            line=len(_NEWLINE.findall(text.rstrip())) + 1,
        )
    tokens = list(_tokens(text))
    # In SGML a leaf's end tag is optional; an empty element whose tag is never
    # closed anywhere in the file (<CURDEF><BANKACCTFROM>) is an empty leaf.
    closed_tags = {tag for is_end, tag, _line, _text in tokens if is_end}
    stack = [_Node("", 0, "")]
    leaf = None  # the leaf just read, whose end tag may come next
    for is_end, tag, line, value in tokens:
        if is_end:
            if tag != leaf:
                _close(stack, tag, line)
            if value:
                raise ParseError("syntax", f"text after </{tag}>", line=line, value=value)
            leaf = None
            continue
        parent = stack[-1]
        node = _Node(tag, line, f"{parent.path}/{tag}".lstrip("/"), _unescape(value))
        parent.children.append(node)
        leaf = tag if value else None
        if not value and tag in closed_tags:
            stack.append(node)
    return stack[0]


def _close(stack, tag, line):
    """Close ``tag`` and the aggregates left open inside it."""
    for depth in range(len(stack) - 1, 0, -1):
        if stack[depth].tag == tag:
            del stack[depth:]
            return
    raise ParseError("syntax", f"</{tag}> closes no open element", line=line, value=tag)


def _unescape(value):
    """The leaf text with the XML/SGML character entities replaced, None when empty."""
    return unescape(value, {"&quot;": '"', "&apos;": "'"}) or None


# Element tree to statements ---------------------------------------------------


def _check_statuses(ofx):
    """Raise on a response whose STATUS is an error; warnings for the other non-zero codes."""
    warnings = []
    for status in ofx.walk():
        if status.tag != "STATUS" or status.value("CODE") in (None, "0"):
            continue
        code, message = status.value("CODE"), status.value("MESSAGE") or "no message"
        text = f"the bank answered with status {code}: {message}"
        if (status.value("SEVERITY") or "").upper() == "ERROR":
            raise ParseError(
                "server_error", text, line=status.line, element=status.path, value=code
            )
        warnings.append(ParseWarning("server_status", text, line=status.line, element=status.path))
    return warnings


def _institution(ofx, version):
    """Facts about the bank, from the sign-on response, for every statement's ``extra``."""
    sonrs = ofx.find("SIGNONMSGSRSV1", "SONRS") or _Node("SONRS", 0, "")
    facts = {
        "ofx_version": version,
        "fi_org": sonrs.value("FI", "ORG"),
        "fi_id": sonrs.value("FI", "FID"),
        "intu_bid": sonrs.value("INTU.BID"),
    }
    return {key: value for key, value in facts.items() if value is not None}


def _statement(stmtrs, context):
    """One ``STMTRS`` / ``CCSTMTRS`` aggregate as a statement."""
    from_tag = _STATEMENT_TAGS[stmtrs.tag]
    statement = ParsedStatement(
        account=_account(stmtrs, from_tag),
        currency=stmtrs.value("CURDEF"),
        extra={**context, **_account_facts(stmtrs.find(from_tag))},
    )
    if not statement.currency:
        statement.warnings.append(
            ParseWarning(
                "currency_missing",
                "the statement gives no currency (CURDEF)",
                line=stmtrs.line,
                element=stmtrs.path,
            )
        )
    period_end = _read_transactions(statement, stmtrs)
    _read_balances(statement, stmtrs, period_end)
    return assign_unique_ids(statement)


def _account(aggregate, from_tag):
    account = aggregate.value(from_tag, "ACCTID")
    if not account:
        raise ParseError(
            "account_missing",
            f"{aggregate.tag} gives no account number ({from_tag}/ACCTID)",
            line=aggregate.line,
            element=aggregate.path,
        )
    return account


def _account_facts(account_from):
    facts = {
        "bank_id": account_from.value("BANKID"),
        "branch_id": account_from.value("BRANCHID"),
        "account_type": account_from.value("ACCTTYPE"),
    }
    return {key: value for key, value in facts.items() if value is not None}


def _read_transactions(statement, stmtrs):
    """Add the transactions of every BANKTRANLIST; the end of the period they cover."""
    starts, ends = [], []
    for tranlist in stmtrs.children:
        if tranlist.tag != "BANKTRANLIST":
            continue
        starts.append(_date(tranlist.find("DTSTART")))
        ends.append(_date(tranlist.find("DTEND")))
        for node in tranlist.children:
            if node.tag == "STMTTRN":
                statement.transactions.append(_transaction(node, statement))
    starts, ends = [day for day in starts if day], [day for day in ends if day]
    statement.opening_date = min(starts, default=None)
    if ends:
        statement.extra["period_end"] = max(ends)
    return max(ends, default=None)


def _transaction(node, statement):
    """One ``STMTTRN`` aggregate."""
    if node.value("DTPOSTED") is None:
        raise ParseError(
            "date_missing",
            "transaction without posting date (DTPOSTED)",
            line=node.line,
            element=node.path,
        )
    transaction = ParsedTransaction(
        amount=_amount(node, "TRNAMT"),
        booking_date=_date(node.find("DTPOSTED")),
        value_date=_date(node.find("DTUSER"), statement.warnings),
        currency=statement.currency,
        counterparty_name=node.value("NAME") or node.value("PAYEE", "NAME"),
        counterparty_account=_counterparty_account(node),
        remittance=node.value("MEMO"),
        bank_reference=node.value("FITID"),
        bank_transaction_code=(node.value("TRNTYPE") or "").upper() or None,
        extra={"line": node.line},
    )
    for tag, key in (("CHECKNUM", "check_number"), ("REFNUM", "reference_number")):
        if node.value(tag):
            transaction.extra[key] = node.value(tag)
    _read_currency(transaction, node)
    return transaction


def _counterparty_account(node):
    for to_tag in ("BANKACCTTO", "CCACCTTO"):
        if node.value(to_tag, "ACCTID"):
            return node.value(to_tag, "ACCTID")
    return None


def _read_currency(transaction, node):
    """Foreign-currency facts: CURRENCY means TRNAMT is in CURSYM, ORIGCURRENCY that
    it was converted from CURSYM (at CURRATE, to the statement's currency)."""
    for tag, key in (("CURRENCY", "currency"), ("ORIGCURRENCY", "original_currency")):
        aggregate = node.find(tag)
        if aggregate is None or not aggregate.value("CURSYM"):
            continue
        transaction.extra[key] = aggregate.value("CURSYM")
        if aggregate.value("CURRATE"):
            transaction.extra["currency_rate"] = _amount(aggregate, "CURRATE")
        if tag == "CURRENCY":
            transaction.currency = aggregate.value("CURSYM")


def _read_balances(statement, stmtrs, period_end):
    """Closing balance from LEDGERBAL, the opening one derived; AVAILBAL in ``extra``."""
    ledger = stmtrs.find("LEDGERBAL")
    statement.closing_date = period_end
    if ledger is None or not ledger.value("BALAMT"):
        where = ledger or stmtrs
        statement.warnings.append(
            ParseWarning(
                "balance_missing",
                "the statement gives no closing balance (LEDGERBAL/BALAMT)",
                line=where.line,
                element=where.path,
            )
        )
    else:
        statement.closing_balance = _amount(ledger, "BALAMT")
        statement.closing_date = _date(ledger.find("DTASOF")) or period_end
        # Without a BANKTRANLIST (a balance-only answer) the bank does not say
        # that nothing happened, so closing minus nothing would be a guess.
        if stmtrs.find("BANKTRANLIST") is not None:
            total = sum((tx.amount for tx in statement.transactions), start=0)
            statement.opening_balance = statement.closing_balance - total
            statement.extra["opening_balance_derived"] = True
    available = stmtrs.find("AVAILBAL")
    if available is not None and available.value("BALAMT"):
        statement.extra["available_balance"] = _amount(available, "BALAMT")
        statement.extra["available_balance_date"] = _date(available.find("DTASOF"))


def _listed_accounts(ofx, context):
    """An account-information answer (ACCTINFORS): one empty statement per account."""
    statements = []
    for info in ofx.walk():
        if info.tag != "ACCTINFO":
            continue
        for info_tag, from_tag in _ACCOUNT_INFO_TAGS.items():
            aggregate = info.find(info_tag)
            if aggregate is None:
                continue
            account = _account(aggregate, from_tag)
            extra = {**context, **_account_facts(aggregate.find(from_tag))}
            extra["description"] = info.value("DESC")
            statement = ParsedStatement(account=account, extra=extra)
            statement.warnings.append(
                ParseWarning(
                    "account_listing",
                    "the file lists this account but holds no transactions or balances for it",
                    line=info.line,
                    element=info.path,
                )
            )
            statements.append(statement)
    return statements


# Values -----------------------------------------------------------------------


def _date(node, warnings=None):
    """The calendar date of an OFX date-time, as the bank wrote it (its own time zone).

    A day past the month's end is read as the month's last day, with a warning,
    only where ``warnings`` collects that note (value dates); elsewhere it is an error.
    """
    if node is None or node.text is None or node.text.startswith("00000000"):
        return None
    match = _DATE.fullmatch(node.text)
    if not match:
        raise ParseError(
            "date",
            f"{node.text!r} is not an OFX date (YYYYMMDD[HHMMSS])",
            line=node.line,
            element=node.path,
            value=node.text,
        )
    year, month, day = (int(part) for part in match.groups())
    if warnings is not None:
        return lenient_date(year, month, day, warnings, line=node.line, element=node.path)
    try:
        return datetime.date(year, month, day)
    except ValueError as err:
        raise ParseError(
            "date",
            f"{node.text!r} is not a date that exists",
            line=node.line,
            element=node.path,
            value=node.text,
        ) from err


def _amount(aggregate, tag):
    node = aggregate.find(tag)
    if node is None or node.text is None:
        raise ParseError(
            "amount_missing",
            f"{aggregate.tag} has no amount ({tag})",
            line=aggregate.line,
            element=f"{aggregate.path}/{tag}",
        )
    text = node.text
    if _DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    elif "," in text:
        # "1,234.56" or "1.234,56": OFX has no thousands separator, guessing would be a lie.
        raise ParseError(
            "amount",
            f"{text!r} is not an OFX amount (no thousands separators allowed)",
            line=node.line,
            element=node.path,
            value=text,
        )
    return parse_amount(text, line=node.line, element=node.path)
