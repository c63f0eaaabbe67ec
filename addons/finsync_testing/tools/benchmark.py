"""Labelled matching data sets and their scoring (no Odoo imports).

A data set is two CSV files in one directory:

- ``invoices.csv``: ``number, partner, partner_account, invoice_date, due_date,
  currency, amount_total, payment_reference`` (credit notes have negative amounts);
- ``statement.csv``: ``line_id, date, amount, currency, counterparty_name,
  counterparty_account, label, remittance`` and optionally ``expected``: the
  invoice numbers the line pays, separated by ``;``, empty when the line must not
  be reconciled automatically. Matching never reads ``expected``; ``score`` does.

``generate(n)`` builds the data set ``setup/bench match`` uses; ``read_dataset``
reads one (``ValueError`` naming the file, line and column when it cannot);
``score(lines, outcomes)`` compares what matching did with the labels, where
``outcomes`` maps a line id to ``{"auto": set of invoice numbers reconciled
automatically, "proposed": set proposed, "exception": exception type or ""}``;
``write_matches`` writes those outcomes as ``matches.csv``.
"""

import csv
import datetime
import os
import random
from decimal import Decimal, InvalidOperation

INVOICE_COLUMNS = (
    "number",
    "partner",
    "partner_account",
    "invoice_date",
    "due_date",
    "currency",
    "amount_total",
    "payment_reference",
)
STATEMENT_COLUMNS = (
    "line_id",
    "date",
    "amount",
    "currency",
    "counterparty_name",
    "counterparty_account",
    "label",
    "remittance",
)
MATCHES_COLUMNS = ("line_id", "auto_reconciled", "proposed", "exception")
CENT = Decimal("0.01")


# --- reading and writing ---------------------------------------------------


def _read(path, columns, optional=()):
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [col for col in columns if col not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = []
        for number, row in enumerate(reader, start=2):
            row = {key: (row.get(key) or "").strip() for key in (*columns, *optional)}
            row["_where"] = f"{os.path.basename(path)} line {number}"
            rows.append(row)
        return rows


def _decimal(row, column):
    try:
        return Decimal(row[column]).quantize(CENT)
    except (InvalidOperation, ValueError) as err:
        raise ValueError(f"{row['_where']}: {column} {row[column]!r} is not an amount") from err


def _date(row, column, required=True):
    if not row[column] and not required:
        return None
    try:
        return datetime.date.fromisoformat(row[column])
    except ValueError as err:
        raise ValueError(
            f"{row['_where']}: {column} {row[column]!r} is not a date (YYYY-MM-DD)"
        ) from err


def read_dataset(directory):
    """``(invoices, lines)`` from ``invoices.csv`` and ``statement.csv`` in ``directory``.

    Amounts become ``Decimal``, dates ``datetime.date``, ``expected`` a set of
    invoice numbers (``None`` when the column is absent).
    """
    invoices = _read(os.path.join(directory, "invoices.csv"), INVOICE_COLUMNS)
    lines = _read(os.path.join(directory, "statement.csv"), STATEMENT_COLUMNS, ("expected",))
    numbers = set()
    for row in invoices:
        if not row["number"] or row["number"] in numbers:
            raise ValueError(f"{row['_where']}: number {row['number']!r} is empty or repeated")
        numbers.add(row["number"])
        row["amount_total"] = _decimal(row, "amount_total")
        row["invoice_date"] = _date(row, "invoice_date")
        row["due_date"] = _date(row, "due_date", required=False)
    with open(os.path.join(directory, "statement.csv"), newline="", encoding="utf-8-sig") as f:
        has_expected = "expected" in (csv.DictReader(f).fieldnames or ())
    ids = set()
    for row in lines:
        if not row["line_id"] or row["line_id"] in ids:
            raise ValueError(f"{row['_where']}: line_id {row['line_id']!r} is empty or repeated")
        ids.add(row["line_id"])
        row["amount"] = _decimal(row, "amount")
        row["date"] = _date(row, "date")
        row["expected"] = (
            {number for number in row["expected"].split(";") if number.strip()}
            if has_expected
            else None
        )
        unknown = (row["expected"] or set()) - numbers
        if unknown:
            raise ValueError(
                f"{row['_where']}: expected names unknown invoice(s) {', '.join(sorted(unknown))}"
            )
    return invoices, lines


def write_dataset(directory, invoices, lines):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "invoices.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(INVOICE_COLUMNS)
        for row in invoices:
            writer.writerow([_cell(row[col]) for col in INVOICE_COLUMNS])
    with open(os.path.join(directory, "statement.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow((*STATEMENT_COLUMNS, "expected"))
        for row in lines:
            cells = [_cell(row[col]) for col in STATEMENT_COLUMNS]
            writer.writerow([*cells, ";".join(sorted(row["expected"] or ()))])


def _cell(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    return "" if value is None else str(value)


def write_matches(path, lines, outcomes):
    """``matches.csv``: per line, invoices reconciled automatically and proposed
    (numbers separated by ``;``) and the exception type it opened, if any."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(MATCHES_COLUMNS)
        for row in lines:
            outcome = outcomes.get(row["line_id"], {})
            writer.writerow(
                [
                    row["line_id"],
                    ";".join(sorted(outcome.get("auto", ()))),
                    ";".join(sorted(outcome.get("proposed", ()))),
                    outcome.get("exception", ""),
                ]
            )


# --- scoring ----------------------------------------------------------------


def score(lines, outcomes):
    """Precision and recall of automatic reconciliation against the labels.

    precision = correct automatic reconciliations / automatic reconciliations
    recall = lines reconciled automatically and correctly / lines with an expected match
    A line's automatic reconciliation is correct when it reconciled exactly the
    invoices the label names. ``wrong`` lists the lines reconciled otherwise.
    """
    auto = correct = expected = proposals = exceptions = 0
    wrong = []
    for row in lines:
        outcome = outcomes.get(row["line_id"], {})
        reconciled = set(outcome.get("auto", ()))
        labelled = set(row["expected"] or ())
        expected += bool(labelled)
        proposals += bool(outcome.get("proposed"))
        exceptions += bool(outcome.get("exception"))
        if reconciled:
            auto += 1
            if reconciled == labelled:
                correct += 1
            else:
                wrong.append(row["line_id"])
    return {
        "lines": len(lines),
        "expected": expected,
        "auto": auto,
        "correct": correct,
        "proposals": proposals,
        "exceptions": exceptions,
        "precision": round(correct / auto, 4) if auto else None,
        "recall": round(correct / expected, 4) if expected else None,
        "wrong": wrong,
    }


# --- generation -------------------------------------------------------------


def rf_reference(base):
    """ISO 11649 creditor reference for ``base`` (letters and digits)."""
    digits = "".join(str(int(char, 36)) for char in base.upper() + "RF00")
    return f"RF{98 - int(digits) % 97:02d}{base.upper()}"


def ogm_reference(number):
    """Belgian structured communication ``+++123/4567/89002+++`` for a 10-digit number."""
    digits = f"{number % 10**10:010d}"
    check = int(digits) % 97 or 97
    full = f"{digits}{check:02d}"
    return f"+++{full[:3]}/{full[3:7]}/{full[7:]}+++"


# Share of statement lines per kind; each kind says how people pay.
MIX = (
    ("reference", 0.60),  # the invoice number in the label, as people write it
    ("structured", 0.08),  # an RF or +++ structured reference only
    ("partner_amount", 0.06),  # no reference: the payer's account and the exact amount
    ("partial", 0.06),  # two payments for one invoice, each naming it
    ("several", 0.06),  # one payment for 2-4 invoices of one partner, naming them
    ("fee", 0.05),  # the invoice less a small bank fee
    ("ambiguous", 0.04),  # partner and an amount two open invoices both have
    ("unrelated", 0.05),  # nothing of ours
)


def _written_as_people_do(number, rnd):
    """``INV/2026/00042`` as a payer types it: ``inv 2026 42``, ``INV2026/42``, ..."""
    prefix, year, seq = number.split("/")
    seq_short = str(int(seq))
    return rnd.choice(
        (
            f"{prefix.lower()} {year} {seq_short}",
            f"{prefix}{year}/{seq_short}",
            f"{prefix.lower()}-{year}-{seq}",
            f"{prefix} {year} {seq}",
            f"{prefix.lower()}/{year}/{seq_short}",
        )
    )


def generate(n, seed=20261123, currency="EUR", start=datetime.date(2026, 1, 1)):
    """A labelled data set of ``n`` statement lines and about ``n`` open invoices.

    Invoices ``INV/2026/<seq>`` of about ``n / 20`` partners, each partner with a
    bank account; amounts distinct within a partner except where a line is
    ambiguous on purpose. Lines follow ``MIX``; every label says what the line
    should match (``expected``).
    """
    rnd = random.Random(seed)
    partner_count = max(2, n // 20)
    partners = [
        (f"Customer {i:05d} BV", f"NL{10 + i % 89:02d}FSYN{i:010d}") for i in range(partner_count)
    ]
    invoices, lines = [], []
    used_amounts = {}

    def new_invoice(partner, amount=None, structured=None):
        seq = len(invoices) + 1
        number = f"INV/2026/{seq:05d}"
        taken = used_amounts.setdefault(partner[0], set())
        while amount is None or amount in taken:
            amount = (Decimal(rnd.randint(2000, 300000)) * CENT).quantize(CENT)
        taken.add(amount)
        reference = number
        if structured == "rf":
            reference = rf_reference(f"2026{seq:07d}")
        elif structured == "ogm":
            reference = ogm_reference(2026 * 10**6 + seq)
        day = start + datetime.timedelta(days=rnd.randint(0, 27))
        invoice = {
            "number": number,
            "partner": partner[0],
            "partner_account": partner[1],
            "invoice_date": day,
            "due_date": day + datetime.timedelta(days=30),
            "currency": currency,
            "amount_total": amount,
            "payment_reference": reference,
        }
        invoices.append(invoice)
        return invoice

    def new_line(amount, partner, label, expected, name_only=False):
        lines.append(
            {
                "line_id": f"L{len(lines) + 1:06d}",
                "date": start + datetime.timedelta(days=30 + rnd.randint(0, 27)),
                "amount": amount,
                "currency": currency,
                "counterparty_name": partner[0] if partner else rnd.choice(STRANGERS),
                "counterparty_account": "" if name_only or not partner else partner[1],
                "label": label,
                "remittance": "",
                "expected": set(expected),
            }
        )

    kinds = [kind for kind, _share in MIX]
    weights = [share for _kind, share in MIX]
    while len(lines) < n:
        kind = rnd.choices(kinds, weights)[0]
        partner = rnd.choice(partners)
        if kind == "reference":
            inv = new_invoice(partner)
            label = f"{rnd.choice(GREETINGS)} {_written_as_people_do(inv['number'], rnd)}"
            new_line(inv["amount_total"], partner, label.strip(), [inv["number"]])
        elif kind == "structured":
            inv = new_invoice(partner, structured=rnd.choice(("rf", "ogm")))
            ref = inv["payment_reference"]
            if ref.startswith("RF") and rnd.random() < 0.5:
                ref = " ".join(ref[i : i + 4] for i in range(0, len(ref), 4)).lower()
            elif ref.startswith("+++") and rnd.random() < 0.5:
                ref = ref.strip("+")
            new_line(inv["amount_total"], partner, ref, [inv["number"]])
        elif kind == "partner_amount":
            inv = new_invoice(partner)
            new_line(inv["amount_total"], partner, rnd.choice(VAGUE), [inv["number"]])
        elif kind == "partial":
            inv = new_invoice(partner)
            first = (inv["amount_total"] * Decimal(rnd.randint(30, 70)) / 100).quantize(CENT)
            written = _written_as_people_do(inv["number"], rnd)
            new_line(first, partner, f"{written} part 1", [inv["number"]])
            if len(lines) < n:
                rest = inv["amount_total"] - first
                new_line(rest, partner, f"{written} rest", [inv["number"]])
        elif kind == "several":
            group = [new_invoice(partner) for _ in range(rnd.randint(2, 4))]
            label = " ".join(_written_as_people_do(inv["number"], rnd) for inv in group)
            total = sum((inv["amount_total"] for inv in group), Decimal(0))
            new_line(total, partner, f"invoices {label}", [inv["number"] for inv in group])
        elif kind == "fee":
            inv = new_invoice(partner)
            fee = Decimal(rnd.randint(50, 300)) * CENT
            label = f"{_written_as_people_do(inv['number'], rnd)} less charges"
            new_line(inv["amount_total"] - fee, partner, label, [inv["number"]])
        elif kind == "ambiguous":
            twin = new_invoice(partner)
            taken = used_amounts[partner[0]]
            taken.discard(twin["amount_total"])
            new_invoice(partner, amount=twin["amount_total"])
            new_line(twin["amount_total"], partner, rnd.choice(VAGUE), [])
        else:
            amount = Decimal(rnd.randint(-90000, 90000)) * CENT or Decimal("1.00")
            new_line(amount, None, rnd.choice(UNRELATED), [])
    return invoices, lines


GREETINGS = ("", "payment", "Payment of", "invoice", "thanks", "betaling factuur", "ref")
VAGUE = ("transfer", "payment", "monthly payment", "see mail", "SEPA credit transfer")
UNRELATED = ("card payment coffee bar", "rent office march", "salary refund", "atm deposit")
STRANGERS = ("Someone Else", "Unknown Payer", "Office Landlord NV", "Card Acquirer")
