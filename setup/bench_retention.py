"""FinSync retention benchmark; run through ``setup/bench retention`` (which prepares the template).

1. A fresh copy of the template database (finsync_base installed, no demo data).
2. The loader: N Stripe webhook events of the webhook bench's story (charges,
   refunds, disputes, payouts; the simulator's JSON, about 630 bytes each) go in
   through the inbox's own set-based path (``finsync.event._ingest``, as a
   delivery does, 2,000 per transaction: one file each in the filestore), then
   SQL marks them processed and ``--age-days`` old (received over the last
   day of that age). The check: every event has its payload attachment, and the
   payloads of 200 events (spread over the run) read back through the field
   byte for byte with their SHA-256 (``payload_hash``); any difference aborts.
3. "Before": the filestore garbage collector runs (as Odoo's autovacuum does),
   ``VACUUM FULL`` of ``ir_attachment`` and ``finsync_event`` (the loader's UPDATE
   left a dead copy of every event row) and ``VACUUM ANALYZE``, then the database
   size (``pg_database_size``), the filestore's size on disk and in bytes, and its
   files, each minus the fresh copy's, per 100,000 events.
4. Archiving: the retention's batches (``_archive_payload_batch``), each
   committed, timed (events/s); then the filestore garbage collector.
5. "After": the same sizes after a plain ``VACUUM`` (the freed rows are reused
   by new ones, the files keep their size) and after ``VACUUM FULL`` of the two
   tables that shrank (``ir_attachment``, ``finsync_event``: what they really
   hold). The same 200 payloads read back from the archives, compared again.

Prints ``RESULT {"events", "archive_events_per_s", "db_mb_per_100k_before",
"db_mb_per_100k_after", "filestore_mb_per_100k_before", ...}``.
"""

import argparse
import datetime
import hashlib
import json
import os
import sys
import time

from bench_match import fresh_copy, log  # the matching bench's helpers (setup/)
from bench_webhooks import story  # the webhook bench's events (adds the repo's addons)

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry

LOAD_CHUNK = 2000
SAMPLE = 200


def environment(cr):
    return api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})


def load_avg():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- sizes --------------------------------------------------------------------


def filestore(db):
    """(bytes on disk, bytes of content, files) of ``db``'s filestore."""
    root = odoo.tools.config.filestore(db)
    disk = apparent = files = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            stat = os.stat(os.path.join(dirpath, name))
            disk += stat.st_blocks * 512
            apparent += stat.st_size
            files += 1
    return disk, apparent, files


def sizes(db, full=False):
    """Database and filestore sizes after the filestore GC and a VACUUM (FULL of the
    tables retention shrinks when ``full``)."""
    registry = Registry(db)
    with registry.cursor() as cr:
        environment(cr)["ir.attachment"]._gc_file_store()
    connection = odoo.sql_db.db_connect(db)
    with connection.cursor() as cr:
        cr._cnx.autocommit = True
        if full:
            cr.execute("VACUUM FULL ANALYZE ir_attachment, finsync_event")
        cr.execute("VACUUM ANALYZE")
        cr.execute("SELECT pg_database_size(current_database())")
        database = cr.fetchone()[0]
        cr.execute(
            """SELECT relname, pg_total_relation_size(oid) FROM pg_class
                WHERE relname IN ('ir_attachment', 'finsync_event', 'finsync_event_archive')"""
        )
        tables = dict(cr.fetchall())
    disk, apparent, files = filestore(db)
    return {
        "database": database,
        "tables": tables,
        "filestore_disk": disk,
        "filestore_bytes": apparent,
        "filestore_files": files,
    }


def per_100k(figure, base, events, unit=1024 * 1024):
    return round((figure - base) * 100_000 / events / unit, 1)


# --- load and check -----------------------------------------------------------


def payloads(count, chunk=2000):
    """``count`` webhook bodies: the webhook bench's story, ``chunk`` events per simulator
    (its story counts the events it has by copying them, quadratic in one simulator),
    each simulator's ids and amounts its own (another seed and id range)."""
    bodies = []
    for start in range(0, count, chunk):
        simulator, events = story(min(chunk, count - start), seed=2026 + start)
        bodies.extend(
            json.dumps(event, sort_keys=True).replace("_sim", f"_sim{start // chunk:03d}").encode()
            for event in events
        )
        del simulator
    return bodies


def load(db, bodies, age_days):
    registry = Registry(db)
    with registry.cursor() as cr:
        env = environment(cr)
        env.company.finsync_payload_retention_days = age_days - 1
        backend = env["finsync.backend"].create(
            {"name": "Bench webhooks", "backend_type": "generic", "company_id": env.company.id}
        )
        backend_id = backend.id
    started = time.time()
    for start in range(0, len(bodies), LOAD_CHUNK):
        with registry.cursor() as cr:
            env = environment(cr)
            env["finsync.event"]._ingest(
                env["finsync.backend"].browse(backend_id),
                [
                    {
                        "payload": body,
                        "external_id": f"evt_bench_{start + offset}",
                        "event_type": "charge.succeeded",
                        "signature_state": "valid",
                    }
                    for offset, body in enumerate(bodies[start : start + LOAD_CHUNK])
                ],
            )
    with registry.cursor() as cr:
        # Processed, and received over the last day of the age (the cron's due ones).
        cr.execute(
            """UPDATE finsync_event
                  SET state = 'done',
                      received_at = (now() AT TIME ZONE 'UTC') - %s * interval '1 day'
                                    + (id %% 86400) * interval '1 second',
                      processed_at = (now() AT TIME ZONE 'UTC') - %s * interval '1 day'
                                     + (id %% 86400) * interval '1 second'
                WHERE backend_id = %s""",
            [age_days, age_days, backend_id],
        )
    log(f"loaded {len(bodies)} webhook events in {time.time() - started:.0f} s (load {load_avg()})")
    return backend_id


def sample_ids(db, backend_id):
    with Registry(db).cursor() as cr:
        cr.execute(
            "SELECT id, external_id FROM finsync_event WHERE backend_id = %s ORDER BY id",
            [backend_id],
        )
        rows = cr.fetchall()
    step = max(len(rows) // SAMPLE, 1)
    return rows[::step][:SAMPLE]


def check(db, backend_id, bodies, sample, archived):
    """Abort unless every event is where it should be and the sample reads back exactly."""
    with Registry(db).cursor() as cr:
        env = environment(cr)
        cr.execute(
            """SELECT count(*), count(a.id), count(e.archive_id) FROM finsync_event e
                 LEFT JOIN ir_attachment a ON a.res_model = 'finsync.event'
                      AND a.res_field = 'payload' AND a.res_id = e.id
                WHERE e.backend_id = %s""",
            [backend_id],
        )
        events, attachments, in_archives = cr.fetchone()
        expected = (len(bodies), 0, len(bodies)) if archived else (len(bodies), len(bodies), 0)
        if (events, attachments, in_archives) != expected:
            raise SystemExit(
                f"events/attachments/archived {(events, attachments, in_archives)}, "
                f"expected {expected}"
            )
        records = env["finsync.event"].browse([event_id for event_id, _ext in sample])
        for event, (_id, external_id) in zip(records, sample, strict=True):
            raw = event._get_raw_payload()
            body = bodies[int(external_id.rsplit("_", 1)[1])]
            if raw != body or hashlib.sha256(raw).hexdigest() != event.payload_hash:
                raise SystemExit(f"event {event.id}: the payload read back differs")


# --- archive ------------------------------------------------------------------


def archive(db, batch):
    registry = Registry(db)
    done, batches = 0, 0
    started = time.perf_counter()
    while True:
        with registry.cursor() as cr:
            archived = environment(cr)["finsync.event"]._archive_payload_batch(batch)
        if not archived:
            break
        done += archived
        batches += 1
    seconds = time.perf_counter() - started
    return done, batches, seconds


def bench(args):
    fresh_copy(args.template, args.db)
    empty = sizes(args.db)
    started = time.time()
    bodies = payloads(args.events)
    log(f"generated {len(bodies)} Stripe webhook events in {time.time() - started:.0f} s")
    backend_id = load(args.db, bodies, args.age_days)
    sample = sample_ids(args.db, backend_id)
    check(args.db, backend_id, bodies, sample, archived=False)
    # VACUUM FULL of the two tables: the loader's UPDATE doubled finsync_event's rows.
    before = sizes(args.db, full=True)
    log(f"before: {json.dumps(before)}")
    log(f"archiving (load {load_avg()})")
    done, batches, seconds = archive(args.db, args.batch)
    gc_started = time.perf_counter()
    after = sizes(args.db)
    gc_seconds = time.perf_counter() - gc_started
    check(args.db, backend_id, bodies, sample, archived=True)
    after_full = sizes(args.db, full=True)
    log(f"after: {json.dumps(after)}")
    log(f"after VACUUM FULL: {json.dumps(after_full)}")
    n = args.events
    result = {
        "events": n,
        "batch": args.batch,
        "batches": batches,
        "payload_mb": round(sum(map(len, bodies)) / 1024 / 1024, 1),
        "archive_s": round(seconds, 1),
        "archive_events_per_s": round(done / seconds),
        "gc_and_vacuum_s": round(gc_seconds, 1),
        "db_mb_per_100k_before": per_100k(before["database"], empty["database"], n),
        "db_mb_per_100k_after_vacuum": per_100k(after["database"], empty["database"], n),
        "db_mb_per_100k_after": per_100k(after_full["database"], empty["database"], n),
        "filestore_mb_per_100k_before": per_100k(
            before["filestore_disk"], empty["filestore_disk"], n
        ),
        "filestore_mb_per_100k_after": per_100k(
            after["filestore_disk"], empty["filestore_disk"], n
        ),
        "filestore_content_mb_per_100k_before": per_100k(
            before["filestore_bytes"], empty["filestore_bytes"], n
        ),
        "filestore_content_mb_per_100k_after": per_100k(
            after["filestore_bytes"], empty["filestore_bytes"], n
        ),
        "filestore_files_per_100k_before": round(
            (before["filestore_files"] - empty["filestore_files"]) * 100_000 / n
        ),
        "filestore_files_per_100k_after": round(
            (after["filestore_files"] - empty["filestore_files"]) * 100_000 / n
        ),
        "load": load_avg(),
        "date": datetime.date.today().isoformat(),
    }
    log("RESULT " + json.dumps(result))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="setup/bench retention")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000, help="events archived per transaction")
    parser.add_argument("--age-days", type=int, default=91, help="how old the events are")
    parser.add_argument("--db", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    options = ["-c", args.config] + (["--data-dir", args.data_dir] if args.data_dir else [])
    odoo.tools.config.parse_config(options)
    odoo.tools.config["list_db"] = True
    bench(args)


if __name__ == "__main__":
    sys.exit(main())
