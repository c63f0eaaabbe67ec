"""FinSync matching benchmark; run through ``setup/bench match`` (which prepares the template).

``setup/bench match [--lines N] [--dataset DIR] [--jobs] [--profile FILE] [--[no-]clone]``

1. The data set: generated (``finsync_testing/tools/benchmark.py``: N statement lines, about N
   open invoices of about N/20 partners, labelled) and written as CSV into a
   directory it prints, or read from ``--dataset DIR`` (``invoices.csv``,
   ``statement.csv``; the ``expected`` column is never read by matching).
2. A fresh database copied from the template (FinSync installed, no demo data):
   partners with their bank accounts, posted customer invoices (and credit
   notes: over ``CLONE_FROM``, all but the first ``ORM_SEED`` cloned in SQL by
   ``bench_invoice_clone.py`` and checked against the ORM's), a bank journal
   per currency, the statement imported through FinSync's importer and posted
   as statement lines by the posting job's code, in chunks,
   with no matching rule active yet.
3. For N up to 1,000: a copy of that database with OCA's ``account_reconcile_oca``
   installed, whose ``_auto_reconcile`` ("Invoices/Bills Perfect Match") runs over
   the same statement lines.
4. FinSync's matching over the statement lines, in chunks of 1,000 lines, each in
   its own transaction as its jobs run (``--jobs``: as real queue jobs, enqueued
   then performed one by one), timed until the ledger is reconciled.
5. The outcome of each line (``matches.csv`` next to the data set), scored against
   the labels, ledger checks (unbalanced entries, invoices paid more than once),
   and ``RESULT {...}``.
"""

import argparse
import cProfile
import datetime
import importlib.util
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections import defaultdict

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry

OCA_MAX_LINES = 1000
CHUNK = 1000
INVOICE_BATCH = 500
# Above this many invoices the loader clones them in SQL from ORM_SEED written by the ORM.
CLONE_FROM = 5000
ORM_SEED = 500


def environment(cr):
    return api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})


def log(message):
    print(message, flush=True)


# --- databases ----------------------------------------------------------------


def fresh_copy(source, target):
    """``target`` as a copy of ``source`` (dropped first when it exists)."""
    from odoo.service import db as db_service

    odoo.sql_db.close_db(target)
    if db_service.exp_db_exist(target):
        db_service.exp_drop(target)
    odoo.sql_db.close_db(source)
    db_service.exp_duplicate_database(source, target)
    odoo.sql_db.close_db(source)


def install_oca(db):
    """OCA's reconciliation (``account_reconcile_oca``) installed in ``db``; its
    Perfect Match model is the only automatic one."""
    with Registry(db).cursor() as cr:
        env = environment(cr)
        env["ir.module.module"].update_list()
        module = env["ir.module.module"].search([("name", "=", "account_reconcile_oca")])
        if not module:
            raise SystemExit("account_reconcile_oca is not installed in the virtualenv")
        module.button_immediate_install()
    with Registry(db).cursor() as cr:
        env = environment(cr)
        models = env["account.reconcile.model"].search([("company_id", "=", env.company.id)])
        perfect = env.ref(f"account.{env.company.id}_reconcile_perfect_match", False)
        perfect = perfect or models.filtered(lambda m: m.name == "Invoices/Bills Perfect Match")
        if not perfect:
            raise SystemExit(f"no 'Invoices/Bills Perfect Match' model in {db}")
        (models - perfect).write({"auto_reconcile": False})
        perfect.write({"auto_reconcile": True})


# --- loading a data set -------------------------------------------------------


def _currency(env, code, where):
    currency = env["res.currency"].with_context(active_test=False).search([("name", "=", code)])
    if not currency:
        raise SystemExit(f"{where}: unknown currency {code!r}")
    if not currency.active:
        currency.active = True
    return currency


def _bank_journal(env, currency):
    number = f"NL{uuid.uuid4().int % 10**16:016d}"
    bank = env["res.partner.bank"].create(
        {"acc_number": number, "partner_id": env.company.partner_id.id}
    )
    journal = env["account.journal"].create(
        {
            "name": f"Bench Bank {currency.name} {number[-4:]}",
            "code": f"B{uuid.uuid4().hex[:4].upper()}",
            "type": "bank",
            "bank_account_id": bank.id,
            "currency_id": currency.id if currency != env.company.currency_id else False,
        }
    )
    return journal, number


def _partners_and_journal(env, invoices):
    """{partner name: res.partner} (created with their bank accounts when missing)
    and the bench's own sales journal."""
    partner_model = env["res.partner"]
    names = {}
    for row in invoices:
        names.setdefault(row["partner"], row["partner_account"])
    existing = {p.name: p for p in partner_model.search([("name", "in", list(names))])}
    to_create = [
        {
            "name": name,
            "is_company": True,
            "bank_ids": [odoo.Command.create({"acc_number": account})] if account else [],
        }
        for name, account in names.items()
        if name not in existing
    ]
    for partner in partner_model.create(to_create):
        existing[partner.name] = partner
    # A sales journal of its own: its entry names (BSAL/2026/...) never look like the
    # data set's invoice numbers, which are the moves' references.
    journals = env["account.journal"].search(
        [("type", "=", "sale"), ("company_id", "=", env.company.id)]
    )
    journal = journals.filtered(lambda j: j.code == "BSAL") or env["account.journal"].create(
        {
            "name": "Bench Sales",
            "code": "BSAL",
            "type": "sale",
            "default_account_id": journals[:1].default_account_id.id,
        }
    )
    return existing, journal


def _invoice_vals(env, row, partners, journal, currencies):
    code = row["currency"] or env.company.currency_id.name
    if code not in currencies:
        currencies[code] = _currency(env, code, row.get("_where", code))
    amount = row["amount_total"]
    return {
        "move_type": "out_invoice" if amount > 0 else "out_refund",
        "journal_id": journal.id,
        "partner_id": partners[row["partner"]].id,
        "invoice_date": row["invoice_date"],
        "invoice_date_due": row["due_date"] or row["invoice_date"],
        "currency_id": currencies[code].id,
        "ref": row["number"],
        "payment_reference": row["payment_reference"] or row["number"],
        "invoice_line_ids": [
            odoo.Command.create(
                {"name": row["number"], "price_unit": float(abs(amount)), "tax_ids": []}
            )
        ],
    }


def _orm_invoices(env, rows, partners, journal, currencies):
    """Posted invoices for ``rows`` through Odoo's ORM, in batches."""
    moves = env["account.move"]
    for start in range(0, len(rows), INVOICE_BATCH):
        batch = env["account.move"].create(
            [
                _invoice_vals(env, row, partners, journal, currencies)
                for row in rows[start : start + INVOICE_BATCH]
            ]
        )
        batch.action_post()
        moves |= batch
        if len(rows) > 10 * INVOICE_BATCH and (start // INVOICE_BATCH) % 10 == 9:
            log(f"  {len(moves)} invoices posted")
    return moves


def _clone_module():
    """``setup/bench_invoice_clone.py`` next to this file (also when a test loads
    this file by its path)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_invoice_clone.py")
    spec = importlib.util.spec_from_file_location("finsync_bench_invoice_clone", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_invoices(env, invoices, clone=None):
    """Partners (with their bank accounts) and posted customer invoices and credit
    notes; the data set's number is the move's ``ref``, its payment reference the
    ``payment_reference``. Returns the moves.

    ``clone`` (default: more than ``CLONE_FROM`` invoices): the first
    ``ORM_SEED`` invoices (and the first credit note) go through the ORM, the
    rest are cloned from them in SQL (``bench_invoice_clone``): the invoices
    in the company's currency; others still go through the ORM. A cloned invoice
    is compared column by column with the same invoice written by the ORM, and
    every cloned entry must balance, or the run stops.
    """
    partners, journal = _partners_and_journal(env, invoices)
    currencies = {}
    if clone is None:
        clone = len(invoices) > CLONE_FROM
    if not clone:
        return _orm_invoices(env, invoices, partners, journal, currencies)
    bench_invoice_clone = _clone_module()
    company_code = env.company.currency_id.name
    seed, rest, types = [], [], set()
    for row in invoices:
        move_type = "out_invoice" if row["amount_total"] > 0 else "out_refund"
        cloneable = (row["currency"] or company_code) == company_code
        if cloneable and len(seed) >= ORM_SEED and move_type in types:
            rest.append(row)
            continue
        seed.append(row)
        if cloneable:
            types.add(move_type)
    moves = _orm_invoices(env, seed, partners, journal, currencies)
    if not rest:
        return moves
    templates = {}
    for move in moves:
        if move.move_type not in templates and not bench_invoice_clone.check_template(env, move):
            templates[move.move_type] = move
    started = time.perf_counter()
    move_ids = bench_invoice_clone.clone_invoices(env, templates, rest, partners)
    cloned = env["account.move"].browse(move_ids)
    log(f"  {len(rest)} invoices cloned in SQL in {time.perf_counter() - started:.1f} s")
    unbalanced = bench_invoice_clone.unbalanced_moves(env, move_ids)
    if unbalanced:
        raise SystemExit(f"{unbalanced} cloned invoices do not balance")
    by_type = {}
    for row, move_id in zip(rest, move_ids, strict=True):
        kind = "out_invoice" if row["amount_total"] > 0 else "out_refund"
        kind += (
            "_structured" if (row["payment_reference"] or row["number"]) != row["number"] else ""
        )
        by_type.setdefault(kind, (row, move_id))
    for row, move_id in by_type.values():
        differences = bench_invoice_clone.compare_with_orm(
            env,
            lambda row=row: _orm_invoices(env, [row], partners, journal, currencies),
            env["account.move"].browse(move_id),
        )
        if differences:
            raise SystemExit(
                f"cloned invoice {row['number']} differs from the ORM's: {differences}"
            )
    checked = ", ".join(row["number"] for row, _move_id in by_type.values())
    log(f"  cloned invoices checked against the ORM's: {checked}")
    return moves | cloned


def import_statement(env, lines):
    """The statement lines as FinSync transactions, one CAMT.053 file per currency
    through FinSync's importer (not posted yet). Returns the transactions."""
    from odoo.addons.finsync_testing.tools.generate import Line, StatementSpec, camt053

    by_currency = defaultdict(list)
    for row in lines:
        by_currency[row["currency"] or env.company.currency_id.name].append(row)
    transactions = env["finsync.transaction"]
    importer = env["finsync.bank.importer"]
    backend = env["finsync.backend"]._get_bank_file_backend(env.company)
    for code, rows in by_currency.items():
        currency = _currency(env, code, code)
        _journal, number = _bank_journal(env, currency)
        spec = StatementSpec(
            account=number,
            currency=code,
            opening_balance=0,
            start=min(row["date"] for row in rows),
            end=max(row["date"] for row in rows),
            statement_id=f"BENCH-{code}-{uuid.uuid4().hex[:6]}",
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
        data = camt053(spec)
        event = env["finsync.event"]._ingest(
            backend, [{"payload": data, "filename": f"bench-{code}.xml", "event_type": "camt"}]
        )
        result = importer._parse_file(event.payload_filename, data)
        journals = importer._resolve_journals(event.payload_filename, result.statements)
        transactions |= importer._import_statements(event, result, journals)["transactions"]
    return transactions


def bench_rule(env):
    """The rule an implementation partner would set for this data: references,
    partial payments, one payment for several invoices, bank fees up to 5.00 to a
    bank charges account, a unique partner and amount reconciled. Write-offs up
    to those 5.00 are booked without approval (the company's threshold)."""
    company = env.company
    company.finsync_writeoff_threshold = 5.0
    env["finsync.match.rule"].search([("company_id", "=", company.id)]).active = False
    fees = env["account.account"].create(
        {
            "name": "Bank charges",
            "code": f"6{uuid.uuid4().int % 10**5:05d}",
            "account_type": "expense",
        }
    )
    return env["finsync.match.rule"].create(
        {
            "name": "Bench: references, partials, fees, unique partner and amount",
            "company_id": company.id,
            "match_reference": True,
            "match_partner_amount": True,
            "allow_many_items": True,
            "allow_partial": True,
            "auto_partner_amount": True,
            "amount_tolerance": 5.0,
            "writeoff_account_id": fees.id,
            "auto_reconcile": True,
        }
    )


# --- outcomes -----------------------------------------------------------------


def line_ids_by_statement_line(env):
    """{statement line id: data set line id} (the line id is the bank reference)."""
    env.cr.execute(
        """SELECT statement_line_id, bank_reference FROM finsync_transaction
            WHERE statement_line_id IS NOT NULL"""
    )
    return dict(env.cr.fetchall())


def reconciled_invoices(env, st_line_ids):
    """{statement line id: {invoice numbers (refs) reconciled with it}}."""
    env.flush_all()
    env.cr.execute(
        """
        SELECT st.id, inv.ref
          FROM account_bank_statement_line st
          JOIN account_move_line aml ON aml.move_id = st.move_id
          JOIN account_partial_reconcile part
            ON part.debit_move_id = aml.id OR part.credit_move_id = aml.id
          JOIN account_move_line other
            ON other.id = CASE WHEN part.debit_move_id = aml.id
                               THEN part.credit_move_id ELSE part.debit_move_id END
          JOIN account_move inv ON inv.id = other.move_id
         WHERE st.id = ANY(%s) AND inv.move_type IN ('out_invoice', 'out_refund')
        """,
        [list(st_line_ids)],
    )
    found = defaultdict(set)
    for st_id, ref in env.cr.fetchall():
        found[st_id].add(ref)
    return found


def finsync_outcomes(env, st_line_ids):
    """{data set line id: {"auto", "proposed", "exception"}} after FinSync's matching."""
    names = line_ids_by_statement_line(env)
    reconciled = reconciled_invoices(env, st_line_ids)
    outcomes = {}
    transactions = env["finsync.transaction"].search([("statement_line_id", "in", st_line_ids)])
    for tx in transactions:
        st_id = tx.statement_line_id.id
        auto = reconciled.get(st_id, set()) if tx.match_mode == "auto" else set()
        open_types = tx.exception_ids.filtered("is_open").mapped("exception_type")
        outcomes[names[st_id]] = {
            "auto": auto,
            "proposed": set(tx.proposed_line_ids.move_id.mapped("ref")),
            "exception": ";".join(sorted(set(open_types))),
        }
    return outcomes


def ledger_checks(env, st_line_ids):
    """(statement entries that do not balance, invoices paid beyond their total)."""
    env.flush_all()
    env.cr.execute(
        """
        SELECT count(*) FROM (
            SELECT aml.move_id FROM account_move_line aml
              JOIN account_bank_statement_line st ON st.move_id = aml.move_id
             WHERE st.id = ANY(%s)
             GROUP BY aml.move_id HAVING round(sum(aml.balance), 2) != 0) unbalanced
        """,
        [list(st_line_ids)],
    )
    unbalanced = env.cr.fetchone()[0]
    env.cr.execute(
        """
        SELECT count(*) FROM account_move_line aml
          JOIN account_move move ON move.id = aml.move_id
          JOIN account_account acc ON acc.id = aml.account_id
         WHERE move.move_type IN ('out_invoice', 'out_refund')
           AND acc.account_type = 'asset_receivable'
           AND sign(aml.amount_residual_currency) * sign(aml.amount_currency) < 0
        """
    )
    return unbalanced, env.cr.fetchone()[0]


# --- runs -----------------------------------------------------------------------


def post_lines(registry, tx_ids, chunk):
    """Post the statement lines as the posting jobs do; returns seconds."""
    started = time.perf_counter()
    for start in range(0, len(tx_ids), chunk):
        with registry.cursor() as cr:
            environment(cr)["finsync.transaction"].browse(
                tx_ids[start : start + chunk]
            )._post_statement_lines()
    return time.perf_counter() - started


def finsync_match(registry, st_line_ids, chunk, jobs, profile=None):
    """Match in chunks, one transaction each (``jobs``: through queue jobs); returns
    (seconds, SQL queries)."""
    from odoo.addons.queue_job.job import Job

    profiler = cProfile.Profile() if profile else None
    queries = 0
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    if jobs:
        # As in production: posting marked the lines for matching and queued one
        # job per journal, which takes the marked lines and queues the next job
        # for the rest. Run the queued jobs until none is left.
        lines_done = job_count = 0
        while True:
            with registry.cursor() as cr:
                env = environment(cr)
                jobs_left = env["queue.job"].search(
                    [
                        ("method_name", "=", "_match_journal_job"),
                        ("state", "in", ("pending", "enqueued")),
                    ],
                    order="id",
                    limit=1,
                )
                job_uuid = jobs_left.uuid
            if not job_uuid:
                break
            with registry.cursor() as cr:
                job = Job.load(environment(cr), job_uuid)
                job.set_started()
                job.store()
                job.perform()
                job.set_done()
                job.store()
                queries += cr.sql_log_count
                cr.execute(
                    "SELECT count(*) FROM account_bank_statement_line"
                    " WHERE id = ANY(%s) AND finsync_match_pending IS NOT TRUE",
                    [list(st_line_ids)],
                )
                lines_done = cr.fetchone()[0]
            job_count += 1
            progress(job_count, 0, lines_done, started)
    else:
        for done, start in enumerate(range(0, len(st_line_ids), chunk), start=1):
            with registry.cursor() as cr:
                env = environment(cr)
                env["finsync.matching"]._match_statement_lines(
                    env["account.bank.statement.line"].browse(st_line_ids[start : start + chunk])
                )
                queries += cr.sql_log_count
            progress(done, -(-len(st_line_ids) // chunk), start + chunk, started)
    elapsed = time.perf_counter() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    return elapsed, queries


def progress(done, total, lines, started):
    """One line per job or chunk (``total`` 0: a number of jobs not known in advance)."""
    if total != 1:
        elapsed = time.perf_counter() - started
        log(
            f"  job {done}{f'/{total}' if total else ''}: {lines} lines in {elapsed:.0f} s "
            f"({lines / elapsed:.1f} lines/s)"
        )


def oca_match(db, st_line_ids):
    """OCA's automatic reconciliation over the lines; returns (seconds, queries, outcomes)."""
    registry = Registry(db)
    with registry.cursor() as cr:
        env = environment(cr)
        lines = env["account.bank.statement.line"].browse(st_line_ids)
        started = time.perf_counter()
        lines._auto_reconcile()
        env.flush_all()
        elapsed = time.perf_counter() - started
        queries = cr.sql_log_count
    with registry.cursor() as cr:
        env = environment(cr)
        names = line_ids_by_statement_line(env)
        reconciled = reconciled_invoices(env, st_line_ids)
        models = env["account.reconcile.model"].search(
            [("company_id", "=", env.company.id), ("rule_type", "!=", "writeoff_button")]
        )
        outcomes = {}
        # What OCA would show as a suggestion on each line it left open (not timed).
        for line in env["account.bank.statement.line"].browse(st_line_ids):
            proposed = set()
            if not line.is_reconciled:
                result = models._apply_rules(line, line._retrieve_partner())
                proposed = set(result.get("amls", env["account.move.line"]).move_id.mapped("ref"))
            outcomes[names[line.id]] = {
                "auto": reconciled.get(line.id, set()),
                "proposed": proposed,
                "exception": "",
            }
        unbalanced, overpaid = ledger_checks(env, st_line_ids)
        cr.rollback()
    return elapsed, queries, outcomes, (unbalanced, overpaid)


def report(name, seconds, queries, scored, lines, extra=""):
    lps = lines / seconds if seconds else 0
    log(
        f"{name:8s} {lines} lines in {seconds:.1f} s = {lps:.1f} lines/s "
        f"({queries / max(lines, 1):.1f} queries/line); automatic reconciliations "
        f"{scored['auto']}, correct {scored['correct']}, proposals {scored['proposals']}, "
        f"exceptions {scored['exceptions']}; precision {scored['precision']}, "
        f"recall {scored['recall']}{extra}"
    )
    return lps


def bench_match(args):
    from odoo.addons.finsync_testing.tools.benchmark import (
        generate,
        read_dataset,
        score,
        write_dataset,
        write_matches,
    )

    if args.dataset:
        directory = args.dataset
        invoices, lines = read_dataset(directory)
    else:
        with Registry(args.template).cursor() as cr:
            currency = environment(cr).company.currency_id.name
        odoo.sql_db.close_db(args.template)
        directory = tempfile.mkdtemp(prefix=f"finsync-bench-match-{args.lines}-")
        invoices, lines = generate(args.lines, currency=currency)
        write_dataset(directory, invoices, lines)
        invoices, lines = read_dataset(directory)
    log(f"data set: {directory} ({len(invoices)} invoices, {len(lines)} statement lines)")
    count = len(lines)

    fresh_copy(args.template, args.db)
    registry = Registry(args.db)
    started = time.perf_counter()
    with registry.cursor() as cr:
        env = environment(cr)
        env["finsync.match.rule"].search([]).active = False  # posting without matching
        load_invoices(env, invoices, clone=args.clone)
        loaded = time.perf_counter()
        tx_ids = import_statement(env, lines).ids
    ingested = time.perf_counter()
    post_s = post_lines(registry, tx_ids, args.chunk)
    with registry.cursor() as cr:
        env = environment(cr)
        st_line_ids = env["finsync.transaction"].browse(tx_ids).statement_line_id.sorted("id").ids
        rule = bench_rule(env)
        log(f"rule: {rule.name}")
    log(
        f"loaded {len(invoices)} invoices in {loaded - started:.1f} s; statement imported in "
        f"{ingested - loaded:.1f} s, posted in {post_s:.1f} s ({count / post_s:.1f} lines/s)"
    )

    oca = None
    if count <= OCA_MAX_LINES and not args.no_oca:
        registry = None
        odoo.modules.registry.Registry.delete(args.db)
        fresh_copy(args.db, args.oca_db)
        install_oca(args.oca_db)
        oca = oca_match(args.oca_db, st_line_ids)
        odoo.modules.registry.Registry.delete(args.oca_db)
        odoo.sql_db.close_db(args.oca_db)

    registry = Registry(args.db)
    match_s, queries = finsync_match(registry, st_line_ids, args.chunk, args.jobs, args.profile)
    with registry.cursor() as cr:
        env = environment(cr)
        outcomes = finsync_outcomes(env, st_line_ids)
        unbalanced, overpaid = ledger_checks(env, st_line_ids)
    scored = score(lines, outcomes)
    matches = os.path.join(directory, "matches.csv")
    write_matches(matches, lines, outcomes)
    finsync_lps = report(
        "FinSync",
        match_s,
        queries,
        scored,
        count,
        f"; ledger: {unbalanced} unbalanced entries, {overpaid} invoices paid beyond total",
    )
    if scored["wrong"]:
        log(f"FinSync wrong automatic reconciliations: {', '.join(scored['wrong'][:20])}")
    log(f"matches: {matches}")
    oca_lps = oca_scored = None
    if oca:
        oca_s, oca_queries, oca_outcomes, (oca_unbalanced, oca_overpaid) = oca
        oca_scored = score(lines, oca_outcomes)
        write_matches(os.path.join(directory, "matches_oca.csv"), lines, oca_outcomes)
        oca_lps = report(
            "OCA",
            oca_s,
            oca_queries,
            oca_scored,
            count,
            f"; ledger: {oca_unbalanced} unbalanced entries, {oca_overpaid} invoices paid "
            "beyond total (OCA opens no exceptions)",
        )
    result = {
        "lines": count,
        "precision": scored["precision"],
        "recall": scored["recall"],
        "finsync_lps": round(finsync_lps, 1),
        "oca_lps": round(oca_lps, 1) if oca_lps else None,
        "ratio": round(finsync_lps / oca_lps, 1) if oca_lps else None,
        "finsync_minutes": round(match_s / 60, 2),
        "finsync_queries_per_line": round(queries / max(count, 1), 1),
        "oca_precision": oca_scored["precision"] if oca_scored else None,
        "oca_recall": oca_scored["recall"] if oca_scored else None,
        "jobs": args.jobs,
        "date": datetime.date.today().isoformat(),
    }
    log("RESULT " + json.dumps(result))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="setup/bench match")
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--dataset", help="directory with invoices.csv and statement.csv")
    parser.add_argument("--jobs", action="store_true", help="match through queue jobs")
    parser.add_argument("--chunk", type=int, default=CHUNK, help="lines per job")
    parser.add_argument("--no-oca", action="store_true", help="skip OCA's run")
    parser.add_argument(
        "--clone",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"clone invoices in SQL from {ORM_SEED} the ORM wrote (default: over {CLONE_FROM})",
    )
    parser.add_argument("--profile", help="write FinSync matching's cProfile stats here")
    parser.add_argument("--db", required=True)
    parser.add_argument("--oca-db", required=True)
    parser.add_argument("--template", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--data-dir")
    args = parser.parse_args(argv)
    options = ["-c", args.config] + (["--data-dir", args.data_dir] if args.data_dir else [])
    odoo.tools.config.parse_config(options)
    odoo.tools.config["list_db"] = True
    if args.dataset and not os.path.isdir(args.dataset):
        raise SystemExit(f"--dataset {args.dataset}: not a directory")
    bench_match(args)


if __name__ == "__main__":
    sys.exit(main())
