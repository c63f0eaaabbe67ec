"""Valid statement files of any size, for tests and benchmarks (no Odoo imports).

``StatementSpec`` describes one account's statement; ``camt053(spec)`` and
``ofx(spec)`` render it as bytes that FinSync's parsers (and other importers)
read. Amounts are ``Decimal``; the closing balance is opening plus lines
unless ``closing_balance`` is forced (to make files that do not add up).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape


@dataclass
class Line:
    amount: Decimal
    date: datetime.date
    name: str = "Customer"
    account: str = ""
    remittance: str = ""
    reference: str = ""
    end_to_end_id: str = ""


@dataclass
class StatementSpec:
    account: str
    currency: str
    opening_balance: Decimal
    start: datetime.date
    end: datetime.date
    lines: list = field(default_factory=list)
    statement_id: str = "STMT-1"
    closing_balance: Decimal | None = None

    @property
    def closing(self):
        if self.closing_balance is not None:
            return self.closing_balance
        return self.opening_balance + sum((line.amount for line in self.lines), Decimal(0))


def sample_lines(count, start=datetime.date(2026, 1, 1), prefix="L"):
    """``count`` varied lines: customer payments in, supplier payments out."""
    lines = []
    for index in range(count):
        amount = Decimal(100 + (index * 37) % 900) + Decimal(index % 100) / 100
        if index % 4 == 3:
            amount = -amount
        lines.append(
            Line(
                amount=amount,
                date=start + datetime.timedelta(days=index % 28),
                name=f"Partner {index % 50}",
                account=f"NL{10 + index % 89:02d}BANK{index:010d}",
                remittance=f"INV/2026/{index + 1:05d}",
                reference=f"{prefix}{index + 1:08d}",
                end_to_end_id=f"E2E-{prefix}-{index + 1}",
            )
        )
    return lines


def _camt_entry(line, currency):
    side = "CRDT" if line.amount >= 0 else "DBIT"
    party = "Dbtr" if line.amount >= 0 else "Cdtr"
    return f"""      <Ntry>
        <Amt Ccy="{currency}">{abs(line.amount):.2f}</Amt>
        <CdtDbtInd>{side}</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>{line.date.isoformat()}</Dt></BookgDt>
        <ValDt><Dt>{line.date.isoformat()}</Dt></ValDt>
        <AcctSvcrRef>{escape(line.reference)}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>{escape(line.end_to_end_id or "NOTPROVIDED")}</EndToEndId></Refs>
          <RltdPties><{party}><Nm>{escape(line.name)}</Nm></{party}><{party}Acct><Id><IBAN>{escape(line.account)}</IBAN></Id></{party}Acct></RltdPties>
          <RmtInf><Ustrd>{escape(line.remittance)}</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
"""


def _camt_balance(code, amount, currency, date):
    side = "CRDT" if amount >= 0 else "DBIT"
    return f"""      <Bal>
        <Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>
        <Amt Ccy="{currency}">{abs(amount):.2f}</Amt>
        <CdtDbtInd>{side}</CdtDbtInd>
        <Dt><Dt>{date.isoformat()}</Dt></Dt>
      </Bal>
"""


def camt053(spec, version="08"):
    """A camt.053.001.<version> document with one statement."""
    entries = "".join(_camt_entry(line, spec.currency) for line in spec.lines)
    balances = _camt_balance("OPBD", spec.opening_balance, spec.currency, spec.start)
    balances += _camt_balance("CLBD", spec.closing, spec.currency, spec.end)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-{escape(spec.statement_id)}</MsgId><CreDtTm>{spec.end.isoformat()}T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{escape(spec.statement_id)}</Id>
      <CreDtTm>{spec.end.isoformat()}T18:00:00</CreDtTm>
      <Acct><Id><IBAN>{escape(spec.account)}</IBAN></Id><Ccy>{spec.currency}</Ccy></Acct>
{balances}{entries}    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()


def _ofx_date(date):
    return date.strftime("%Y%m%d") + "120000"


def ofx(spec):
    """An OFX 1.02 SGML bank statement with one account."""
    transactions = "".join(
        f"""<STMTTRN>
<TRNTYPE>{"CREDIT" if line.amount >= 0 else "DEBIT"}
<DTPOSTED>{_ofx_date(line.date)}
<TRNAMT>{line.amount:.2f}
<FITID>{escape(line.reference)}
<NAME>{escape(line.name[:32])}
<MEMO>{escape(line.remittance)}
</STMTTRN>
"""
        for line in spec.lines
    )
    return f"""OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>{_ofx_date(spec.end)}<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS><CURDEF>{spec.currency}
<BANKACCTFROM><BANKID>BANK<ACCTID>{escape(spec.account)}<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>{_ofx_date(spec.start)}<DTEND>{_ofx_date(spec.end)}
{transactions}</BANKTRANLIST>
<LEDGERBAL><BALAMT>{spec.closing:.2f}<DTASOF>{_ofx_date(spec.end)}</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
""".encode("cp1252")
