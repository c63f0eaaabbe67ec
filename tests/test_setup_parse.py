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


# --- Gateway files: PayPal reports and Stripe API objects ---------------------
GATEWAY_KEYS = {
    "id",
    "type",
    "currency",
    "gross",
    "fee",
    "net",
    "date",
    "parent_id",
    "order_id",
    "payout_id",
}
PAYPAL_ACTIVITY = (
    '"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net",'
    '"Transaction ID","Reference Txn ID","Invoice Number"\n'
    '"25/03/2026","10:00:00","UTC","Ann","Express Checkout Payment","Completed","EUR",'
    '"1,250.00","-43.95","1,206.05","PP-PAY-1","","SO/2026/0042"\n'
    '"26/03/2026","11:00:00","UTC","Ann","Payment Refund","Completed","EUR",'
    '"-50.00","1.20","-48.80","PP-REF-1","PP-PAY-1","SO/2026/0042"\n'
    '"27/03/2026","12:00:00","UTC","","General Withdrawal","Completed","EUR",'
    '"-1,000.00","0.00","-1,000.00","PP-WD-1","",""\n'
)


def _by_id(document):
    assert all(set(row) == GATEWAY_KEYS for row in document["transactions"])
    return {row["id"]: row for row in document["transactions"]}


def test_reads_a_paypal_activity_export(tmp_path):
    path = tmp_path / "activity.csv"
    path.write_text(PAYPAL_ACTIVITY, encoding="utf-8")
    code, [document] = run_parse(path)
    assert code == 0
    assert document["file"] == str(path)
    assert document["format"] == "paypal_activity"
    rows = _by_id(document)
    assert list(rows) == ["PP-PAY-1", "PP-REF-1", "PP-WD-1"]
    payment, refund, withdrawal = rows.values()
    assert payment == {
        "id": "PP-PAY-1",
        "type": "charge",
        "currency": "EUR",
        "gross": "1250.00",
        "fee": "43.95",
        "net": "1206.05",
        "date": "2026-03-25",
        "parent_id": None,
        "order_id": "SO/2026/0042",
        "payout_id": None,
    }
    assert (refund["type"], refund["gross"], refund["fee"], refund["net"]) == (
        "refund",
        "-50.00",
        "-1.20",
        "-48.80",
    )
    assert refund["parent_id"] == "PP-PAY-1"
    assert refund["date"] == "2026-03-26"
    assert (withdrawal["type"], withdrawal["net"], withdrawal["payout_id"]) == (
        "payout",
        "-1000.00",
        "PP-WD-1",
    )


def test_reads_a_stripe_list_envelope(tmp_path):
    listing = {
        "object": "list",
        "has_more": False,
        "data": [
            {
                "id": "ch_1",
                "object": "charge",
                "amount": 12000,
                "amount_captured": 12000,
                "captured": True,
                "status": "succeeded",
                "currency": "eur",
                "created": 1774432800,  # 2026-03-25 10:00 UTC
                "metadata": {"invoice_number": "INV/2026/00042"},
                "balance_transaction": {"id": "txn_1", "fee": 378},
            },
            {
                "id": "re_1",
                "object": "refund",
                "amount": 2000,
                "currency": "eur",
                "status": "succeeded",
                "created": 1774519200,  # 2026-03-26 10:00 UTC
                "charge": "ch_1",
            },
            {
                "id": "po_1",
                "object": "payout",
                "amount": 9622,
                "currency": "eur",
                "status": "paid",
                "created": 1774605600,  # 2026-03-27 10:00 UTC
                "arrival_date": 1774778400,
            },
        ],
    }
    path = tmp_path / "stripe.json"
    path.write_text(json.dumps(listing), encoding="utf-8")
    code, [document] = run_parse(path)
    assert code == 0
    assert document["format"] == "stripe"
    rows = _by_id(document)
    assert rows["ch_1"] == {
        "id": "ch_1",
        "type": "charge",
        "currency": "EUR",
        "gross": "120.00",
        "fee": "3.78",
        "net": "116.22",
        "date": "2026-03-25",
        "parent_id": None,
        "order_id": "INV/2026/00042",
        "payout_id": None,
    }
    refund = rows["re_1"]
    assert (refund["type"], refund["gross"], refund["fee"], refund["net"]) == (
        "refund",
        "-20.00",
        "0.00",
        "-20.00",
    )
    assert refund["parent_id"] == "ch_1"
    payout = rows["po_1"]
    assert (payout["type"], payout["gross"], payout["net"], payout["payout_id"]) == (
        "payout",
        "-96.22",
        "-96.22",
        "po_1",
    )
    assert payout["date"] == "2026-03-27"


def test_reads_a_stripe_balance_transaction(tmp_path):
    bt = {
        "id": "txn_9",
        "object": "balance_transaction",
        "amount": 500000,
        "fee": 0,
        "net": 500000,
        "currency": "jpy",
        "created": 1774432800,
        "type": "charge",
        "source": {"id": "ch_9", "object": "charge", "metadata": {"order_id": "R-77"}},
    }
    path = tmp_path / "txn.json"
    path.write_text(json.dumps(bt), encoding="utf-8")
    code, [document] = run_parse(path)
    assert code == 0
    assert document["transactions"] == [
        {
            "id": "ch_9",
            "type": "charge",
            "currency": "JPY",
            "gross": "500000",
            "fee": "0",
            "net": "500000",
            "date": "2026-03-25",
            "parent_id": None,
            "order_id": "R-77",
            "payout_id": None,
        }
    ]


def test_reads_a_stripe_dispute_and_transfer(tmp_path):
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 12000,
        "currency": "eur",
        "created": 1774432800,
        "charge": "ch_1",
        "reason": "fraudulent",
        "status": "needs_response",
        "balance_transactions": [
            {
                "id": "txn_d1",
                "object": "balance_transaction",
                "amount": -12000,
                "fee": 1500,
                "net": -13500,
                "currency": "eur",
                "created": 1774432800,
                "type": "adjustment",
                "reporting_category": "dispute",
            }
        ],
    }
    transfer = {
        "id": "tr_1",
        "object": "transfer",
        "amount": 4000,
        "currency": "eur",
        "created": 1774519200,
    }
    path = tmp_path / "objects.json"
    path.write_text(json.dumps({"object": "list", "data": [dispute, transfer]}), encoding="utf-8")
    code, [document] = run_parse(path)
    assert code == 0
    rows = _by_id(document)
    assert rows["dp_1"]["type"] == "dispute"
    assert (rows["dp_1"]["gross"], rows["dp_1"]["fee"], rows["dp_1"]["net"]) == (
        "-120.00",
        "15.00",
        "-135.00",
    )
    assert rows["dp_1"]["parent_id"] == "ch_1"
    assert (rows["tr_1"]["type"], rows["tr_1"]["net"], rows["tr_1"]["date"]) == (
        "adjustment",
        "-40.00",
        "2026-03-26",
    )


def test_unreadable_gateway_files_exit_2_saying_where(tmp_path):
    broken_json = tmp_path / "broken.json"
    broken_json.write_text('{"object": "charge",\n "id": "ch_1",\n "amount": }', encoding="utf-8")
    bad_amount = tmp_path / "bad_amount.json"
    bad_amount.write_text(
        json.dumps({"id": "ch_2", "object": "charge", "amount": "12.00", "currency": "eur"}),
        encoding="utf-8",
    )
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text(PAYPAL_ACTIVITY.replace('"1,250.00"', '"twelve"'), encoding="utf-8")
    code, documents = run_parse(broken_json, bad_amount, bad_csv)
    assert code == 2
    assert all({"file", "error", "code", "line"} <= set(document) for document in documents)
    assert [document["file"] for document in documents] == [
        str(broken_json),
        str(bad_amount),
        str(bad_csv),
    ]
    assert documents[0]["code"] == "json"
    assert documents[0]["line"] == 3
    assert documents[1]["code"] == "stripe_object"
    assert "12.00" in documents[1]["error"]
    assert documents[2]["code"] == "paypal_report"
    assert documents[2]["line"] == 2


def test_reads_the_gateway_files_of_the_corpus():
    paypal, stripe = CORPUS / "paypal", CORPUS / "stripe"
    if not (paypal.is_dir() and stripe.is_dir()):
        pytest.skip(f"sample corpus not found at {CORPUS} (it is only beside CI's clone)")
    code, [trr, stl, listing] = run_parse(
        paypal / "smashpig__trr_express_checkout_refund.csv",
        paypal / "smashpig__stl.csv",
        stripe / "oca18__stripe_balance_transactions_list.json",
    )
    assert code == 0
    assert trr["format"] == "paypal_trr"
    refund = trr["transactions"][0]
    assert (refund["type"], refund["currency"], refund["gross"], refund["net"]) == (
        "refund",
        "JPY",
        "-150.00",
        "-107.00",
    )
    assert stl["format"] == "paypal_stl"
    assert _by_id(stl)["5678"]["net"] == "49.75"
    assert [(t["id"], t["net"], t["order_id"]) for t in listing["transactions"]] == [
        ("ch_123", "99.00", "INV-001"),
        ("ch_456", "198.00", "INV-002"),
    ]
