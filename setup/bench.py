"""FinSync benchmarks; run through ``setup/bench`` (which prepares the databases).

``import``: generates valid CAMT.053 and OFX files of N lines, imports them
through FinSync (ingest: lines visible as canonical transactions; post: lines
posted as Odoo statement lines, in chunks as the jobs do) and, for N up to
2,000, through OCA's account_statement_import_camt / _ofx in a separate
database of the same server. Ends with one ``RESULT {...}`` line.
"""

import argparse
import base64
import datetime
import json
import resource
import sys
import time
import uuid
from decimal import Decimal

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry

OCA_MAX_LINES = 2000


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def environment(cr):
    return api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})


def make_journal(env, label, currency):
    """A bank journal with a fresh account number, so runs never collide."""
    number = f"NL{uuid.uuid4().int % 10**16:016d}"
    partner_bank = env["res.partner.bank"].create(
        {"acc_number": number, "partner_id": env.company.partner_id.id}
    )
    journal = env["account.journal"].create(
        {
            "name": f"Bench {label} {number[-6:]}",
            "code": f"B{uuid.uuid4().hex[:4].upper()}",
            "type": "bank",
            "bank_account_id": partner_bank.id,
            "currency_id": env.ref(f"base.{currency}").id
            if currency != env.company.currency_id.name
            else False,
        }
    )
    return journal, number


def generate(kind, number, currency, lines):
    from odoo.addons.finsync_bank.tools.generate import StatementSpec, camt053, ofx, sample_lines

    spec = StatementSpec(
        account=number,
        currency=currency,
        opening_balance=Decimal("1000.00"),
        start=datetime.date(2026, 1, 1),
        end=datetime.date(2026, 1, 31),
        lines=sample_lines(lines, prefix=uuid.uuid4().hex[:6]),
    )
    return camt053(spec) if kind == "camt" else ofx(spec)


def prepare_run(db, kind, lines):
    """A fresh bank journal and a generated file of ``lines`` lines for it."""
    registry = Registry(db)
    with registry.cursor() as cr:
        env = environment(cr)
        currency = env.company.currency_id.name
        journal, number = make_journal(env, kind, currency)
        data = generate(kind, number, currency, lines)
    return registry, journal, data


def count_statement_lines(registry, journal):
    with registry.cursor() as cr:
        cr.execute(
            "SELECT count(*) FROM account_bank_statement_line WHERE journal_id = %s", [journal.id]
        )
        return cr.fetchone()[0]


def finsync_import(db, kind, lines, chunk, post=True):
    """Seconds until the lines are transactions, and until they are statement lines."""
    registry, journal, data = prepare_run(db, kind, lines)
    started = time.perf_counter()
    with registry.cursor() as cr:
        env = environment(cr)
        backend = env["finsync.backend"]._get_bank_file_backend(env.company)
        event = env["finsync.event"]._ingest(
            backend, [{"payload": data, "filename": f"bench.{kind}", "event_type": kind}]
        )
        importer = env["finsync.bank.importer"]
        result = importer._parse_file(event.payload_filename, data)
        journals = importer._resolve_journals(event.payload_filename, result.statements)
        summary = importer._import_statements(event, result, journals)
        transaction_ids = summary["transactions"].ids
    ingested = time.perf_counter()
    if not post:
        return ingested - started, None
    for start in range(0, len(transaction_ids), chunk):
        with registry.cursor() as cr:
            env = environment(cr)
            env["finsync.transaction"].browse(
                transaction_ids[start : start + chunk]
            )._post_statement_lines()
    posted = time.perf_counter()
    count = count_statement_lines(registry, journal)
    if count != lines:
        raise SystemExit(f"FinSync posted {count} lines of {lines}")
    return ingested - started, posted - started


def oca_import(db, kind, lines):
    registry, journal, data = prepare_run(db, kind, lines)
    started = time.perf_counter()
    with registry.cursor() as cr:
        env = environment(cr)
        wizard = (
            env["account.statement.import"]
            .with_context(journal_id=journal.id)
            .create({"statement_file": base64.b64encode(data), "statement_filename": f"b.{kind}"})
        )
        wizard.import_file_button()
    elapsed = time.perf_counter() - started
    count = count_statement_lines(registry, journal)
    if count != lines:
        raise SystemExit(f"OCA imported {count} lines of {lines}")
    return elapsed


def bench_import(args):
    figures = {}
    kinds = ("camt", "ofx") if args.format == "both" else (args.format,)
    for kind in kinds:
        ingest_s, post_s = finsync_import(
            args.db, kind, args.lines, args.chunk, post=not args.ingest_only
        )
        figures[kind] = {"ingest_lps": args.lines / ingest_s}
        posted = ""
        if post_s:
            figures[kind]["post_lps"] = args.lines / post_s
            posted = f", posted in {post_s:.2f} s ({figures[kind]['post_lps']:.1f} lines/s)"
        print(
            f"FinSync {kind:4s} {args.lines} lines: visible in {ingest_s:.2f} s "
            f"({figures[kind]['ingest_lps']:.0f} lines/s){posted}",
            flush=True,
        )
        if args.oca_db and args.lines <= OCA_MAX_LINES and not args.ingest_only:
            oca_s = oca_import(args.oca_db, kind, args.lines)
            figures[kind]["oca_lps"] = args.lines / oca_s
            print(
                f"OCA     {kind:4s} {args.lines} lines: imported in {oca_s:.2f} s "
                f"({figures[kind]['oca_lps']:.1f} lines/s)",
                flush=True,
            )
    camt = figures[kinds[0]]
    oca_lps = camt.get("oca_lps")
    result = {
        "lines": args.lines,
        "ingest_lps": round(camt["ingest_lps"], 1),
        "post_lps": round(camt["post_lps"], 1) if "post_lps" in camt else None,
        "oca_lps": round(oca_lps, 1) if oca_lps else None,
        "ratio": round(camt["post_lps"] / oca_lps, 2) if oca_lps and "post_lps" in camt else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "format": kinds[0],
        **(
            {"ofx": {key: round(value, 1) for key, value in figures["ofx"].items()}}
            if len(kinds) > 1
            else {}
        ),
    }
    print("RESULT " + json.dumps(result), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="setup/bench")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="bank statement import throughput")
    imp.add_argument("--lines", type=int, default=1000)
    imp.add_argument("--chunk", type=int, default=1000, help="lines posted per job")
    imp.add_argument("--format", choices=("camt", "ofx", "both"), default="both")
    imp.add_argument(
        "--ingest-only", action="store_true", help="measure until visible, do not post"
    )
    imp.add_argument("--db", required=True)
    imp.add_argument("--oca-db")
    imp.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    odoo.tools.config.parse_config(["-c", args.config])
    if args.command == "import":
        bench_import(args)


if __name__ == "__main__":
    sys.exit(main())
