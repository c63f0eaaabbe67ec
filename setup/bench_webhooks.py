"""``setup/bench webhooks``: a storm of signed Stripe webhooks against Odoo with workers.

Starts Odoo with ``--workers`` and the queue_job runner on a free loopback port
for one database (which must have ``finsync_stripe``), creates a fresh Stripe
connector there, generates a Stripe story with the local simulator (charges,
refunds, disputes, payouts), and posts its events signed, with a share of
duplicates, shuffled, from concurrent clients. Then it waits until every event
is processed and checks, in the database:

- each event stored once and processed once (``duplicates``: rows or bookings
  beyond one per event; ``lost``: events accepted but not processed);
- the clearing journals' totals equal the source's (computed from the
  simulator's objects, not from FinSync's mapping);
- every posted entry of those journals balances.

Prints the figures and ends with one line
``RESULT {"events": N, "eps": ..., "p95_ms": ..., "processed_s": ...,
"duplicates": 0, "lost": 0, ...}``.
Exit code 0 when nothing was duplicated, lost or unbalanced and the totals match.
The scenario ``tests/test_scenario_stripe_storm.py`` runs it on the test database.

``--nodes N`` (N > 1) runs the storm twice, back to back: against one node with
N times the workers, straight, then through nginx against N nodes (``setup/cluster.py``);
the RESULT line is the cluster's, with ``eps_one_node`` and ``ratio``
(``--rounds K``: K such pairs in alternating order, medians of the accepted rates).
``--kill-runner-node`` runs the cluster only, and once half the deliveries are
answered SIGKILLs the node whose job runner holds queue_job's lock; the sender
then retries a delivery answered 5xx or cut, as gateways do. The RESULT adds
``nodes``, ``killed`` (the node) and ``failover_s`` (until another node's
runner holds the lock).
"""

import argparse
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import requests

import odoo.addons

REPO_ROOT = Path(__file__).resolve().parents[1]


# The repository's addons join the odoo.addons namespace, as Odoo's addons path
# does: the signature from finsync_stripe, the simulator from finsync_testing.
odoo.addons.__path__.append(str(REPO_ROOT / "addons"))
from odoo.addons.finsync_stripe.adapters.stripe_signature import header_for  # noqa: E402
from odoo.addons.finsync_testing.tools.stripe_simulator import StripeSimulator  # noqa: E402


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# ----------------------------------------------------------------------
# The story
# ----------------------------------------------------------------------
def story(unique, seed=2026):
    """A simulator with ``unique`` webhook events: mostly charges, some refunds,
    disputes (half of them won) and a payout every 100 events."""
    rng = random.Random(seed)
    sim = StripeSimulator(api_key="sk_test_bench")
    charges = []
    while len(sim.events()) < unique:
        left = unique - len(sim.events())
        roll = rng.random()
        if charges and roll < 0.08:
            charge = rng.choice(charges)
            sim.add_refund(charge["id"], rng.randint(1, charge["amount"] // 2))
        elif charges and roll < 0.10 and left >= 2:
            charge = charges.pop(rng.randrange(len(charges)))
            sim.add_dispute(charge["id"], won=rng.random() < 0.5)
        elif len(sim.events()) % 100 == 99:
            sim.add_payout("usd")
        else:
            charges.append(
                sim.add_charge(rng.randint(500, 50000), "usd", invoice=f"B-{len(charges)}")
            )
    return sim, sim.events()[:unique]


def source_total(events):
    """What the Stripe balance moved by, per the events' own objects (cents -> Decimal)."""
    total = 0
    seen = set()
    for event in events:
        obj = event["data"]["object"]
        kind = obj["object"]
        if kind == "charge" and obj["id"] not in seen:
            total += obj["amount"]
        elif kind == "refund" and obj["id"] not in seen:
            total -= obj["amount"]
        elif kind == "payout" and obj["id"] not in seen:
            total -= obj["amount"]
        elif kind == "dispute":
            # The disputed amount and Stripe's dispute fee leave; a win brings the amount back.
            for bt in obj["balance_transactions"]:
                if bt["id"] not in seen:
                    total += bt["amount"] - bt["fee"]
                    seen.add(bt["id"])
        seen.add(obj["id"])
    return Decimal(total) / 100


# ----------------------------------------------------------------------
# Odoo
# ----------------------------------------------------------------------
_CONFIGURED = {}


def odoo_env(db, config):
    """The database's registry and an environment factory (Odoo configured once)."""
    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry

    if not _CONFIGURED:
        odoo.tools.config.parse_config(["-c", config, "-d", db])
        _CONFIGURED[db] = True
    registry = Registry(db)
    return registry, lambda cr: api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})


def create_backend(db, config, secret):
    registry, environment = odoo_env(db, config)
    with registry.cursor() as cr:
        env = environment(cr)
        backend = env["finsync.backend"].create(
            {
                "name": f"Stripe storm {secret[-6:]}",
                "backend_type": "stripe",
                "webhook_secret": secret,
                "sync_policy": "webhook",
                "max_attempts": 20,
            }
        )
        env["finsync.match.rule"].search([("company_id", "=", backend.company_id.id)], limit=1) or (
            env["finsync.match.rule"].create(
                {"name": "References", "company_id": backend.company_id.id}
            )
        )
        return backend.id


def serve(odoo_args):
    """Run Odoo (``odoo-bin`` arguments), its websocket (gevent) process included.

    Earlier the benchmark replaced that process by an idle stand-in because
    gevent could not start in this virtualenv and Odoo respawned it in a loop;
    setup/common.sh now installs what gevent needs, so Odoo runs as in production.
    """
    import odoo

    sys.argv = [str(Path(os.environ.get("ODOO_SRC", "/opt/odoo-18.0")) / "odoo-bin"), *odoo_args]
    odoo.cli.main()


def channels(job_capacity):
    """The job runner's channels: processing webhook events gets ``job_capacity`` slots.

    A processing job runs in an HTTP worker of the same Odoo and costs 230 to
    400 ms of a core per event; with one slot it can never hold more than one
    of the two cores while deliveries arrive (the production advice in the
    README does the same with ``root.finsync.stripe:1`` on small machines).
    """
    return (
        "root:4,root.finsync:4,root.finsync.bank:1,"
        f"root.finsync.stripe:{job_capacity},root.finsync.paypal:1,root.finsync.matching:1"
    )


def start_server(db, config, port, workers, data_dir, job_capacity=1):
    """Odoo with workers serving ``db`` only.

    The database is named by ``-d`` without a ``--db-filter``: a request
    without a session (every webhook delivery) then finds its database in the
    configuration, where a filter makes Odoo connect to PostgreSQL and list
    every database for each delivery (about 24 ms of 78 measured in-process).
    """
    command = [
        sys.executable,
        __file__,
        "--serve",
        "-c",
        config,
        "-d",
        db,
        f"--workers={workers}",
        f"--http-port={port}",
        f"--gevent-port={free_port()}",
        "--max-cron-threads=0",
        "--log-level=warn",
        # The runner says when it is ready (the storm starts then: see below).
        "--log-handler=odoo.addons.queue_job.jobrunner.runner:INFO",
        "--limit-time-real=600",
    ]
    if data_dir:
        command.append(f"--data-dir={data_dir}")
    log = open(os.environ.get("FINSYNC_BENCH_LOG", "/tmp/finsync-bench-webhooks.log"), "w")
    environ = dict(os.environ, ODOO_QUEUE_JOB_CHANNELS=channels(job_capacity))
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
        # The job runner starts a few seconds after the HTTP workers: the storm
        # starts once it runs, so that processing competes with the deliveries
        # for the two cores as it would in production.
        if "queue job runner ready for db" in Path(log.name).read_text(errors="replace"):
            return process
        time.sleep(0.5)
    stop_server(process)
    raise SystemExit(f"finsync: error: Odoo did not answer on port {port}: see {log.name}")


def stop_server(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


# ----------------------------------------------------------------------
# The storm
# ----------------------------------------------------------------------
def post_all(url, secret, deliveries, clients, retries=0, on_answer=None, retried=None):
    """POST every delivery (signed when sent) from ``clients`` threads; (status, ms) each.

    ``retries``: a delivery answered 5xx or cut is sent again (after half a second)
    up to that many times, as gateways do (one item appended to ``retried`` each
    time); ``on_answer()`` is called after each answer.
    """
    local = threading.local()

    def post(session, body):
        try:
            return session.post(
                url,
                data=body,
                headers={
                    "Stripe-Signature": header_for(body, [secret]),
                    "Content-Type": "application/json",
                },
                timeout=60,
            )
        except requests.ConnectionError:
            if not retries:
                raise
            return None

    def send(body):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        started = time.perf_counter()
        response = post(session, body)
        for _attempt in range(retries):
            if response is not None and response.status_code < 500:
                break
            retried.append(body)
            time.sleep(0.5)
            session = local.session = requests.Session()
            response = post(session, body)
        if on_answer:
            on_answer()
        if response is None:
            return 599, (time.perf_counter() - started) * 1000, "connection failed"
        return response.status_code, (time.perf_counter() - started) * 1000, response.text[:200]

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(send, deliveries))


def wait_processed(db, config, backend_id, expected, timeout, stall=120):
    """Event states once ``expected`` events are done or dead, or when nothing moves."""
    registry, environment = odoo_env(db, config)
    deadline = time.time() + timeout
    last, last_change = None, time.time()
    while True:
        with registry.cursor() as cr:
            cr.execute(
                "SELECT state, count(*) FROM finsync_event WHERE backend_id = %s GROUP BY state",
                [backend_id],
            )
            states = dict(cr.fetchall())
        finished = states.get("done", 0) + states.get("dead", 0)
        if finished != last:
            last, last_change = finished, time.time()
        if finished >= expected or time.time() > deadline or time.time() - last_change > stall:
            return states
        time.sleep(0.5)


def verify(db, config, backend_id, events):
    registry, environment = odoo_env(db, config)
    with registry.cursor() as cr:
        env = environment(cr)
        backend = env["finsync.backend"].browse(backend_id)
        cr.execute(
            "SELECT count(*), count(DISTINCT external_id), sum(GREATEST(attempts - 1, 0)) "
            "FROM finsync_event WHERE backend_id = %s",
            [backend_id],
        )
        stored, distinct, extra_attempts = cr.fetchone()
        journals = backend.journal_ids
        cr.execute(
            "SELECT count(*) - count(DISTINCT (journal_id, finsync_import_id)), "
            "coalesce(sum(amount), 0) FROM account_bank_statement_line WHERE journal_id = ANY(%s)",
            [journals.ids],
        )
        double_booked, booked_total = cr.fetchone()
        cr.execute(
            """
            SELECT count(*) FROM (
                SELECT m.id FROM account_move m JOIN account_move_line l ON l.move_id = m.id
                 WHERE m.journal_id = ANY(%s) AND m.state = 'posted'
                 GROUP BY m.id HAVING abs(sum(l.balance)) > 0.000001) unbalanced
            """,
            [journals.ids],
        )
        unbalanced = cr.fetchone()[0]
        cr.execute(
            "SELECT count(*) FROM account_move WHERE journal_id = ANY(%s) AND state = 'posted'",
            [journals.ids],
        )
        posted = cr.fetchone()[0]
        cr.execute(
            "SELECT count(*) FROM queue_job WHERE model_name = 'finsync.event' "
            "AND records::text LIKE '%%finsync.event%%' AND state = 'done' "
            "AND uuid IN (SELECT job_uuid FROM finsync_event WHERE backend_id = %s)",
            [backend_id],
        )
        jobs_done = cr.fetchone()[0]
        expected = source_total(events)
        return {
            "stored": stored,
            "duplicates": (stored - distinct) + double_booked,
            "extra_attempts": int(extra_attempts or 0),
            "booked_total": Decimal(str(booked_total)).quantize(Decimal("0.01")),
            "source_total": expected,
            "unbalanced": unbalanced,
            "posted_entries": posted,
            "jobs_done": jobs_done,
        }


class OneNode:
    """The storm's target: one Odoo with workers, straight (``start_server``)."""

    nodes = 1

    def __init__(self, args, workers):
        self.args, self.workers = args, workers
        self.port = args.port or free_port()
        self.server = None

    def describe(self):
        return f"Odoo with {self.workers} workers on port {self.port}"

    def __enter__(self):
        args = self.args
        self.server = start_server(
            args.db, args.config, self.port, self.workers, args.data_dir, args.job_capacity
        )
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        stop_server(self.server)


class Nodes:
    """The storm's target: ``setup/cluster.py``'s nodes behind nginx."""

    def __init__(self, args, nodes, workers):
        from cluster import Cluster  # setup/cluster.py, beside this file

        self.args, self.nodes, self.workers = args, nodes, workers
        port = args.port or free_port()
        home = Path(os.environ.get("FINSYNC_HOME", "/var/lib/finsync"))
        self.cluster = Cluster(
            args.db,
            args.config,
            nodes=nodes,
            port=port,
            workers=workers,
            data_dir=args.data_dir,
            run_dir=home / f"cluster-bench-{port}",
            environ=dict(os.environ, ODOO_QUEUE_JOB_CHANNELS=channels(args.job_capacity)),
            odoo_args=[
                "--max-cron-threads=0",
                "--log-level=warn",
                "--log-handler=odoo.addons.queue_job.jobrunner.runner:INFO",
                "--limit-time-real=600",
            ],
        )

    def describe(self):
        return (
            f"{self.nodes} nodes with {self.workers} workers each behind nginx on port "
            f"{self.cluster.port} (logs in {self.cluster.run_dir})"
        )

    def __enter__(self):
        # The cluster is ready once one node's job runner holds the lock: the storm starts then.
        self.cluster.start()
        return self.cluster.url()

    def __exit__(self, *exc):
        self.cluster.stop()


class RunnerKiller:
    """Once half the deliveries are answered, SIGKILLs the node running the job runner
    and measures how long until another node's runner holds the lock."""

    def __init__(self, cluster, deliveries):
        self.cluster = cluster
        self.half = deliveries // 2
        self.answered = 0
        self.lock = threading.Lock()
        self.due = threading.Event()
        self.killed = None
        self.failover_s = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def on_answer(self):
        with self.lock:
            self.answered += 1
            if self.answered == self.half:
                self.due.set()

    def _run(self):
        self.due.wait()
        node = None
        while node is None:
            node = self.cluster.runner_node()
            time.sleep(0 if node else 0.1)
        self.cluster.kill(node)
        killed_at = time.perf_counter()
        self.killed = node
        print(f"finsync: killed node {node} (its job runner held the lock)", file=sys.stderr)
        while time.perf_counter() - killed_at < 300:
            holder = self.cluster.runner_node()
            if holder and holder != node:
                self.failover_s = round(time.perf_counter() - killed_at, 1)
                print(
                    f"finsync: node {holder}'s job runner took over after {self.failover_s} s",
                    file=sys.stderr,
                )
                return
            time.sleep(0.1)


def storm(args, target, kill=False):
    """One storm against ``target`` (``OneNode`` or ``Nodes``): its figures, and whether
    nothing was lost, doubled, refused or unbalanced."""
    duplicates = int(args.events * args.duplicates)
    unique = args.events - duplicates
    sim, events = story(unique)
    bodies = [json.dumps(event).encode() for event in events]
    rng = random.Random(7)
    deliveries = bodies + [rng.choice(bodies) for _ in range(duplicates)]
    rng.shuffle(deliveries)
    secret = "whsec_" + secrets.token_hex(16)
    backend_id = create_backend(args.db, args.config, secret)
    print(
        f"finsync: {args.events} deliveries ({unique} events, {duplicates} duplicates), "
        f"{args.clients} clients, {target.describe()}, "
        f"root.finsync.stripe:{args.job_capacity}; load {load()}",
        file=sys.stderr,
    )
    retried = []
    with target as base_url:
        killer = RunnerKiller(target.cluster, len(deliveries)) if kill else None
        url = f"{base_url}/finsync/webhook/stripe/{backend_id}"
        started = time.perf_counter()
        answers = post_all(
            url,
            secret,
            deliveries,
            args.clients,
            retries=5 if kill else 0,
            on_answer=killer.on_answer if killer else None,
            retried=retried,
        )
        posted_s = time.perf_counter() - started
        accepted_ids = {
            json.loads(body)["id"]
            for body, (status, _ms, _text) in zip(deliveries, answers, strict=True)
            if status == 200
        }
        states = wait_processed(args.db, args.config, backend_id, len(accepted_ids), args.timeout)
        processed_s = time.perf_counter() - started
        if killer:
            killer.thread.join(timeout=60)
    check = verify(args.db, args.config, backend_id, events)
    accepted = [ms for status, ms, _text in answers if status == 200]
    refused = [(status, text) for status, _ms, text in answers if status != 200]
    latencies = sorted(ms for _status, ms, _text in answers)
    p95 = latencies[max(int(len(latencies) * 0.95) - 1, 0)]
    result = {
        "events": args.events,
        "unique": unique,
        "eps": round(len(accepted) / posted_s, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(latencies[-1], 1),
        "processed_s": round(processed_s, 1),
        "duplicates": check["duplicates"],
        "lost": unique - states.get("done", 0),
        "refused": len(refused),
        "unbalanced": check["unbalanced"],
        "totals_match": check["booked_total"] == check["source_total"],
        "workers": target.workers,
        "job_capacity": args.job_capacity,
        "clients": args.clients,
        "load": load(),
    }
    if target.nodes > 1:
        result["nodes"] = target.nodes
    if killer:
        result.update(killed=killer.killed, failover_s=killer.failover_s, retried=len(retried))
    print(
        f"accepted {len(accepted)} of {len(answers)} deliveries in {posted_s:.1f} s "
        f"({result['eps']} per second), "
        f"latency p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, max {result['max_ms']} ms"
    )
    if refused:
        print(f"refused: {refused[:5]}")
    print(
        f"events: {states}; processed within {result['processed_s']} s; "
        f"processing retries after a lost race: {check['extra_attempts']}"
    )
    print(
        f"stored {check['stored']} events; {check['posted_entries']} posted entries, "
        f"{check['unbalanced']} unbalanced; journal total {check['booked_total']} USD, "
        f"source total {check['source_total']} USD"
    )
    ok = (
        result["duplicates"] == 0
        and result["lost"] == 0
        and result["refused"] == 0
        and result["unbalanced"] == 0
        and result["totals_match"]
        and (not kill or result["failover_s"] is not None)
    )
    return result, ok


def run(args):
    if args.nodes == 1:
        result, ok = storm(args, OneNode(args, args.workers or 4))
    elif args.kill_runner_node:
        result, ok = storm(args, Nodes(args, args.nodes, args.workers or 2), kill=True)
    else:
        # Back to back, in alternating order (one node first, then the cluster first, ...),
        # so that the machine's other work weighs on both alike; medians of the rounds.
        workers = args.workers or 2
        ones, many, ok = [], [], True
        for round_ in range(args.rounds):
            order = ("one", "many") if round_ % 2 == 0 else ("many", "one")
            for which in order:
                if which == "one":
                    result, round_ok = storm(args, OneNode(args, workers * args.nodes))
                    ones.append(result)
                else:
                    result, round_ok = storm(args, Nodes(args, args.nodes, workers))
                    many.append(result)
                print(f"RESULT({which}) " + json.dumps(result))
                ok = ok and round_ok
        eps_one = round(statistics.median(one["eps"] for one in ones), 1)
        result = dict(many[-1], eps=round(statistics.median(each["eps"] for each in many), 1))
        result.update(
            eps_one_node=eps_one, ratio=round(result["eps"] / eps_one, 2), rounds=args.rounds
        )
    print("RESULT " + json.dumps(result))
    return 0 if ok else 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        return serve(argv[1:])
    parser = argparse.ArgumentParser(prog="setup/bench webhooks")
    parser.add_argument("--events", type=int, default=1000, help="deliveries, duplicates included")
    parser.add_argument(
        "--duplicates", type=float, default=0.3, help="share of duplicate deliveries"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--workers",
        type=int,
        help="HTTP workers (4), per node with --nodes (2; one node gets N times as many)",
    )
    parser.add_argument("--nodes", type=int, default=1, help="Odoo nodes behind nginx")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="with --nodes: one node then the cluster, this many times in alternating order",
    )
    parser.add_argument(
        "--kill-runner-node",
        action="store_true",
        help="with --nodes: kill the node running the job runner in the middle of the storm",
    )
    parser.add_argument(
        "--job-capacity",
        type=int,
        default=1,
        help="processing jobs at once (the root.finsync.stripe channel's capacity)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="HTTP port, the proxy's with --nodes (a free one by default; "
        "the nodes use the 2 N ports from port + 10)",
    )
    parser.add_argument("--timeout", type=int, default=900, help="seconds to wait for processing")
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    if args.kill_runner_node and args.nodes < 2:
        parser.error("--kill-runner-node needs --nodes 2 or more")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
