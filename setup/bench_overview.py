"""FinSync overview benchmark; run through ``setup/bench overview`` (which prepares the template).

1. A fresh copy of the template database (finsync_close installed, no demo data).
2. The loader: the ORM writes one of each row kind (a posted bank statement line with
   its entry, a transaction, an open exception on that line, a processed event); SQL
   clones them set-based (``INSERT ... SELECT`` over ``generate_series``) into
   N transactions, N/10 exceptions with one unreconciled statement line each and N/10
   events, replacing what differs between rows (names, dates, amounts, keys, states).
   Monetary columns are the template's sign times the row's amount: exact because the
   templates have no taxes and every non-zero amount is their total (checked).
3. The check: for one clone of each kind the ORM writes the same record in a savepoint
   (rolled back) and both rows are compared column by column (entry, journal items,
   statement line, transaction, exception); any difference aborts the run. Events are
   not compared: no ORM path writes their arrival and processing times (they are the
   ingest's clock), so they are the template's row with those columns set.
4. Timings, cold (first call on a fresh registry, caches empty) and warm (median of 5):
   ``finsync.figures.get_overview`` as the admin, ``/finsync/metrics``' body
   (``_metrics_text``) and the period close's readiness check (every automatic check of a month).

Prints ``RESULT {"transactions", "overview_ms", "overview_queries", "readiness_ms",
"metrics_ms", ...}``.
"""

import argparse
import datetime
import json
import statistics
import sys
import time

from bench_match import fresh_copy, log  # the matching bench's helpers (setup/)

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry

SKIPPED = {"id", "create_uid", "create_date", "write_uid", "write_date"}
TEMPLATE_AMOUNT = 100.0
# Row-specific columns left out of the ORM comparison: ids of the row itself or of
# its parent, keys made unique per row, the ORM's sequence and its clock.
NOT_COMPARED = {
    "account_move": {"name", "sequence_number", "sequence_prefix", "statement_line_id"},
    "account_move_line": {"move_id", "move_name", "statement_line_id"},
    "account_bank_statement_line": {"move_id", "internal_index"},
    "finsync_transaction": {"external_id", "name", "correlation_id"},
    "finsync_exception": {"name", "due_date", "dedup_key"},
}


def environment(cr, uid=SUPERUSER_ID):
    return api.Environment(cr, uid, {"tracking_disable": True})


# --- the SQL cloner ---------------------------------------------------------------


def columns(cr, table):
    cr.execute(
        """SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position""",
        [table],
    )
    return [name for (name,) in cr.fetchall() if name != "id"]


def monetary_columns(env, model):
    return {
        name
        for name, field in env[model]._fields.items()
        if field.store and field.column_type and field.type == "monetary"
    }


def check_template(env, records, total):
    """Refuse templates whose amounts are not all 0 or ±``total`` (scaling would be wrong)."""
    for record in records:
        for name in monetary_columns(env, record._name):
            value = record[name]
            if value and abs(abs(value) - total) > 0.001:
                raise SystemExit(f"template {record._name} {name} is {value}, not ±{total}")


def clone(cr, env, table, model, template_ids, source, fixed):
    """Copy the template rows for every row of ``source`` (a FROM item aliased ``s``,
    joined to the template ``t``); ``fixed`` gives the columns that differ."""
    cols = columns(cr, table)
    monetary = monetary_columns(env, model)
    exprs = []
    for column in cols:
        if column in fixed:
            exprs.append(fixed[column])
        elif column in monetary:
            exprs.append(
                f'CASE WHEN t."{column}" = 0 THEN t."{column}" '
                f'ELSE sign(t."{column}") * s.amount END'
            )
        elif column in ("create_date", "write_date"):
            exprs.append("now() AT TIME ZONE 'UTC'")
        else:
            exprs.append(f't."{column}"')
    column_list = ", ".join(f'"{column}"' for column in cols)
    cr.execute(
        f'INSERT INTO "{table}" ({column_list}) '
        f"SELECT {', '.join(exprs)} FROM {source} WHERE t.id = ANY(%s)",
        [list(template_ids)],
    )
    return cr.rowcount


def snapshot(cr, table, where, params, order="id"):
    cr.execute(f'SELECT * FROM "{table}" WHERE {where} ORDER BY {order}', params)
    names = [d[0] for d in cr.description]
    return [
        {n: v for n, v in zip(names, row, strict=True) if n not in SKIPPED | NOT_COMPARED[table]}
        for row in cr.fetchall()
    ]


def compare(cloned, orm, table):
    differences = []
    if len(cloned) != len(orm):
        return [(table, "rows", len(cloned), len(orm))]
    for left, right in zip(cloned, orm, strict=True):
        for column, value in left.items():
            other = right.get(column)
            if isinstance(value, float) or isinstance(other, float):
                if abs((value or 0) - (other or 0)) > 0.0001:
                    differences.append((table, column, value, other))
            elif value != other:
                differences.append((table, column, value, other))
    return differences


class _Rollback(Exception):
    pass


def orm_twin(env, make):
    """What ``make()`` writes through the ORM, snapshotted, then rolled back."""
    result = {}
    try:
        with env.cr.savepoint():
            env.flush_all()
            result = make()
            env.flush_all()
            result = {table: snap() for table, snap in result.items()}
            raise _Rollback
    except _Rollback:
        pass
    env.invalidate_all()
    return result


# --- loading ------------------------------------------------------------------------


def series(count, today):
    """The FROM item of the clones' varying values, one row per ``n``."""
    return (
        "(SELECT n, (1 + n %% 4999 + (n %% 97) / 100.0)::numeric AS amount, "
        f"DATE '{today}' - (n %% 120) AS day FROM generate_series(1, {int(count)}) AS n) s"
    )


def statement_template(env, journal, today):
    line = env["account.bank.statement.line"].create(
        {"journal_id": journal.id, "amount": TEMPLATE_AMOUNT, "date": today, "payment_ref": "BENCH"}
    )
    check_template(env, [line, line.move_id, *line.move_id.line_ids], TEMPLATE_AMOUNT)
    return line


def load_lines(env, template, count, today):
    """``count`` unreconciled posted statement lines named ``BOV/n``, cloned from ``template``."""
    cr = env.cr
    env.flush_all()
    src = series(count, today)
    clone(
        cr,
        env,
        "account_move",
        "account.move",
        template.move_id.ids,
        f"account_move t, {src}",
        {
            "name": "'BOV/' || s.n",
            "date": "s.day",
            "sequence_prefix": "'BOV/'",
            "sequence_number": "s.n",
            "statement_line_id": "NULL",
        },
    )
    moves = (
        f"account_move_line t, {src} JOIN account_move m ON m.name = 'BOV/' || s.n "
        f"AND m.journal_id = {int(template.journal_id.id)}"
    )
    clone(
        cr,
        env,
        "account_move_line",
        "account.move.line",
        template.move_id.line_ids.ids,
        moves,
        {
            "move_id": "m.id",
            "move_name": "m.name",
            "date": "s.day",
        },
    )
    lines = moves.replace("account_move_line t", "account_bank_statement_line t")
    clone(
        cr,
        env,
        "account_bank_statement_line",
        "account.bank.statement.line",
        template.ids,
        lines,
        {
            "move_id": "m.id",
            "payment_ref": "'BENCH ' || s.n",
            # A float column, not monetary: scaled here.
            "amount_residual": "sign(t.amount_residual) * s.amount",
        },
    )
    # As account's _compute_internal_index: date, reversed sequence, id.
    cr.execute(
        """UPDATE account_bank_statement_line l
              SET internal_index = to_char(m.date, 'YYYYMMDD')
                  || lpad((2147483647 - l.sequence)::text, 10, '0') || lpad(l.id::text, 10, '0')
             FROM account_move m WHERE m.id = l.move_id AND l.internal_index IS NULL"""
    )
    # The entry's items name their statement line and carry its label.
    cr.execute(
        """UPDATE account_move_line aml SET statement_line_id = l.id, name = l.payment_ref
             FROM account_bank_statement_line l
            WHERE l.move_id = aml.move_id AND aml.statement_line_id <> l.id"""
    )
    cr.execute(
        "UPDATE account_move m SET statement_line_id = l.id FROM account_bank_statement_line l"
        " WHERE l.move_id = m.id AND m.statement_line_id IS NULL"
    )


def check_lines(env, template, n, today):
    cr = env.cr
    cr.execute(
        "SELECT id FROM account_move WHERE name = %s AND journal_id = %s",
        [f"BOV/{n}", template.journal_id.id],
    )
    move_id = cr.fetchone()[0]
    amount = 1 + n % 4999 + (n % 97) / 100.0
    day = today - datetime.timedelta(days=n % 120)

    def tables(move):
        return {
            "account_move": lambda: snapshot(cr, "account_move", "id = %s", [move]),
            "account_move_line": lambda: snapshot(
                cr, "account_move_line", "move_id = %s", [move], "balance, id"
            ),
            "account_bank_statement_line": lambda: snapshot(
                cr, "account_bank_statement_line", "move_id = %s", [move]
            ),
        }

    cloned = {table: snap() for table, snap in tables(move_id).items()}
    # The ids left out of the comparison point at the clone's own rows.
    cr.execute(
        """SELECT COUNT(*) FROM account_move_line aml
             JOIN account_bank_statement_line l ON l.move_id = aml.move_id
             JOIN account_move m ON m.id = l.move_id
            WHERE aml.move_id = %s AND aml.statement_line_id = l.id
              AND m.statement_line_id = l.id""",
        [move_id],
    )
    linked = cr.fetchone()[0]
    twin = orm_twin(
        env,
        lambda: tables(
            env["account.bank.statement.line"]
            .create(
                {
                    "journal_id": template.journal_id.id,
                    "amount": amount,
                    "date": day,
                    "payment_ref": f"BENCH {n}",
                }
            )
            .move_id.id
        ),
    )
    differences = [d for table in cloned for d in compare(cloned[table], twin[table], table)]
    if linked != len(cloned["account_move_line"]):
        differences.append(("account_move_line", "statement_line_id", linked, "all"))
    return differences


def load_transactions(env, backend, count, today):
    vals = {
        "backend_id": backend.id,
        "company_id": backend.company_id.id,
        "external_id": "BENCH-T0",
        "kind": "bank_credit",
        "currency_id": backend.company_id.currency_id.id,
        "amount": TEMPLATE_AMOUNT,
        "booking_date": today,
        "counterparty_name": "Bench",
    }
    template = env["finsync.transaction"]._create_from_source([vals])
    check_template(env, template, TEMPLATE_AMOUNT)
    env.flush_all()
    clone(
        env.cr,
        env,
        "finsync_transaction",
        "finsync.transaction",
        template.ids,
        f"finsync_transaction t, {series(count - 1, today)}",
        {
            "external_id": "'BENCH-T' || s.n",
            "booking_date": "s.day",
            "correlation_id": "'bench-' || s.n",
            "name": "'BENCH-T' || s.n",
            "match_mode": "CASE WHEN s.n %% 10 < 6 THEN 'auto' WHEN s.n %% 10 < 9 "
            "THEN 'confirmed' END",
        },
    )
    return template, vals


def check_transaction(env, vals, n, today):
    cr = env.cr
    amount = 1 + n % 4999 + (n % 97) / 100.0
    day = today - datetime.timedelta(days=n % 120)
    cr.execute("SELECT id FROM finsync_transaction WHERE external_id = %s", [f"BENCH-T{n}"])
    tx_id = cr.fetchone()[0]
    cloned = snapshot(cr, "finsync_transaction", "id = %s", [tx_id])
    for row in cloned:
        # Set by posting and matching, not by creation.
        row.pop("match_mode")
        row.pop("statement_line_id")

    def make():
        tx = env["finsync.transaction"]._create_from_source(
            [{**vals, "external_id": f"BENCH-ORM{n}", "amount": amount, "booking_date": day}]
        )
        return {
            "finsync_transaction": lambda: snapshot(cr, "finsync_transaction", "id = %s", tx.ids)
        }

    twin = orm_twin(env, make)["finsync_transaction"]
    for row in twin:
        row.pop("match_mode")
        row.pop("statement_line_id")
    return compare(cloned, twin, "finsync_transaction")


def load_exceptions(env, tx_template, count, today):
    """``count`` exceptions, exception n on transaction n, itself on statement line n."""
    cr = env.cr
    cr.execute(
        """UPDATE finsync_transaction tx SET statement_line_id = l.id
             FROM account_move m JOIN account_bank_statement_line l ON l.move_id = m.id
            WHERE m.name = 'BOV/' || substr(tx.external_id, 8) AND tx.external_id LIKE 'BENCH-T%%'
              AND tx.backend_id = %s""",
        [tx_template.backend_id.id],
    )
    vals = {
        "name": "Bench exception",
        "exception_type": "unmatched",
        "severity": "medium",
        "company_id": tx_template.company_id.id,
    }
    template = env["finsync.exception"].create(
        {**vals, "transaction_ids": [(6, 0, tx_template.ids)]}
    )
    env.flush_all()
    open_ = "s.n %% 5 <> 0"
    clone(
        cr,
        env,
        "finsync_exception",
        "finsync.exception",
        template.ids,
        f"finsync_exception t, {series(count, today)}",
        {
            "name": "'Bench exception ' || s.n",
            "dedup_key": "NULL",
            "severity": "(ARRAY['low','medium','high','critical'])[1 + s.n %% 4]",
            "priority_rank": "s.n %% 4",
            "create_date": "s.day + interval '9 hours'",
            "due_date": "s.day + interval '57 hours'",
            "state": f"CASE WHEN {open_} THEN t.state ELSE 'done' END",
            "is_open": open_,
            "resolved_date": f"CASE WHEN {open_} THEN NULL ELSE s.day + interval '2 days' END",
        },
    )
    cr.execute(
        """INSERT INTO finsync_exception_transaction_rel (exception_id, transaction_id)
           SELECT e.id, tx.id FROM finsync_exception e
             JOIN finsync_transaction tx ON tx.external_id = 'BENCH-T' || substr(e.name, 17)
            WHERE e.name LIKE 'Bench exception %%' AND e.id <> %s AND tx.backend_id = %s""",
        [template.id, tx_template.backend_id.id],
    )
    # What the exception shows of its transaction (finsync_base's transaction summary):
    # each clone's own transaction, not the template's.
    cr.execute(
        """UPDATE finsync_exception e
              SET amount = tx.amount, currency_id = tx.currency_id,
                  transaction_date = tx.booking_date, partner_id = tx.partner_id,
                  counterparty_name = tx.counterparty_name
             FROM finsync_exception_transaction_rel r
             JOIN finsync_transaction tx ON tx.id = r.transaction_id
            WHERE r.exception_id = e.id AND e.name LIKE 'Bench exception %%' AND e.id <> %s""",
        [template.id],
    )
    return vals


def check_exception(env, vals, n):
    cr = env.cr
    cr.execute("SELECT id FROM finsync_exception WHERE name = %s", [f"Bench exception {n}"])
    exc_id = cr.fetchone()[0]
    cloned = snapshot(cr, "finsync_exception", "id = %s", [exc_id])
    severity = ["low", "medium", "high", "critical"][n % 4]
    cr.execute(
        "SELECT transaction_id FROM finsync_exception_transaction_rel WHERE exception_id = %s",
        [exc_id],
    )
    tx_ids = [row[0] for row in cr.fetchall()]
    closing = ("state", "is_open", "resolved_date", "resolved_by_id")
    for row in cloned:
        for key in closing:
            row.pop(key)  # closing is the workflow's, checked by its own tests

    def make():
        exc = env["finsync.exception"].create(
            {
                **vals,
                "name": f"Bench exception {n}",
                "severity": severity,
                "transaction_ids": [(6, 0, tx_ids)],
            }
        )
        return {"finsync_exception": lambda: snapshot(cr, "finsync_exception", "id = %s", exc.ids)}

    twin = orm_twin(env, make)["finsync_exception"]
    for row in twin:
        for key in closing:
            row.pop(key)
    differences = compare(cloned, twin, "finsync_exception")
    if len(tx_ids) != 1:
        differences.append(("finsync_exception_transaction_rel", "transactions", tx_ids, 1))
    return differences


def load_events(env, backend, count, today):
    payload = json.dumps({"bench": True})
    env["finsync.event"]._ingest(
        backend, [{"payload": payload, "external_id": "BENCH-E0", "event_type": "bench"}]
    )
    env.flush_all()
    env.cr.execute(
        "SELECT id FROM finsync_event WHERE backend_id = %s ORDER BY id DESC LIMIT 1", [backend.id]
    )
    template_id = env.cr.fetchone()[0]
    clone(
        env.cr,
        env,
        "finsync_event",
        "finsync.event",
        [template_id],
        f"finsync_event t, {series(count, today)}",
        {
            "external_id": "'BENCH-E' || s.n",
            "dedup_key": "'bench-e-' || s.n",
            "name": "'BENCH-E' || s.n",
            "state": "'done'",
            "job_uuid": "NULL",
            "received_at": "now() AT TIME ZONE 'UTC' - (s.n %% 2880) * interval '1 minute'",
            "processed_at": "now() AT TIME ZONE 'UTC' - (s.n %% 2880) * interval '1 minute'"
            " + (s.n %% 600) * interval '1 second'",
        },
    )


def load(registry, transactions, today):
    with registry.cursor() as cr:
        env = environment(cr)
        company = env.company
        journal = env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
        )
        backend = env["finsync.backend"].create(
            {
                "name": "Bench feed",
                "backend_type": "generic",
                "company_id": company.id,
                "journal_ids": [(6, 0, journal.ids)],
            }
        )
        lines = max(transactions // 10, 1)
        started = time.time()
        line_template = statement_template(env, journal, today)
        load_lines(env, line_template, lines, today)
        tx_template, tx_vals = load_transactions(env, backend, transactions, today)
        exc_vals = load_exceptions(env, tx_template, lines, today)
        load_events(env, backend, lines, today)
        log(
            f"loaded {transactions} transactions, {lines} lines/exceptions/events "
            f"in {time.time() - started:.0f} s"
        )
        differences = (
            check_lines(env, line_template, min(7, lines), today)
            + check_transaction(env, tx_vals, min(7, transactions - 1), today)
            + check_exception(env, exc_vals, min(7, lines))
        )
        if differences:
            for difference in differences:
                log(f"DIFFERENCE {difference}")
            raise SystemExit("the SQL clones differ from what the ORM writes")
        log("clones checked against the ORM: identical")
        cr.commit()
        return company.id


def vacuum(db):
    connection = odoo.sql_db.db_connect(db)
    with connection.cursor() as cr:
        cr._cnx.autocommit = True
        cr.execute("VACUUM ANALYZE")


def timed(registry, call, runs=5):
    """(cold ms, warm median ms, queries of a warm call)."""
    times, queries = [], 0
    for run in range(runs + 1):
        with registry.cursor() as cr:
            before = cr.sql_log_count
            started = time.perf_counter()
            call(cr)
            times.append((time.perf_counter() - started) * 1000)
            queries = cr.sql_log_count - before
            cr.rollback()
            if run == 0:
                registry.clear_cache()
    return round(times[0]), round(statistics.median(times[1:])), queries


def bench(args):
    today = datetime.date.today()
    if args.reuse:
        # Time the database a previous run loaded (its N is the transactions in it).
        with Registry(args.db).cursor() as cr:
            cr.execute("SELECT COUNT(*) FROM finsync_transaction")
            args.transactions = cr.fetchone()[0]
            company_id = environment(cr).company.id
    else:
        fresh_copy(args.template, args.db)
        registry = Registry(args.db)
        company_id = load(registry, args.transactions, today)
        vacuum(args.db)
    odoo.modules.registry.Registry.delete(args.db)
    registry = Registry(args.db)

    def overview(cr):
        env = environment(cr, uid=2)
        env["finsync.figures"].with_context(allowed_company_ids=[company_id]).get_overview(
            company_id
        )

    def metrics(cr):
        environment(cr)["finsync.figures"]._metrics_text()

    overview_cold, overview_ms, overview_queries = timed(registry, overview)
    metrics_cold, metrics_ms, _queries = timed(registry, metrics)
    # The period close's readiness check: every automatic check of the checklist
    # (finsync.close.check) for the current month, on an unsaved close.
    month_start = today.replace(day=1)

    def readiness(cr):
        env = environment(cr)
        close = env["finsync.close"].new(
            {"company_id": company_id, "date_from": month_start, "date_to": today}
        )
        env["finsync.close.check"]._run_checks(close)

    readiness_cold, readiness_ms, _queries = timed(registry, readiness)
    result = {
        "transactions": args.transactions,
        "overview_ms": overview_ms,
        "overview_cold_ms": overview_cold,
        "overview_queries": overview_queries,
        "readiness_ms": readiness_ms,
        "readiness_cold_ms": readiness_cold,
        "metrics_ms": metrics_ms,
        "metrics_cold_ms": metrics_cold,
        "date": today.isoformat(),
    }
    log("RESULT " + json.dumps(result))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="setup/bench overview")
    parser.add_argument("--transactions", type=int, default=100000)
    parser.add_argument(
        "--reuse", action="store_true", help="time the database the previous run loaded"
    )
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
