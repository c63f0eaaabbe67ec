"""ISO 20022 cash management (CAMT) bank-to-customer messages.

Handled messages, versions ``001.01`` to ``001.08`` and later (the version is
read from the namespace URI, never hard-coded; elements are matched by local
name, so prefixed and namespace-less documents read the same):

- ``camt.053`` ``BkToCstmrStmt/Stmt``: end-of-day statements;
- ``camt.052`` ``BkToCstmrAcctRpt/Rpt``: intraday reports (pending entries);
- ``camt.054`` ``BkToCstmrDbtCdtNtfctn/Ntfctn``: debit/credit notifications,
  which carry no balances by schema;
- a zip archive of such XML files (all their statements in one result).

``001.01`` names the message element ``BkToCstmrStmtV01`` (``...AcctRptV01``,
``...DbtCdtNtfctnV01``) and the balance type ``Bal/Tp/Cd``; the rest read here
(``Acct/Id/IBAN``, ``CdtDbtInd``, ``BookgDt/Dt``, ``NtryDtls/TxDtls``) is as later.

Contract (see ``base``): ``parse(data) -> ParseResult`` with one
``ParsedStatement`` per Stmt/Rpt/Ntfctn. An entry (``Ntry``) gives one
``ParsedTransaction``, except a batch entry whose several ``TxDtls`` each carry
an amount in the entry's currency, adding up exactly to the entry's amount: it
gives one transaction per ``TxDtls``. Details that do not add up (or are in
another currency) leave the entry whole, with a ``batch_mismatch`` warning.
Amounts are signed as the bank books them (``DBIT`` negative), also for reversals
(``extra["reversal"]``). The counterparty is the other party: the debtor of a
credit, the creditor of a debit. Opening (OPBD, else PRCD) and closing (CLBD)
booked balances fill the statement; every other balance goes to
``extra["balances"]``.

Security: bank files never carry a DOCTYPE, so any document with one is
refused (``xml_entities``) and the parser neither resolves entities, loads DTDs
nor touches the network. Archives are bounded in member count and size.

ParseError codes: ``empty``, ``xml_syntax``, ``encoding``, ``xml_entities``,
``not_camt``, ``missing``, ``amount``, ``date``, ``credit_debit``,
``zip_corrupt``, ``zip_members``, ``zip_bomb``, ``zip_path``, ``zip_member``.
Warnings: ``balance_missing``, ``balance_currency``, ``balance_mismatch``,
``totals_mismatch``, ``batch_mismatch``, ``date_adjusted``.
"""

import io
import re
import zipfile
from decimal import Decimal

from lxml import etree

from .base import (
    ParsedStatement,
    ParsedTransaction,
    ParseError,
    ParseResult,
    ParseWarning,
    assign_unique_ids,
    lenient_date,
)

FORMAT = "camt"

# Message element -> (format code, record element).
MESSAGES = {
    "BkToCstmrStmt": ("camt.053", "Stmt"),
    "BkToCstmrAcctRpt": ("camt.052", "Rpt"),
    "BkToCstmrDbtCdtNtfctn": ("camt.054", "Ntfctn"),
    # .001.01 named the message after its version.
    "BkToCstmrStmtV01": ("camt.053", "Stmt"),
    "BkToCstmrAcctRptV01": ("camt.052", "Rpt"),
    "BkToCstmrDbtCdtNtfctnV01": ("camt.054", "Ntfctn"),
}
NAMESPACE_RE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(camt\.05[234]\.\d{3}\.\d{2})")
SNIFF_RE = re.compile(r"camt\.05[234]|<(\w+:)?BkToCstmr(Stmt|AcctRpt|DbtCdtNtfctn)(V01)?\b")
AMOUNT_RE = re.compile(r"\d{1,18}(\.\d{1,17})?")
DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
STATUSES = {"BOOK": "booked", "PDNG": "pending", "INFO": "information", "FUTR": "future"}
OPENING_CODES = ("OPBD", "PRCD")  # PRCD (previous closing) only when no OPBD
CLOSING_CODE = "CLBD"
NOT_PROVIDED = "NOTPROVIDED"
REFERENCE_KEYS = {
    "InstrId": "instruction_id",
    "MndtId": "mandate_id",
    "TxId": "transaction_id",
    "PmtInfId": "payment_information_id",
}

# Bytes that are not text in the declared (or default UTF-8) encoding.
ENCODING_ERRORS = {
    etree.ErrorTypes.ERR_INVALID_CHAR,
    etree.ErrorTypes.ERR_INVALID_ENCODING,
    etree.ErrorTypes.ERR_UNSUPPORTED_ENCODING,
    etree.ErrorTypes.ERR_UNKNOWN_ENCODING,
}

ZIP_MAGIC = b"PK\x03\x04"
ZIP_MAX_MEMBERS = 100
ZIP_MAX_BYTES = 50 * 1024 * 1024


def sniff(data):
    """Whether ``data`` looks like a CAMT message (or a zip archive of them)."""
    if data.startswith(ZIP_MAGIC):
        return _sniff_zip(data)
    return _sniff_xml(data[:4096])


def _sniff_xml(head):
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = head.decode("utf-16", errors="ignore")  # the cut may split a character
    else:
        text = head.decode("latin-1")  # ASCII-compatible: enough to find the markers
    return bool(SNIFF_RE.search(text))


def _sniff_zip(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            first = next((i for i in archive.infolist() if not i.is_dir()), None)
            if first is None:
                return False
            with archive.open(first) as member:
                return _sniff_xml(member.read(4096))
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError):
        return False


def parse(data, filename=None, **options):
    """Read a CAMT message, or a zip archive of them, into a ``ParseResult``."""
    if not data or not data.strip():
        raise ParseError("empty", "the file is empty")
    if data.startswith(ZIP_MAGIC):
        return _parse_zip(data)
    fmt, statements = _parse_document(data)
    return ParseResult(format=fmt, statements=statements)


# --- Archives -------------------------------------------------------------------------------


def _parse_zip(data):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise ParseError("zip_corrupt", f"not a readable zip archive: {err}") from err
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) > ZIP_MAX_MEMBERS:
            raise ParseError(
                "zip_members",
                f"the archive holds {len(members)} files, more than {ZIP_MAX_MEMBERS}",
                value=len(members),
            )
        formats, statements, budget = set(), [], ZIP_MAX_BYTES
        for info in members:
            content = _read_member(archive, info, budget)
            budget -= len(content)
            fmt, member_statements = _parse_member(info.filename, content)
            formats.add(fmt)
            statements.extend(member_statements)
    fmt = formats.pop() if len(formats) == 1 else FORMAT
    return ParseResult(format=fmt, statements=statements)


def _read_member(archive, info, budget):
    """The member's bytes, refusing unsafe names and reading at most ``budget`` bytes.

    The declared size can lie (zip bombs), so the read itself is bounded.
    """
    name = info.filename
    if name.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", name) or ":" in name:
        raise ParseError("zip_path", f"unsafe file name {name!r} in the archive", value=name)
    bomb = ParseError(
        "zip_bomb",
        f"{name}: the archive uncompresses beyond {ZIP_MAX_BYTES // (1024 * 1024)} MB",
        value=name,
    )
    if info.file_size > budget:
        raise bomb
    try:
        with archive.open(info) as member:
            content = member.read(budget + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError) as err:
        raise ParseError("zip_corrupt", f"{name}: cannot be read: {err}", value=name) from err
    if len(content) > budget:
        raise bomb
    return content


def _parse_member(name, content):
    if content.startswith(ZIP_MAGIC) or not _sniff_xml(content[:4096]):
        raise ParseError("zip_member", f"{name} is not a CAMT XML file", value=name)
    try:
        fmt, statements = _parse_document(content)
    except ParseError as err:
        # Say which member failed; line/element stay relative to that member.
        err.element = f"{name}:{err.element}" if err.element else name
        err.message = f"{name}: {err.message}"
        err.args = (err.message,)
        raise
    for statement in statements:
        statement.extra["file"] = name
    return fmt, statements


# --- XML document ---------------------------------------------------------------------------


def _secure_parser():
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _has_doctype(data):
    # Checked before parsing, so that no DTD construct (entity loops, external
    # subsets) ever reaches libxml2; UTF-16 files are looked at decoded.
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = data.decode("utf-16", errors="replace").encode("utf-8")
    return b"<!DOCTYPE" in data


def _refuse_doctype():
    raise ParseError("xml_entities", "the document declares a DOCTYPE (DTD or entities): refused")


def _load_xml(data):
    """The root element of a DOCTYPE-free document, namespaces stripped."""
    if _has_doctype(data):
        _refuse_doctype()
    try:
        tree = etree.parse(io.BytesIO(data), _secure_parser())
    except etree.XMLSyntaxError as err:
        code = "encoding" if err.code in ENCODING_ERRORS else "xml_syntax"
        raise ParseError(code, f"not well-formed XML: {err.msg}", line=err.lineno) from err
    docinfo = tree.docinfo
    # Second net for encodings the byte scan cannot read (UTF-16 without BOM...).
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url:
        _refuse_doctype()
    root = tree.getroot()
    version = _version(root)
    _strip_namespaces(root)
    return root, version


def _version(root):
    match = NAMESPACE_RE.fullmatch(etree.QName(root).namespace or "")
    return match.group(1) if match else None


def _strip_namespaces(root):
    # Versions differ only by namespace URI for the elements read here, so
    # matching local names keeps one code path for .001.02 to .001.08+.
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
    etree.cleanup_namespaces(root)


def _parse_document(data):
    root, version = _load_xml(data)
    message = root[0] if root.tag == "Document" and len(root) else None
    if message is None or message.tag not in MESSAGES:
        raise ParseError(
            "not_camt",
            f"<{root.tag}> is not a CAMT bank-to-customer message",
            element=root.tag,
        )
    fmt, record_tag = MESSAGES[message.tag]
    records = message.findall(record_tag)
    if not records:
        path = f"{message.tag}/{record_tag}"
        raise ParseError("missing", f"the message has no <{record_tag}>", element=path)
    message_id = _text(message, "GrpHdr/MsgId")
    statements = []
    for index, record in enumerate(records, 1):
        statement = _parse_record(record, f"{record_tag}[{index}]", fmt)
        statement.extra.update(version=version, message_id=message_id)
        statements.append(statement)
    return fmt, statements


# --- Small element readers ------------------------------------------------------------------


def _text(element, path):
    found = element.find(path)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def _required(element, path, where):
    found = element.find(path)
    if found is None:
        raise ParseError("missing", f"<{path}> is missing", element=f"{where}/{path}")
    return found


def _amount(element, where):
    """A non-negative schema decimal (``12.50``); ``12,50`` or ``-3`` are refused."""
    raw = (element.text or "").strip()
    if not AMOUNT_RE.fullmatch(raw):
        raise ParseError("amount", f"{raw!r} is not an amount", element=where, value=raw)
    return Decimal(raw)


def _signed(amount, indicator, where):
    if indicator not in ("CRDT", "DBIT"):
        if indicator is None and not amount:
            return amount  # the schema lets zero amounts go without a direction
        raise ParseError(
            "credit_debit",
            f"credit/debit indicator {indicator!r} is neither CRDT nor DBIT",
            element=where,
            value=indicator,
        )
    return -amount if indicator == "DBIT" else amount


def _date(element, path, where, warnings):
    """Date of ``<path>/Dt`` or ``<path>/DtTm`` (the date as the bank wrote it)."""
    holder = element.find(path)
    if holder is None:
        return None
    raw = _text(holder, "Dt") or _text(holder, "DtTm")
    if raw is None:
        raise ParseError("missing", f"<{path}> has no Dt nor DtTm", element=f"{where}/{path}")
    match = DATE_RE.match(raw)
    if not match:
        raise ParseError("date", f"{raw!r} is not a date", element=f"{where}/{path}", value=raw)
    year, month, day = (int(part) for part in match.groups())
    return lenient_date(year, month, day, warnings, element=f"{where}/{path}")


def _account(element, path):
    return _text(element, f"{path}/Id/IBAN") or _text(element, f"{path}/Id/Othr/Id")


# --- Statement ------------------------------------------------------------------------------


def _parse_record(record, where, fmt):
    statement = ParsedStatement(
        account=_account(record, "Acct"),
        statement_id=_text(record, "Id"),
    )
    _set_present(
        statement.extra,
        electronic_sequence=_text(record, "ElctrncSeqNb"),
        legal_sequence=_text(record, "LglSeqNb"),
    )
    balances = _read_balances(statement, record, where, fmt)
    entries, booked = [], []
    for index, entry in enumerate(record.iterfind("Ntry"), 1):
        amount, transactions = _parse_entry(entry, f"{where}/Ntry[{index}]", statement.warnings)
        entries.append(amount)
        if transactions[0].extra.get("status") != "pending":  # not in booked balances yet
            booked.append(amount)
        statement.transactions.extend(transactions)
    # The account currency; the balances' or the entries' when the bank omits it.
    statement.currency = (
        _text(record, "Acct/Ccy")
        or next((b["currency"] for b in balances if b["currency"]), None)
        or _single_currency(statement.transactions)
    )
    _check_balance_currencies(statement, balances, where)
    _check_totals(statement, record, entries, where)
    _check_balances(statement, booked, where)
    return assign_unique_ids(statement)


def _single_currency(transactions):
    currencies = {tx.currency for tx in transactions if tx.currency}
    return currencies.pop() if len(currencies) == 1 else None


def _read_balances(statement, record, where, fmt):
    """Set opening/closing balances; the others go to ``extra["balances"]``.

    Returns the balances read, the opening and closing ones first.
    """
    others = [
        _parse_balance(node, f"{where}/Bal[{index}]", statement.warnings)
        for index, node in enumerate(record.iterfind("Bal"), 1)
    ]
    opening = next((b for code in OPENING_CODES for b in others if b["type"] == code), None)
    closing = next((b for b in others if b["type"] == CLOSING_CODE), None)
    for name, balance in (("opening", opening), ("closing", closing)):
        if balance is not None:
            others.remove(balance)
            setattr(statement, f"{name}_balance", balance["amount"])
            setattr(statement, f"{name}_date", balance["date"])
        elif fmt != "camt.054":  # notifications have no balances by schema
            message = f"the file gives no {name} balance"
            statement.warnings.append(ParseWarning("balance_missing", message, element=where))
    statement.extra["balances"] = others
    return [b for b in (opening, closing) if b] + others


def _parse_balance(node, where, warnings):
    amount_node = _required(node, "Amt", where)
    amount = _amount(amount_node, f"{where}/Amt")
    return {
        "type": (
            _text(node, "Tp/CdOrPrtry/Cd")
            or _text(node, "Tp/CdOrPrtry/Prtry")
            or _text(node, "Tp/Cd")  # .001.01
            or _text(node, "Tp/Prtry")
        ),
        "amount": _signed(amount, _text(node, "CdtDbtInd"), f"{where}/CdtDbtInd"),
        "currency": amount_node.get("Ccy"),
        "date": _date(node, "Dt", where, warnings),
    }


def _check_balance_currencies(statement, balances, where):
    for balance in balances:
        currency = balance["currency"]
        if balance["type"] not in (*OPENING_CODES, CLOSING_CODE):
            continue
        if currency not in (None, statement.currency):
            statement.warnings.append(
                ParseWarning(
                    "balance_currency",
                    f"the {balance['type']} balance is in {currency}, "
                    f"the account in {statement.currency}",
                    element=where,
                )
            )


def _check_totals(statement, record, entries, where):
    """Compare TxsSummry control totals with the entries actually read."""
    net = sum(entries, Decimal(0))
    checks = (
        ("TtlNtries/NbOfNtries", Decimal(len(entries))),
        ("TtlNtries/Sum", sum((abs(amount) for amount in entries), Decimal(0))),
        ("TtlNtries/TtlNetNtry", net),
        ("TtlNtries/TtlNetNtryAmt", net),  # the .001.02 spelling
    )
    summary = record.find("TxsSummry")
    for path, actual in checks if summary is not None else ():
        stated = _summary_value(summary, path, f"{where}/TxsSummry/{path}")
        if stated is not None and stated != actual:
            statement.warnings.append(
                ParseWarning(
                    "totals_mismatch",
                    f"TxsSummry/{path} says {stated}, the entries give {actual}",
                    element=f"{where}/TxsSummry/{path}",
                )
            )


def _summary_value(summary, path, where):
    node = summary.find(path)
    if node is None:
        return None
    if path.endswith("TtlNetNtry"):  # .001.03+: Amt and CdtDbtInd below
        amount = _amount(_required(node, "Amt", where), f"{where}/Amt")
        return _signed(amount, _text(node, "CdtDbtInd"), f"{where}/CdtDbtInd")
    amount = _amount(node, where)
    if path.endswith("TtlNetNtryAmt"):
        indicator = _text(summary, "TtlNtries/CdtDbtInd")
        return _signed(amount, indicator, f"{where}/../CdtDbtInd")
    return amount


def _check_balances(statement, booked, where):
    """Opening balance plus the booked entries should give the closing balance."""
    opening, closing = statement.opening_balance, statement.closing_balance
    movement = sum(booked, Decimal(0))
    if opening is not None and closing is not None and opening + movement != closing:
        statement.warnings.append(
            ParseWarning(
                "balance_mismatch",
                f"opening {opening} plus the entries ({movement}) "
                f"does not give the closing balance {closing}",
                element=where,
            )
        )


# --- Entries --------------------------------------------------------------------------------


def _parse_entry(entry, where, warnings):
    """The entry's signed amount and its transactions (one, or one per batch item)."""
    amount_node = _required(entry, "Amt", where)
    direction = _text(entry, "CdtDbtInd")
    amount = _signed(_amount(amount_node, f"{where}/Amt"), direction, f"{where}/CdtDbtInd")
    base = _entry_transaction(entry, where, warnings, amount, amount_node.get("Ccy"))
    details = [
        (detail, f"{where}/NtryDtls/TxDtls[{index}]")
        for index, detail in enumerate(entry.iterfind("NtryDtls/TxDtls"), 1)
    ]
    items = [_detail_amount(detail, path, direction) for detail, path in details]
    split = len(details) > 1 and None not in items
    if split and not _batch_adds_up(items, amount, amount_node.get("Ccy")):
        split = False
        warnings.append(
            ParseWarning(
                "batch_mismatch",
                f"the details of the entry ({', '.join(_item_text(item) for item in items)}) "
                f"do not add up to its amount {amount}: kept as one transaction",
                element=f"{where}/Amt",
            )
        )
    if not split:
        # One transaction for the entry: the first detail describes it (as
        # genkgo and OCA read it), the remittance texts of all are kept.
        _apply_details(base, details[0] if details else None, direction)
        base.remittance = _remittance([detail for detail, _path in details], entry)
        return amount, [base]
    transactions = []
    for index, (detail_at, (item_amount, currency)) in enumerate(
        zip(details, items, strict=True), 1
    ):
        tx = _batch_item(base, item_amount, currency, index)
        _apply_details(tx, detail_at, direction)
        tx.remittance = _remittance([detail_at[0]], entry)
        transactions.append(tx)
    return amount, transactions


def _entry_transaction(entry, where, warnings, amount, currency):
    tx = ParsedTransaction(
        amount=amount,
        currency=currency,
        booking_date=_date(entry, "BookgDt", where, warnings),
        value_date=_date(entry, "ValDt", where, warnings),
        bank_reference=_text(entry, "AcctSvcrRef"),
        bank_transaction_code=_transaction_code(entry),
        extra={"line": entry.sourceline},
    )
    status = _text(entry, "Sts/Cd") or _text(entry, "Sts")  # Sts/Cd from .001.06
    if status:
        tx.extra["status"] = STATUSES.get(status, status.lower())
    if _text(entry, "RvslInd") in ("true", "1"):
        tx.extra["reversal"] = True
    _set_present(
        tx.extra,
        entry_reference=_text(entry, "NtryRef"),
        batch_transactions=_text(entry, "NtryDtls/Btch/NbOfTxs"),
    )
    _add_charges(tx, entry, where)
    return tx


def _set_present(extra, **values):
    extra.update((key, value) for key, value in values.items() if value is not None)


def _detail_amount(detail, where, direction):
    """(signed amount, currency) that a transaction detail carries itself, else None."""
    for path in ("AmtDtls/TxAmt/Amt", "Amt"):
        node = detail.find(path)
        if node is not None:
            amount = _amount(node, f"{where}/{path}")
            indicator = _text(detail, "CdtDbtInd") or direction
            return _signed(amount, indicator, f"{where}/CdtDbtInd"), node.get("Ccy")
    return None


def _batch_item(base, amount, currency, index):
    # Entry charges belong to the whole batch, not to each of its items.
    extra = {key: val for key, val in base.extra.items() if not key.startswith("charges")}
    extra.update(batch_index=index, entry_amount=base.amount)
    return ParsedTransaction(
        amount=amount,
        currency=currency or base.currency,
        booking_date=base.booking_date,
        value_date=base.value_date,
        bank_reference=base.bank_reference,
        bank_transaction_code=base.bank_transaction_code,
        extra=extra,
    )


def _batch_adds_up(items, amount, currency):
    """Whether the details' own amounts, all in the entry's currency, make its amount exactly."""
    if any(item_currency not in (None, currency) for _amount, item_currency in items):
        return False
    return sum((item_amount for item_amount, _currency in items), Decimal(0)) == amount


def _item_text(item):
    amount, currency = item
    return f"{amount} {currency}" if currency else str(amount)


def _transaction_code(element):
    """``PMNT/RCDT/ESCT`` from the ISO domain code, else the proprietary code."""
    domain = _text(element, "BkTxCd/Domn/Cd")
    if domain:
        family = _text(element, "BkTxCd/Domn/Fmly/Cd")
        sub_family = _text(element, "BkTxCd/Domn/Fmly/SubFmlyCd")
        return "/".join(part for part in (domain, family, sub_family) if part)
    return _text(element, "BkTxCd/Prtry/Cd")


def _add_charges(tx, element, where):
    """Total charges (a positive amount) of ``element``'s Chrgs blocks, in ``extra``.

    ``.001.02`` repeats Chrgs with an Amt each; later versions hold one Chrgs
    with records (Rcrd) and an optional total (TtlChrgsAndTaxAmt).
    """
    total, currency = None, None
    for charges in element.findall("Chrgs"):
        nodes = charges.findall("TtlChrgsAndTaxAmt")
        nodes = nodes or charges.findall("Rcrd/Amt") or charges.findall("Amt")
        for node in nodes:
            total = (total or Decimal(0)) + _amount(node, f"{where}/Chrgs")
            currency = currency or node.get("Ccy")
    if total is not None:
        tx.extra.update(charges=total, charges_currency=currency)


# --- Transaction details --------------------------------------------------------------------


def _apply_details(tx, detail_at, direction):
    """Fill references, counterparty and amounts from a (TxDtls, path) pair, if any."""
    if detail_at is None:
        return
    detail, where = detail_at
    end_to_end = _text(detail, "Refs/EndToEndId")
    tx.end_to_end_id = None if end_to_end == NOT_PROVIDED else end_to_end
    tx.bank_reference = tx.bank_reference or _text(detail, "Refs/AcctSvcrRef")
    tx.bank_transaction_code = tx.bank_transaction_code or _transaction_code(detail)
    tx.structured_reference = _text(detail, "RmtInf/Strd/CdtrRefInf/Ref")
    _set_present(
        tx.extra, **{key: _text(detail, f"Refs/{tag}") for tag, key in REFERENCE_KEYS.items()}
    )
    # The detail's own direction says which party is "the other one".
    _apply_counterparty(tx, detail, _text(detail, "CdtDbtInd") or direction)
    if "charges" not in tx.extra:
        _add_charges(tx, detail, where)
    _add_original_amount(tx, detail, where)


def _apply_counterparty(tx, detail, direction):
    parties = detail.find("RltdPties")
    if parties is None:
        return
    role = "Dbtr" if direction == "CRDT" else "Cdtr"
    tx.counterparty_name = (
        _text(parties, f"{role}/Nm")
        or _text(parties, f"{role}/Pty/Nm")  # .001.08: Party40Choice
        or _text(parties, f"Ultmt{role}/Nm")
        or _text(parties, f"Ultmt{role}/Pty/Nm")
    )
    tx.counterparty_account = _account(parties, f"{role}Acct")


def _add_original_amount(tx, detail, where):
    node = detail.find("AmtDtls/InstdAmt/Amt")
    if node is not None and node.get("Ccy") and node.get("Ccy") != tx.currency:
        tx.extra["original_amount"] = _amount(node, f"{where}/AmtDtls/InstdAmt/Amt")
        tx.extra["original_currency"] = node.get("Ccy")


def _remittance(details, entry):
    """Unstructured remittance of the details, else their additional texts, else the entry's."""
    for path in ("RmtInf/Ustrd", "RmtInf/Strd/AddtlRmtInf", "AddtlTxInf"):
        texts = [_clean(node.text) for detail in details for node in detail.findall(path)]
        texts = [text for text in texts if text]
        if texts:
            return " ".join(dict.fromkeys(texts))  # each text once, in order
    return _text(entry, "AddtlNtryInf")


def _clean(text):
    return " ".join((text or "").split()) or None
