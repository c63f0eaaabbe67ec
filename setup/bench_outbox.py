"""``setup/bench outbox``: outbound events delivered by Odoo with workers to a failing receiver.

Starts a local receiver on 127.0.0.1 (``finsync_testing/tools/outbox_receiver.py``,
its own process) that verifies the Standard Webhooks signatures, fails a share
``--fail-rate`` of the deliveries (500s, timeouts, connection resets in thirds)
and dedupes by ``webhook-id``; starts Odoo with ``--workers`` and the queue_job
runner on a free port; creates a webhook subscription to the receiver; then
emits ``--events`` events (``transaction.settled``, through the outbox's own
``_emit``, about ``--subjects`` records, each record's events numbered 1, 2,
3... in ``data.seq``) in transactions of ``--batch`` events, as fast as it can
or at ``--rate`` events per second, and records each commit's time.

It waits until the receiver accepted every event (or nothing moves for
``--stall`` seconds) and prints ``RESULT {"events", "delivered", "lost",
"duplicates", "out_of_order", "deliveries_per_s", "p95_delivery_s", ...}``:
``delivered`` events the receiver accepted (once after its dedupe),
``duplicates`` deliveries of an event it had already accepted,
``deliveries_per_s`` accepted events per second from the first commit to the
last acceptance, ``p95_delivery_s`` the 95th percentile of the time from an
event's commit to its first delivery attempt.

Bench-only settings (``ir.config_parameter``, on the bench database only):
``finsync_base.outbox_retry_scale`` shrinks the retry schedule (``--retry-scale``,
default 0.0001: the 2.9 days of eleven attempts become about 25 s; 5 s -> 0.5 ms,
2 h -> 0.7 s, 14 h -> 5 s) and ``finsync_base.outbox_http_timeout`` the request
timeout (``--http-timeout``, default 0.5 s).
Production keeps 1.0 and 10 s. Exit code 0 when nothing was lost, duplicated
after dedupe or out of order.
"""

import argparse
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RECEIVER = REPO_ROOT / "addons" / "finsync_testing" / "tools" / "outbox_receiver.py"
sys.path.insert(0, str(REPO_ROOT / "setup"))
from bench_webhooks import load, odoo_env, stop_server  # noqa: E402


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_receiver(secret, fail_rate, hang_s, port=0):
    process = subprocess.Popen(
        [
            sys.executable,
            str(RECEIVER),
            "--secret",
            secret,
            "--fail-rate",
            str(fail_rate),
            "--hang",
            str(hang_s),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = process.stdout.readline().split()
    if line[:1] != ["READY"]:
        raise SystemExit("finsync: error: the receiver did not start")
    return process, int(line[1])


def receiver_stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=30) as answer:
        return json.loads(answer.read())


def prepare(db, config, url, secret, subjects, args):
    """A fresh subscription to the receiver, the bench settings, and the subject records."""
    registry, environment = odoo_env(db, config)
    with registry.cursor() as cr:
        env = environment(cr)
        env["finsync.outbox.subscription"].search([]).write({"active": False})
        params = env["ir.config_parameter"]
        params.set_param("finsync_base.outbox_retry_scale", str(args.retry_scale))
        params.set_param("finsync_base.outbox_http_timeout", str(args.http_timeout))
        sub = env["finsync.outbox.subscription"].create(
            {
                "name": f"Bench receiver {secret[-6:]}",
                "url": url,
                "secret": secret,
                "event_type_ids": [
                    (6, 0, env.ref("finsync_base.outbox_type_transaction_settled").ids)
                ],
            }
        )
        partners = env["res.partner"].create(
            [{"name": f"Outbox bench {i}"} for i in range(subjects)]
        )
        return sub.id, partners.ids


def emit_all(db, config, partner_ids, events, batch, rate):
    """Emit ``events`` events about ``partner_ids`` in transactions of ``batch``; commit times."""
    registry, environment = odoo_env(db, config)
    committed = {}
    seq = dict.fromkeys(partner_ids, 0)
    plan = [partner_ids[i % len(partner_ids)] for i in range(events)]
    started = time.time()
    for start in range(0, events, batch):
        chunk = plan[start : start + batch]
        with registry.cursor() as cr:
            env = environment(cr)
            partners = env["res.partner"].browse(chunk)
            for partner_id in chunk:
                seq[partner_id] += 1
            emitted = env["finsync.outbox.event"]._emit(
                "transaction.settled", partners, lambda p: {"seq": seq[p.id], "bench": True}
            )
            uuids = emitted.mapped("uuid")
            cr.commit()
        now = time.time()
        committed.update(dict.fromkeys(uuids, now))
        if rate:
            ahead = started + (start + len(chunk)) / rate - time.time()
            if ahead > 0:
                time.sleep(ahead)
    return committed


def start_odoo(db, config, port, workers, data_dir, capacity, gevent_port=0):
    command = [
        sys.executable,
        str(REPO_ROOT / "setup" / "bench_webhooks.py"),
        "--serve",
        "-c",
        config,
        "-d",
        db,
        f"--workers={workers}",
        f"--http-port={port}",
        f"--gevent-port={gevent_port or free_port()}",
        "--max-cron-threads=0",
        "--log-level=warn",
        "--log-handler=odoo.addons.queue_job.jobrunner.runner:INFO",
        "--limit-time-real=600",
    ]
    if data_dir:
        command.append(f"--data-dir={data_dir}")
    log = open(os.environ.get("FINSYNC_BENCH_LOG", "/tmp/finsync-bench-outbox.log"), "w")
    environ = dict(os.environ, ODOO_QUEUE_JOB_CHANNELS=f"root:4,root.finsync.outbox:{capacity}")
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=environ,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"finsync: error: Odoo exited early: see {log.name}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/web/health", timeout=2)
        except OSError:
            time.sleep(0.5)
            continue
        if "queue job runner ready for db" in Path(log.name).read_text(errors="replace"):
            return process
        time.sleep(0.5)
    stop_server(process)
    raise SystemExit(f"finsync: error: Odoo did not answer on port {port}: see {log.name}")


def wait_delivered(port, expected, stall):
    last, last_change = -1, time.time()
    while True:
        stats = receiver_stats(port)
        accepted = len(stats["accepted"])
        if accepted != last:
            last, last_change = accepted, time.time()
        if accepted >= expected or time.time() - last_change > stall:
            return stats
        time.sleep(0.5)


def delivery_states(db, config, sub_id):
    registry, environment = odoo_env(db, config)
    with registry.cursor() as cr:
        cr.execute(
            "SELECT state, count(*), sum(attempt_count) FROM finsync_outbox_delivery "
            "WHERE subscription_id = %s GROUP BY state",
            [sub_id],
        )
        return {state: [count, int(attempts)] for state, count, attempts in cr.fetchall()}


def percentile(values, share):
    values = sorted(values)
    return values[max(int(len(values) * share) - 1, 0)] if values else None


def run(args):
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    receiver, receiver_port = start_receiver(
        secret, args.fail_rate, args.http_timeout + 1, args.receiver_port
    )
    port = args.port or free_port()
    subjects = args.subjects or max(args.events // 5, 1)
    server = None
    try:
        sub_id, partner_ids = prepare(
            args.db, args.config, f"http://127.0.0.1:{receiver_port}/hook", secret, subjects, args
        )
        print(
            f"finsync: {args.events} events about {subjects} records, fail rate {args.fail_rate}, "
            f"Odoo with {args.workers} workers and root.finsync.outbox:{args.capacity} on port "
            f"{port}; load {load()}",
            file=sys.stderr,
        )
        server = start_odoo(args.db, args.config, port, args.workers, args.data_dir, args.capacity)
        started = time.time()
        committed = emit_all(args.db, args.config, partner_ids, args.events, args.batch, args.rate)
        emitted_s = time.time() - started
        stats = wait_delivered(receiver_port, len(committed), args.stall)
    finally:
        if server:
            stop_server(server)
        os.killpg(receiver.pid, signal.SIGTERM)
    states = delivery_states(args.db, args.config, sub_id)
    accepted = {uuid: stats["accepted"][uuid] for uuid in committed if uuid in stats["accepted"]}
    first = [
        stats["first_attempt"][uuid] - committed[uuid]
        for uuid in committed
        if uuid in stats["first_attempt"]
    ]
    span = (max(accepted.values()) - min(committed.values())) if accepted else 0
    result = {
        "events": len(committed),
        "delivered": len(accepted),
        "lost": len(committed) - len(accepted),
        "duplicates": stats["duplicates"],
        "out_of_order": stats["out_of_order"],
        "deliveries_per_s": round(len(accepted) / span, 1) if span else 0,
        "p95_delivery_s": round(percentile(first, 0.95), 3) if first else None,
        "p50_delivery_s": round(percentile(first, 0.5), 3) if first else None,
        "fail_rate": args.fail_rate,
        "requests": stats["requests"],
        "failed": stats["failed"],
        "bad_signatures": stats["bad_signatures"],
        "emit_s": round(emitted_s, 1),
        "total_s": round(span, 1),
        "workers": args.workers,
        "capacity": args.capacity,
        "load": load(),
    }
    print(f"deliveries in Odoo (state: [count, attempts]): {states}")
    print("RESULT " + json.dumps(result))
    ok = not result["lost"] and not result["out_of_order"] and not result["bad_signatures"]
    return 0 if ok else 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="setup/bench outbox")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--subjects", type=int, default=0, help="records (default events/5)")
    parser.add_argument("--batch", type=int, default=50, help="events per emitting transaction")
    parser.add_argument("--rate", type=float, default=0, help="events per second (0: unpaced)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--capacity", type=int, default=2, help="delivery jobs at once")
    parser.add_argument("--retry-scale", type=float, default=0.0001)
    parser.add_argument("--http-timeout", type=float, default=0.5)
    parser.add_argument("--stall", type=int, default=60, help="seconds without progress to stop")
    parser.add_argument("--port", type=int, default=0, help="Odoo's HTTP port (free by default)")
    parser.add_argument("--gevent-port", type=int, default=0)
    parser.add_argument("--receiver-port", type=int, default=0)
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--data-dir")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
