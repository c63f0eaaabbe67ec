"""FinSync benchmarks; run through ``setup/bench`` (which prepares the databases).

``import``: generates valid CAMT.053 and OFX files of N lines, imports them
through FinSync (ingest: lines visible as canonical transactions; post: lines
posted as Odoo statement lines: at once up to 2,000 lines, else by queue_job jobs
run one after the other through the job runner's code) and, for N up to
2,000, through OCA's account_statement_import_camt / _ofx in a separate
database of the same server. Ends with one ``RESULT {...}`` line.
"""

import argparse
import base64
import datetime
import json
import multiprocessing
import os
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


def load():
    """The 1, 5 and 15 minute load averages: other work on the machine skews the figures."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


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
    from odoo.addons.finsync_testing.tools.generate import StatementSpec, camt053, ofx, sample_lines

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
    # Generated in a child process: the generator's memory is not FinSync's
    # and must not count in the peak memory measured here.
    with multiprocessing.get_context("fork").Pool(1) as pool:
        data = pool.apply(generate, (kind, number, currency, lines))
    return registry, journal, data


def count_statement_lines(registry, journal):
    with registry.cursor() as cr:
        cr.execute(
            "SELECT count(*) FROM account_bank_statement_line WHERE journal_id = %s", [journal.id]
        )
        return cr.fetchone()[0]


def finsync_import(db, kind, lines, chunk, post=True):
    """Seconds until the lines are transactions, and until they are statement lines.

    Ingest commits first (the lines are then visible in FinSync). Posting then
    goes the way an import posts: ``finsync.bank.importer._post`` posts up to
    its synchronous limit at once and enqueues queue_job jobs of ``chunk``
    lines beyond it; the jobs run one after the other, each in its own
    transaction, through queue_job's own runner code, as the channel
    ``root.finsync.bank`` (capacity 1) runs them.
    """
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
        del result, summary
    ingested = time.perf_counter()
    ingest_rss = peak_rss_mb()
    if not post:
        return ingested - started, None, ingest_rss, 0
    with registry.cursor() as cr:
        env = environment(cr)
        jobs = env["finsync.bank.importer"]._post(
            env["finsync.transaction"].browse(transaction_ids), chunk_size=chunk
        )
        uuids = [job.uuid for job in jobs]
    run_jobs(registry, uuids)
    posted = time.perf_counter()
    count = count_statement_lines(registry, journal)
    if count != lines:
        raise SystemExit(f"FinSync posted {count} lines of {lines}")
    return ingested - started, posted - started, ingest_rss, len(uuids)


def run_jobs(registry, uuids):
    """Run queue_job jobs as the job runner does: started, performed, done, committed."""
    from odoo.addons.queue_job.controllers.main import RunJobController
    from odoo.addons.queue_job.job import Job

    for job_uuid in uuids:
        with registry.cursor() as cr:
            env = environment(cr)
            job = Job.load(env, job_uuid)
            job.set_enqueued()
            job.store()
            cr.commit()
            job = RunJobController._acquire_job(env, job_uuid)
            if job is None:
                raise SystemExit(f"job {job_uuid} could not be started")
            RunJobController._try_perform_job(env, job)
            cr.commit()
            state = Job.load(env, job_uuid).state
            if state != "done":
                raise SystemExit(f"job {job_uuid} ended {state}")


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
    print(f"load at start {load()}", flush=True)
    kinds = ("camt", "ofx") if args.format == "both" else (args.format,)
    for kind in kinds:
        ingest_s, post_s, ingest_rss, jobs = finsync_import(
            args.db, kind, args.lines, args.chunk, post=not args.ingest_only
        )
        figures[kind] = {"ingest_lps": args.lines / ingest_s}
        posted = ""
        if post_s:
            figures[kind]["post_lps"] = args.lines / post_s
            how = f"{jobs} jobs" if jobs else "at once"
            posted = (
                f", posted ({how}) {post_s:.2f} s after the start "
                f"({figures[kind]['post_lps']:.1f} lines/s)"
            )
        print(
            f"FinSync {kind:4s} {args.lines} lines: visible in {ingest_s:.2f} s "
            f"({figures[kind]['ingest_lps']:.0f} lines/s){posted}; "
            f"peak memory {ingest_rss:.0f} MB after ingest, {peak_rss_mb():.0f} MB now; "
            f"load {load()}",
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
        "load": load(),
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
