"""``setup/bench faults``: infrastructure faults, each proven by counting against the source.

``--kill-jobs`` (the Odoo process killed in the middle of its jobs)
    A fresh copy of the template gets a Stripe story (``--stripe-events``
    events, stored in the inbox as webhook deliveries store them and joined to
    the connector's inbox job), a CAMT.053 bank file of ``--lines`` lines stored
    as a file event with its processing job, the open invoices those lines pay
    and a matching rule. Odoo then runs with workers and the job runner, one job
    at a time (``root:1``). Each job kind of the list (the Stripe inbox job, the
    file's processing job, a statement posting job, a journal matching job) is
    killed with SIGKILL once, in the middle: while its transaction is writing
    (its SQL statement is an INSERT or UPDATE into one of the tables it books).
    ``--kill worker`` kills the HTTP worker running the job (the Odoo master
    starts another, the runner keeps running); ``--kill server`` kills the whole
    Odoo (master, workers, runner) and starts it again, as a crashed host would.
    queue_job's runner finds the job dead (``started`` or ``enqueued`` for more
    than 10 s with its lock row free) and queues it again; the figures say when.
    ``--kinds ""`` runs the same without a kill, for the counts to compare.

``--pg-restart`` (PostgreSQL restarted during a webhook storm)
    A throw-away PostgreSQL cluster of its own (``initdb`` in a temporary
    directory, port ``--pg-port``, never the project's cluster) gets a copy of
    the template; Odoo with workers serves it; a storm of signed Stripe
    deliveries (duplicates included) is sent by clients that retry as Stripe
    does (any answer but 2xx, or no answer, is sent again after a pause); in
    the middle the cluster is restarted (``pg_ctl restart -m fast``; ``-m
    immediate`` with ``--crash``: no shutdown checkpoint, crash recovery).

Both end with the counts against the source (the simulator's events, the
bank file's lines and the invoices): events stored and processed once,
transactions, statement lines and journal items neither lost nor doubled, the
journals' totals equal to the source's, every entry balanced, no invoice paid
twice; then one line ``RESULT {...}``. Exit code 0 when nothing was lost or
doubled.
"""

import argparse
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg2
import requests

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry

SETUP = Path(__file__).resolve().parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")

# The job kinds killed by --kill-jobs: queue_job's method name, and the tables
# whose INSERT or UPDATE shows that the job's transaction is booking.
JOB_KINDS = {
    "inbox": ("_process_inbox_job", r"finsync_transaction|account_bank_statement_line"),
    "file": ("_process_job", r"finsync_transaction|account_bank_statement"),
    "posting": ("_post_statement_lines", r"account_move_line|account_bank_statement_line"),
    "matching": ("_match_journal_job", r"account_partial_reconcile|account_move_line"),
}
# Past this many seconds in its transaction a job is killed even if no
# booking statement was seen (it is then in the middle all the same).
KILL_AFTER_S = 10.0
# One job at a time: the job a backend runs is the job being killed.
SERIAL_CHANNELS = (
    "root:1,root.finsync:1,root.finsync.bank:1,root.finsync.stripe:1,"
    "root.finsync.paypal:1,root.finsync.matching:1"
)


def _load(name):
    """A sibling script of setup/ as a module (setup/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"finsync_{name}", SETUP / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_webhooks = _load("bench_webhooks")  # also puts the repository's addons on odoo.addons
bench_match = _load("bench_match")


def environment(cr):
    return api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})


def log(message):
    print(f"finsync: {message}", file=sys.stderr, flush=True)


def load():
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# ----------------------------------------------------------------------
# The source: a Stripe story, a bank file and the invoices it pays
# ----------------------------------------------------------------------
def prepare_source(env, lines, stripe_events):
    """Write the source into ``env``'s database; returns what to count against."""
    from odoo.addons.finsync_testing.tools.benchmark import generate
    from odoo.addons.finsync_testing.tools.generate import Line, StatementSpec, camt053

    currency = env.company.currency_id
    invoices, rows = generate(lines, currency=currency.name)
    bench_match.load_invoices(env, invoices, clone=len(invoices) > 600)
    bench_match.bench_rule(env)
    journal, number = bench_match._bank_journal(env, currency)
    spec = StatementSpec(
        account=number,
        currency=currency.name,
        opening_balance=Decimal(0),
        start=min(row["date"] for row in rows),
        end=max(row["date"] for row in rows),
        statement_id=f"FAULTS-{uuid.uuid4().hex[:6]}",
        lines=[
            Line(
                amount=row["amount"],
                date=row["date"],
                name=row["counterparty_name"],
                account=row["counterparty_account"],
                remittance=" ".join(t for t in (row["label"], row["remittance"]) if t),
                reference=row["line_id"],
            )
            for row in rows
        ],
    )
    file_backend = env["finsync.backend"]._get_bank_file_backend(env.company)
    file_event = env["finsync.event"]._ingest(
        file_backend,
        [{"payload": camt053(spec), "filename": "faults.xml", "event_type": "camt"}],
    )
    file_event._enqueue_processing()

    secret = "whsec_" + secrets.token_hex(16)
    stripe = env["finsync.backend"].create(
        {
            "name": f"Stripe faults {secret[-6:]}",
            "backend_type": "stripe",
            "webhook_secret": secret,
            "sync_policy": "webhook",
            "max_attempts": 20,
        }
    )
    _sim, events = bench_webhooks.story(stripe_events)
    # As the webhook step stores a delivery, for all of them at once: one inbox job.
    robot = stripe._connector().webhook_user()
    Event = env["finsync.event"].with_user(robot).with_company(stripe.company_id)
    stored = Event._ingest(
        stripe.with_env(Event.env),
        [
            {
                "payload": json.dumps(event).encode(),
                "external_id": event["id"],
                "event_type": event["type"],
                "name": f"{event['type']} {event['id']}",
                "signature_state": "valid",
            }
            for event in events
        ],
    )
    stored._enqueue_inbox()
    return {
        "journal_id": journal.id,
        "file_event_id": file_event.id,
        "line_ids": [row["line_id"] for row in rows],
        "lines_total": sum((row["amount"] for row in rows), Decimal(0)),
        "stripe_id": stripe.id,
        "stripe_events": events,
    }


# ----------------------------------------------------------------------
# Odoo, and killing it
# ----------------------------------------------------------------------
def start_odoo(args, port, channels, environ=None):
    """Odoo with workers and the job runner (see bench_webhooks.start_server)."""
    saved = bench_webhooks.channels
    bench_webhooks.channels = lambda _capacity: channels
    os.environ["FINSYNC_BENCH_LOG"] = args.log
    old_environ = dict(os.environ)
    os.environ.update(environ or {})
    try:
        return bench_webhooks.start_server(args.db, args.config, port, args.workers, args.data_dir)
    finally:
        bench_webhooks.channels = saved
        os.environ.clear()
        os.environ.update(old_environ)


def _job(cr, uuid_):
    cr.execute(
        "SELECT state, retry, date_enqueued, date_started FROM queue_job WHERE uuid = %s",
        [uuid_],
    )
    return cr.fetchone()


def _running(cr, methods):
    """(job uuid, job id, method) of a started job of ``methods``, when one runs."""
    cr.execute(
        "SELECT uuid, id, method_name FROM queue_job"
        " WHERE method_name = ANY(%s) AND state = 'started' LIMIT 1",
        [methods],
    )
    return cr.fetchone()


def _booking_backend(cr, db):
    """(client port, seconds in transaction, statement) of the Odoo backend writing in a
    transaction (the server connects over TCP for this: see ``_process_on_port``)."""
    cr.execute(
        """
        SELECT client_port, extract(epoch FROM now() - xact_start), query
          FROM pg_stat_activity
         WHERE datname = %s AND application_name LIKE 'odoo-%%' AND backend_xid IS NOT NULL
           AND pid <> pg_backend_pid() AND xact_start < now() - interval '200 milliseconds'
           AND client_port > 0
         ORDER BY xact_start LIMIT 1
        """,
        [db],
    )
    row = cr.fetchone()
    return (row[0], float(row[1]), row[2]) if row else None


def _process_on_port(server, port):
    """The process of this bench's Odoo whose PostgreSQL connection has local ``port``.

    Not the ``odoo-<pid>`` of ``application_name``: with workers, Odoo loads the
    registry in the master before forking, and every worker's connections carry
    the master's pid there.
    """
    import psutil

    master = psutil.Process(server.pid)
    for process in [master, *master.children(recursive=True)]:
        try:
            if any(conn.laddr.port == port for conn in process.connections("tcp")):
                return process.pid
        except psutil.NoSuchProcess:
            continue
    return None


def _statement(query):
    """What a statement does, without its values: "INSERT INTO account_move_line"."""
    found = re.match(r'\s*(INSERT INTO|UPDATE|DELETE FROM|SELECT)\s+"?(\w+)', query or "", re.I)
    if not found:
        return (query or "").split(None, 1)[0][:20] if query else ""
    return f"{found.group(1).upper()} {found.group(2)}"


def kill_in_the_middle(conn, args, server, kinds):
    """Wait until a job of one of ``kinds`` books, SIGKILL its process; the kill, or None."""
    methods = {JOB_KINDS[kind][0]: kind for kind in kinds}
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        with conn.cursor() as cr:
            running = _running(cr, list(methods))
            backend = _booking_backend(cr, args.db) if running else None
        if not backend:
            time.sleep(0.02)
            continue
        kind = methods[running[2]]
        tables = JOB_KINDS[kind][1]
        port, in_transaction, query = backend
        writing = re.match(rf"\s*(INSERT INTO|UPDATE)\s+\"?({tables})\b", query or "", re.I)
        if not writing and in_transaction < KILL_AFTER_S:
            time.sleep(0.02)
            continue
        # Only a process of the Odoo this bench started, found among its own.
        pid = _process_on_port(server, port)
        if pid is None or pid == server.pid:
            time.sleep(0.02)
            continue
        with conn.cursor() as cr:
            before = _job(cr, running[0])
        if args.kill == "server":
            os.killpg(server.pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
        killed_at = time.time()
        log(
            f"killed {'Odoo' if args.kill == 'server' else f'worker {pid}'} "
            f"{in_transaction:.1f} s into a {kind} job, during {_statement(query)}"
        )
        return {
            "kind": kind,
            "uuid": running[0],
            "started": before[3],
            "in_transaction_s": round(in_transaction, 2),
            "statement": _statement(query),
            "killed_at": killed_at,
        }
    return None


def wait_requeued(conn, kill, timeout):
    """Seconds from the kill until the runner queued the job again (it left ``started``,
    or started again), and the job's state then."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with conn.cursor() as cr:
            state, _retry, _enqueued, started = _job(cr, kill["uuid"])
        if state != "started" or started != kill["started"]:
            return round(time.time() - kill["killed_at"], 1), state
        time.sleep(0.1)
    return None, state


def wait_quiet(conn, args, source):
    """Until no job is left to run and every event of the source is done."""
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        with conn.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM queue_job WHERE state IN "
                "('pending', 'enqueued', 'started', 'wait_dependencies')"
            )
            jobs = cr.fetchone()[0]
            cr.execute(
                "SELECT count(*) FROM finsync_event WHERE state IN ('received', 'queued')"
                " AND backend_id IN (%s, (SELECT backend_id FROM finsync_event WHERE id = %s))",
                [source["stripe_id"], source["file_event_id"]],
            )
            events = cr.fetchone()[0]
        if not jobs and not events:
            return True
        time.sleep(0.5)
    return False


# ----------------------------------------------------------------------
# Counting against the source
# ----------------------------------------------------------------------
def count_bank(cr, source):
    """The bank file's counts: each line once as a transaction, a statement line and a
    liquidity journal item; totals equal to the file's; entries balanced; no invoice
    paid beyond its total."""
    lines = source["line_ids"]
    cr.execute(
        "SELECT count(*), count(DISTINCT external_id), count(statement_line_id)"
        "  FROM finsync_transaction WHERE event_id = %s",
        [source["file_event_id"]],
    )
    transactions, distinct_tx, linked = cr.fetchone()
    cr.execute(
        "SELECT count(*), count(DISTINCT finsync_import_id), coalesce(sum(amount), 0),"
        "       count(*) FILTER (WHERE finsync_match_pending)"
        "  FROM account_bank_statement_line WHERE journal_id = %s",
        [source["journal_id"]],
    )
    st_lines, distinct_st, st_total, pending_match = cr.fetchone()
    cr.execute(
        """
        SELECT count(*), coalesce(sum(aml.balance), 0)
          FROM account_move_line aml
          JOIN account_bank_statement_line st ON st.move_id = aml.move_id
          JOIN account_journal j ON j.id = st.journal_id
         WHERE st.journal_id = %s AND aml.account_id = j.default_account_id
        """,
        [source["journal_id"]],
    )
    liquidity_items, liquidity_total = cr.fetchone()
    cr.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE st.is_reconciled)
          FROM account_bank_statement_line st WHERE st.journal_id = %s
        """,
        [source["journal_id"]],
    )
    _all, reconciled = cr.fetchone()
    cr.execute(
        """
        SELECT count(*) FROM account_partial_reconcile part
          JOIN account_move_line aml
            ON aml.id IN (part.debit_move_id, part.credit_move_id)
          JOIN account_bank_statement_line st ON st.move_id = aml.move_id
         WHERE st.journal_id = %s
        """,
        [source["journal_id"]],
    )
    partials = cr.fetchone()[0]
    cr.execute(
        "SELECT count(*) FROM account_move_line aml"
        "  JOIN account_bank_statement_line st ON st.move_id = aml.move_id"
        " WHERE st.journal_id = %s",
        [source["journal_id"]],
    )
    journal_items = cr.fetchone()[0]
    st_ids = _ids(cr, source["journal_id"])
    env = environment(cr)
    unbalanced, overpaid = bench_match.ledger_checks(env, st_ids)
    expected = len(lines)
    total = Decimal(str(st_total)).quantize(Decimal("0.01"))
    liquidity = Decimal(str(liquidity_total)).quantize(Decimal("0.01"))
    return {
        "lines": expected,
        "transactions": transactions,
        "statement_lines": st_lines,
        "liquidity_items": liquidity_items,
        "journal_items": journal_items,
        "reconciled_lines": reconciled,
        "partial_reconciles": partials,
        "lost": max(expected - transactions, 0)
        + max(expected - st_lines, 0)
        + max(expected - linked, 0)
        + pending_match,
        "duplicates": (transactions - distinct_tx)
        + (st_lines - distinct_st)
        + max(liquidity_items - st_lines, 0)
        + overpaid,
        "unbalanced": unbalanced,
        "totals_match": total == source["lines_total"] and liquidity == source["lines_total"],
    }


def _ids(cr, journal_id):
    cr.execute("SELECT id FROM account_bank_statement_line WHERE journal_id = %s", [journal_id])
    return [row[0] for row in cr.fetchall()]


def count_stripe(cr, backend_id, events, accepted=None):
    """The Stripe story's counts (see bench_webhooks.verify): each event stored and
    processed once, booked once, the clearing journal's total the source's."""
    cr.execute(
        "SELECT count(*) FILTER (WHERE state = 'done'), count(*) FROM finsync_event"
        " WHERE backend_id = %s",
        [backend_id],
    )
    done, stored = cr.fetchone()
    cr.execute(
        "SELECT count(*) FROM finsync_transaction WHERE backend_id = %s",
        [backend_id],
    )
    transactions = cr.fetchone()[0]
    journals = environment(cr)["finsync.backend"].browse(backend_id).journal_ids
    cr.execute(
        "SELECT count(*) FROM account_move_line aml"
        "  JOIN account_bank_statement_line st ON st.move_id = aml.move_id"
        " WHERE st.journal_id = ANY(%s)",
        [journals.ids],
    )
    journal_items = cr.fetchone()[0]
    cr.commit()
    return {
        "events": len(events),
        "stored": stored,
        "processed": done,
        "transactions": transactions,
        "journal_items": journal_items,
        "accepted": len(events) if accepted is None else accepted,
    }


def verify_stripe(args, backend_id, events, accepted=None):
    check = bench_webhooks.verify(args.db, args.config, backend_id, events)
    with Registry(args.db).cursor() as cr:
        counts = count_stripe(cr, backend_id, events, accepted)
    counts.update(
        {
            "lost": counts["events"] - counts["processed"],
            "duplicates": check["duplicates"],
            "unbalanced": check["unbalanced"],
            "totals_match": check["booked_total"] == check["source_total"],
            "booked_total": str(check["booked_total"]),
            "source_total": str(check["source_total"]),
        }
    )
    return counts


# ----------------------------------------------------------------------
# --kill-jobs
# ----------------------------------------------------------------------
def kill_jobs(args):
    kinds = [kind for kind in args.kinds.split(",") if kind]  # "": a run without kills
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.db])
    bench_webhooks._CONFIGURED[args.db] = True  # configured here, with the data directory
    if args.data_dir:
        odoo.tools.config["data_dir"] = args.data_dir
    log(f"{args.db}: a fresh copy of {args.template}")
    bench_match.fresh_copy(args.template, args.db)
    registry = Registry(args.db)
    started = time.perf_counter()
    with registry.cursor() as cr:
        source = prepare_source(environment(cr), args.lines, args.stripe_events)
    log(
        f"source: {len(source['line_ids'])} bank lines and their invoices, "
        f"{len(source['stripe_events'])} Stripe events, in {time.perf_counter() - started:.0f} s"
    )
    odoo.sql_db.close_db(args.db)
    port = args.port or bench_webhooks.free_port()
    conn = psycopg2.connect(dbname=args.db)
    conn.autocommit = True
    # Over TCP: a job's connection then tells which worker process runs it.
    tcp = {"PGHOST": "127.0.0.1"}
    server = start_odoo(args, port, SERIAL_CHANNELS, tcp)
    kills = []
    run_started = time.time()
    try:
        remaining = list(kinds)
        while remaining:
            kill = kill_in_the_middle(conn, args, server, remaining)
            if kill is None:
                log(f"no {', '.join(remaining)} job to kill within {args.timeout} s")
                kills += [{"kind": kind, "killed": False} for kind in remaining]
                break
            remaining.remove(kill["kind"])
            if args.kill == "server":
                server.wait(timeout=30)
                server = start_odoo(args, port, SERIAL_CHANNELS, tcp)
                kill["restarted_s"] = round(time.time() - kill["killed_at"], 1)
            kill["requeued_s"], kill["state"] = wait_requeued(conn, kill, args.timeout)
            log(f"{kill['kind']} job queued again {kill['requeued_s']} s after the kill")
            kill["killed"] = True
            kills.append(kill)
        quiet = wait_quiet(conn, args, source)
        finished_s = round(time.time() - run_started, 1)
    finally:
        bench_webhooks.stop_server(server)
        conn.close()
    with registry.cursor() as cr:
        bank = count_bank(cr, source)
        cr.execute(
            "SELECT count(*) FROM queue_job WHERE state = 'failed'"
            " OR (state = 'done' AND exc_name IS NOT NULL)"
        )
        failed_jobs = cr.fetchone()[0]
        cr.execute("SELECT state FROM finsync_event WHERE id = %s", [source["file_event_id"]])
        file_state = cr.fetchone()[0]
    stripe = verify_stripe(args, source["stripe_id"], source["stripe_events"])
    for kill in kills:
        for key in ("killed_at", "uuid", "started"):
            kill.pop(key, None)
    result = {
        "scenario": "kill-jobs",
        "kill": args.kill,
        "killed": sum(1 for kill in kills if kill["killed"]),
        "kills": kills,
        "finished": quiet,
        "finished_s": finished_s,
        "file_event": file_state,
        "failed_jobs": failed_jobs,
        "bank": bank,
        "stripe": stripe,
        "lost": bank["lost"] + stripe["lost"] + (file_state != "done"),
        "duplicates": bank["duplicates"] + stripe["duplicates"],
        "unbalanced": bank["unbalanced"] + stripe["unbalanced"],
        "totals_match": bank["totals_match"] and stripe["totals_match"],
        "load": load(),
    }
    return result, (
        quiet
        and result["killed"] == len(kinds)
        and not failed_jobs
        and not result["lost"]
        and not result["duplicates"]
        and not result["unbalanced"]
        and result["totals_match"]
    )


# ----------------------------------------------------------------------
# --pg-restart
# ----------------------------------------------------------------------
def _as_postgres(command, **kwargs):
    """Run a PostgreSQL server command as the 'postgres' user when we are root
    (PostgreSQL refuses to run as root), as ourselves otherwise."""
    if os.getuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


class ThrowAwayCluster:
    """A PostgreSQL cluster of the bench's own in a temporary directory.

    Reachable only through its socket directory (no TCP), trusted there, fsync
    off (a benchmark's data). Never the project's cluster: that one serves
    other sessions and is never restarted here.
    """

    def __init__(self, port):
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="finsync-faults-pg-"))
        self.data = self.root / "pgdata"
        self.socket = self.root / "run"
        self.log = self.root / "server.log"

    def start(self):
        self.socket.mkdir()
        self.data.mkdir(mode=0o700)
        if os.getuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.data, "postgres")
            shutil.chown(self.socket, "postgres")
        _as_postgres(
            [
                *(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"),
                *("-E", "UTF8", "--locale=C.UTF-8"),
            ]
        )
        self.pg_ctl("start")
        user = os.environ.get("PGUSER", "finsync")
        self.psql("postgres", f'CREATE ROLE "{user}" LOGIN CREATEDB')
        return self

    def pg_ctl(self, action, mode="fast"):
        options = (
            f"-p {self.port} -k {self.socket} -c listen_addresses='' -c fsync=off"
            " -c max_connections=100"
        )
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log)]
        command += ["-w", "-t", "60", "-m", mode, "-o", options, action]
        return _as_postgres(command)

    def psql(self, user, sql):
        subprocess.run(
            [
                *("psql", "-h", str(self.socket), "-p", str(self.port)),
                *("-U", user, "-d", "postgres", "-qAtc", sql),
            ],
            check=True,
            capture_output=True,
            env=dict(os.environ, PGHOST=str(self.socket), PGPORT=str(self.port)),
        )

    def environ(self):
        return {"PGHOST": str(self.socket), "PGPORT": str(self.port)}

    def copy_database(self, source, target):
        """``target`` here, a copy of ``source`` in the project's cluster (read only)."""
        dump = self.root / "source.dump"
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), source], check=True)
        mine = dict(os.environ, **self.environ())
        subprocess.run(["createdb", target], check=True, env=mine)
        subprocess.run(
            ["pg_restore", "--no-owner", "-d", target, str(dump)],
            check=True,
            env=mine,
            capture_output=True,
        )

    def remove(self):
        try:
            self.pg_ctl("stop", mode="immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


def send_with_retries(url, secret, deliveries, clients, attempts, give_up_s=300):
    """POST every delivery as Stripe does: anything but 2xx, or no answer, is sent again
    (after 0.2 s, doubling up to 5 s) until 2xx. ``attempts`` gets one record per
    attempt: (delivery index, time, status or the exception's name)."""
    from concurrent.futures import ThreadPoolExecutor

    local = threading.local()
    lock = threading.Lock()

    def send(index):
        body = deliveries[index]
        pause, deadline = 0.2, time.time() + give_up_s
        while True:
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            try:
                response = session.post(
                    url,
                    data=body,
                    headers={
                        "Stripe-Signature": bench_webhooks.header_for(body, [secret]),
                        "Content-Type": "application/json",
                    },
                    timeout=30,
                )
                status = response.status_code
            except requests.RequestException as err:
                status = type(err).__name__
                local.session = None
            with lock:
                attempts.append((index, time.time(), status))
            if status == 200 or time.time() > deadline:
                return status
            time.sleep(pause)
            pause = min(pause * 2, 5.0)

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(send, range(len(deliveries))))


def restart_when(cluster, attempts, threshold, crash, record):
    """Restart the cluster once ``threshold`` deliveries were answered 200."""
    while sum(1 for _i, _t, status in list(attempts) if status == 200) < threshold:
        time.sleep(0.05)
    record["restart_at"] = time.time()
    cluster.pg_ctl("restart", mode="immediate" if crash else "fast")
    record["ready_at"] = time.time()
    log(f"PostgreSQL restarted in {record['ready_at'] - record['restart_at']:.1f} s")


def storm_figures(attempts, record, started):
    """What the senders saw: answers by status, around the restart, retries."""
    by_status, per_delivery = {}, {}
    for index, _moment, status in attempts:
        by_status[str(status)] = by_status.get(str(status), 0) + 1
        per_delivery[index] = per_delivery.get(index, 0) + 1
    failures = [moment for _i, moment, status in attempts if status != 200]
    restart_at = record.get("restart_at", started)
    ok_after = sorted(moment for _i, moment, status in attempts if status == 200)
    window = [moment for moment in ok_after if restart_at <= moment < restart_at + 10]
    before = [moment for moment in ok_after if restart_at - 10 <= moment < restart_at]
    return {
        "answers": by_status,
        "failed_answers": len(failures),
        # Refusals that are not 5xx (a 404 while the database is unreachable):
        # gateways retry them too, but they say the endpoint is wrong.
        "non_5xx_refusals": sum(
            1
            for _i, _moment, status in attempts
            if isinstance(status, int) and status != 200 and status < 500
        ),
        "outage_s": round(max(failures) - min(failures), 1) if failures else 0.0,
        "restart_s": round(record.get("ready_at", restart_at) - restart_at, 1),
        "eps_10s_before": round(len(before) / 10, 1),
        "eps_10s_after_restart": round(len(window) / 10, 1),
        "retried_deliveries": sum(1 for count in per_delivery.values() if count > 1),
        "max_attempts": max(per_delivery.values()),
    }


def pg_restart(args):
    cluster = ThrowAwayCluster(args.pg_port)
    log(f"a throw-away PostgreSQL cluster in {cluster.root} on port {args.pg_port}")
    server = None
    try:
        cluster.start()
        cluster.copy_database(args.template, args.db)
        data_dir = cluster.root / "odoo-data"
        source_store = Path(args.data_dir or odoo.tools.config["data_dir"]) / "filestore"
        if (source_store / args.template).is_dir():
            shutil.copytree(source_store / args.template, data_dir / "filestore" / args.db)
        args.data_dir = str(data_dir)
        os.environ.update(cluster.environ())
        duplicates = int(args.events * 0.3)
        unique = args.events - duplicates
        _sim, events = bench_webhooks.story(unique)
        bodies = [json.dumps(event).encode() for event in events]
        rng = bench_webhooks.random.Random(7)
        deliveries = bodies + [rng.choice(bodies) for _ in range(duplicates)]
        rng.shuffle(deliveries)
        secret = "whsec_" + secrets.token_hex(16)
        backend_id = bench_webhooks.create_backend(args.db, args.config, secret)
        odoo.sql_db.close_db(args.db)
        port = args.port or bench_webhooks.free_port()
        server = start_odoo(args, port, bench_webhooks.channels(1), cluster.environ())
        url = f"http://127.0.0.1:{port}/finsync/webhook/stripe/{backend_id}"
        log(
            f"{args.events} deliveries ({unique} events) from {args.clients} clients; load {load()}"
        )
        record, attempts = {}, []
        started = time.time()
        restarter = threading.Thread(
            target=restart_when,
            args=(cluster, attempts, int(args.events * 0.4), args.crash, record),
            daemon=True,
        )
        restarter.start()
        finals = send_with_retries(url, secret, deliveries, args.clients, attempts)
        sent_s = time.time() - started
        restarter.join(timeout=120)
        odoo.sql_db.close_db(args.db)
        states = bench_webhooks.wait_processed(
            args.db, args.config, backend_id, unique, args.timeout
        )
        processed_s = time.time() - started
    finally:
        if server:
            bench_webhooks.stop_server(server)
    try:
        stripe = verify_stripe(args, backend_id, events, accepted=unique)
        figures = storm_figures(attempts, record, started)
        with Registry(args.db).cursor() as cr:
            cr.execute("SELECT count(*) FROM queue_job WHERE state = 'failed'")
            figures["failed_jobs"] = cr.fetchone()[0]
    finally:
        odoo.sql_db.close_all()
        cluster.remove()
    delivered = sum(1 for status in finals if status == 200)
    result = {
        "scenario": "pg-restart",
        "mode": "immediate" if args.crash else "fast",
        "events": args.events,
        "unique": unique,
        "delivered": delivered,
        "undelivered": len(finals) - delivered,
        "sent_s": round(sent_s, 1),
        "processed_s": round(processed_s, 1),
        "eps": round(delivered / sent_s, 1),
        **figures,
        "states": states,
        "stripe": stripe,
        "lost": stripe["lost"],
        "duplicates": stripe["duplicates"],
        "unbalanced": stripe["unbalanced"],
        "totals_match": stripe["totals_match"],
        "load": load(),
    }
    ok = (
        "restart_at" in record
        and not result["undelivered"]
        and not result["non_5xx_refusals"]
        and not result["failed_jobs"]
        and not result["lost"]
        and not result["duplicates"]
        and not result["unbalanced"]
        and result["totals_match"]
    )
    return result, ok


# ----------------------------------------------------------------------
# main
# ----------------------------------------------------------------------
def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="setup/bench faults")
    scenario = parser.add_mutually_exclusive_group(required=True)
    scenario.add_argument("--kill-jobs", action="store_true")
    scenario.add_argument("--pg-restart", action="store_true")
    parser.add_argument("--kill", choices=("worker", "server"), default="worker")
    parser.add_argument(
        "--kinds",
        default="inbox,file,posting,matching",
        help="job kinds to kill, each once (%(default)s)",
    )
    parser.add_argument("--lines", type=int, default=2400, help="bank file lines")
    parser.add_argument("--stripe-events", type=int, default=400)
    parser.add_argument("--events", type=int, default=600, help="--pg-restart: deliveries")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--crash", action="store_true", help="--pg-restart: -m immediate")
    parser.add_argument("--pg-port", type=int, default=5440)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--db", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--log", default="/tmp/finsync-bench-faults.log")
    args = parser.parse_args(argv)
    if args.kill_jobs:
        result, ok = kill_jobs(args)
    else:
        result, ok = pg_restart(args)
    print("RESULT " + json.dumps(result, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
