"""``setup/parse``: what implementation partners run to check a bank's file."""

import datetime
import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from odoo.addons.finsync_bank.parsers.base import TRANSACTION_KEYS
from odoo.addons.finsync_testing.tools.generate import StatementSpec, camt053, sample_lines

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


def run_parse(*args):
    done = subprocess.run(
        [str(REPO / "setup" / "parse"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    decoder, text, documents, index = json.JSONDecoder(), done.stdout, [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return done.returncode, documents


def test_prints_the_normalised_statement(tmp_path):
    spec = StatementSpec(
        account="NL91ABNA0417164300",
        currency="EUR",
        opening_balance=Decimal("100.00"),
        start=datetime.date(2026, 3, 1),
        end=datetime.date(2026, 3, 31),
        lines=sample_lines(4),
    )
    path = tmp_path / "march.xml"
    path.write_bytes(camt053(spec))
    code, [document] = run_parse(path)
    assert code == 0
    assert document["format"] == "camt.053"
    [statement] = document["statements"]
    assert statement["account"] == "NL91ABNA0417164300"
    assert statement["opening_balance"] == "100.00"
    assert Decimal(statement["closing_balance"]) == spec.closing
    assert statement["closing_date"] == "2026-03-31"
    assert len(statement["transactions"]) == 4
    first = statement["transactions"][0]
    assert set(TRANSACTION_KEYS) <= set(first)
    assert first["amount"] == str(spec.lines[0].amount.quantize(Decimal("0.01")))
    assert first["end_to_end_id"] == "E2E-L-1"
    assert first["remittance"] == "INV/2026/00001"


def test_unreadable_file_exits_2_with_file_error_and_line(tmp_path):
    good = tmp_path / "good.xml"
    good.write_bytes(
        camt053(
            StatementSpec(
                "BE71096123456769",
                "EUR",
                Decimal(0),
                datetime.date(2026, 1, 1),
                datetime.date(2026, 1, 2),
                sample_lines(1),
            )
        )
    )
    bad = tmp_path / "bad.xml"
    bad.write_bytes(good.read_bytes()[:600])
    code, documents = run_parse(good, bad)
    assert code == 2
    assert documents[0]["statements"]
    assert documents[1]["file"] == str(bad)
    assert documents[1]["error"]
    assert isinstance(documents[1]["line"], int)


def test_reads_a_real_bank_file_from_the_corpus():
    path = CORPUS / "ofx" / "oca18__test_ofx.ofx"
    if not path.exists():
        pytest.skip(f"sample corpus not found at {CORPUS} (it is only beside CI's clone)")
    code, [document] = run_parse(path)
    assert code == 0
    statement = document["statements"][0]
    assert statement["account"] == "123456"
    assert statement["closing_balance"] == "2156.56"
    agrolait = [t for t in statement["transactions"] if t["counterparty_name"] == "Agrolait"]
    assert agrolait[0]["booking_date"] == "2013-08-24"
