"""``setup/bench crm``: a Salesforce org loaded into Odoo, then 1,000 changes, then write-back.

Starts the Salesforce simulator (``finsync_testing/tools/salesforce_simulator.py``)
in this process on 127.0.0.1 with ``--accounts N`` accounts (distinct names,
as real ones are), 2 contacts each and N/4 won opportunities of 1 or 2 line
items on products the bench database holds, stamped a day ago (an org's
existing data); creates a fresh Salesforce
connector (client credentials flow, Bulk API 2.0 from ``--bulk-threshold``
records) and pulls, in this process, the way the pull job does:

1. initial load: every Account, Contact, OpportunityLineItem and Opportunity
   through Bulk 2.0 query jobs, partners and contacts created, won deals
   billed as draft invoices; committed;
2. ``--changes`` changes in Salesforce (phones of accounts, titles of
   contacts, quantities of won deals' lines, new contacts), then incremental
   pulls (SOQL from the watermark) until every change is visible in Odoo;
3. every won deal's invoice posted: the outbox's ``invoice.posted`` deliveries
   to the write-back consumer run (rounds, as the delivery job does) and the
   simulator counts the PATCHes per opportunity.

The ORM baseline: a plain ``res.partner`` ``create(vals_list)`` of the same
accounts and their contacts in the same run (rolled back, then ``res_partner``
vacuumed so that the timed load does not meet the baseline's dead rows).

Prints ``RESULT {"records", "records_per_s", "orm_baseline_per_s", "lost",
"duplicates", "incremental_s", "writebacks", "writeback_duplicates", ...}``:
``records`` Salesforce records of the initial load, ``records_per_s`` of the
initial load end to end (simulator to committed partners and invoices),
``lost`` accounts, contacts or won deals without their Odoo record, plus
changes not visible after the incremental pulls, ``duplicates`` partners or
invoices made twice, ``incremental_s`` the time from the changes to all of
them visible, ``writebacks`` opportunities written back, and
``writeback_duplicates`` PATCHes beyond one per opportunity. Exit code 0 when
nothing was lost or duplicated.
"""

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "setup"))
from bench_webhooks import load, odoo_env  # noqa: E402

CLIENT_ID = "3MVG9FinSyncBenchConsumerKey"
CLIENT_SECRET = "finsync-bench-consumer-secret"
PRODUCTS = ("BENCH-LICENCE", "BENCH-SUPPORT")
LETTERS = "abcdefghijklmnopqrstuvwxyz"
SUFFIXES = ("Industries", "Trading", "Consulting", "Logistics", "Foods", "Systems")


def company_name(index, offset):
    """A distinct, ordinary-looking company name (6 letters from a permutation, a suffix)."""
    number = (index + offset) * 7919 % (26**6)
    letters = []
    for _ in range(6):
        number, rest = divmod(number, 26)
        letters.append(LETTERS[rest])
    return f"{''.join(letters).capitalize()} {SUFFIXES[index % len(SUFFIXES)]}"


def fill(sim, accounts, offset, rng):
    """N accounts, 2 contacts each, N/4 won opportunities with their line items."""
    account_ids = []
    for index in range(accounts):
        account = sim.add_account(
            company_name(index, offset),
            BillingStreet=f"{index + 1} Market Street",
            BillingCity="Brussels",
            BillingPostalCode="1000",
            BillingCountry="Belgium",
            Phone=f"+32 2 {index:07d}",
        )
        account_ids.append(account["Id"])
        for first, title in (("Ann", "CFO"), ("Bob", "Buyer")):
            sim.add_contact(
                account["Id"],
                first,
                f"Contact{index}",
                Email=f"{first.lower()}.{index}.{offset}@example.com",
                Title=title,
            )
    deals = []
    for index in range(accounts // 4):
        account_id = account_ids[index * 4]
        opp = sim.add_opportunity(account_id, f"Deal {index}", stage="Closed Won", IsWon=True)
        for code in PRODUCTS[: 1 + index % 2]:
            sim.add_line_item(opp["Id"], code, rng.randint(1, 5), float(rng.randint(50, 500)))
        deals.append(opp["Id"])
    backdate(sim)
    return account_ids, deals


def backdate(sim):
    """Stamp the org's records a day ago, 1 ms apart, as an org's existing data is: the
    incremental pulls' overlap window (5 minutes) then reads the changes, not the org."""
    from odoo.addons.finsync_testing.tools.salesforce_simulator import stamp

    moment = datetime.now(UTC) - timedelta(days=1)
    for table in sim.records.values():
        for record in table.values():
            moment += timedelta(milliseconds=1)
            record["SystemModstamp"] = stamp(moment)


def prepare(env, sim_url, offset, bulk_threshold):
    """Products and a fresh connector (its own bindings) on the main company."""
    Product = env["product.product"]
    for code in PRODUCTS:
        if not Product.search_count([("default_code", "=", code)]):
            Product.create({"name": code.title(), "default_code": code, "list_price": 100.0})
    backend = env["finsync.backend"].create(
        {
            "name": f"Salesforce bench {offset}",
            "backend_type": "salesforce",
            "company_id": env.company.id,
            "crm_auth_flow": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "api_url": sim_url,
            "crm_bulk_threshold": bulk_threshold,
            "sync_policy": "manual",
            "crm_billing_document": "invoice",  # measured: draft invoices, also with Sales
        }
    )
    return backend.id


def orm_baseline(env, accounts, offset):
    """Partners per second of a plain ``create(vals_list)`` of the same partners (rolled back)."""
    country = env.ref("base.be").id
    started = time.perf_counter()
    with env.cr.savepoint(flush=False) as savepoint:
        companies = env["res.partner"].create(
            [
                {
                    "name": company_name(index, offset) + " baseline",
                    "is_company": True,
                    "street": f"{index + 1} Market Street",
                    "city": "Brussels",
                    "zip": "1000",
                    "country_id": country,
                    "phone": f"+32 2 {index:07d}",
                    "company_id": env.company.id,
                }
                for index in range(accounts)
            ]
        )
        env["res.partner"].create(
            [
                {
                    "type": "contact",
                    "parent_id": company.id,
                    "name": f"{first} Contact{index}",
                    "email": f"{first.lower()}.{index}.{offset}@baseline.example.com",
                    "function": title,
                }
                for index, company in enumerate(companies)
                for first, title in (("Ann", "CFO"), ("Bob", "Buyer"))
            ]
        )
        env.flush_all()
        elapsed = time.perf_counter() - started
        savepoint.rollback()
    env.invalidate_all()
    return 3 * accounts / elapsed


def vacuum_partners(dbname):
    """Clear what the rolled-back baseline left in ``res_partner`` before the timed load.

    The baseline's partners are rolled back, but their dead rows and index entries stay
    until autovacuum reaches them, which it does in the middle of the load (a 20,000 run
    saw its contact pages grow from 4.5 s to 12.6 s; without the baseline they stay at
    2.6 s). No organisation's first sync meets 60,000 freshly rolled-back partners.
    """
    import psycopg2

    from odoo.sql_db import connection_info_for

    _db, info = connection_info_for(dbname)
    connection = psycopg2.connect(**info)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE res_partner")
    finally:
        connection.close()


def pull(registry, environment, backend_id):
    with registry.cursor() as cr:
        env = environment(cr)
        message = env["finsync.backend"].browse(backend_id)._pull_job()
        cr.commit()
    return message


def counts(registry, environment, backend_id):
    with registry.cursor() as cr:
        cr.execute(
            """
            SELECT b.sf_object, count(*), count(b.partner_id), count(DISTINCT b.partner_id)
              FROM finsync_crm_binding b WHERE b.backend_id = %s GROUP BY b.sf_object
            """,
            [backend_id],
        )
        bound = {row[0]: row[1:] for row in cr.fetchall()}
        cr.execute(
            "SELECT count(*), count(move_id), count(DISTINCT move_id) FROM finsync_crm_deal "
            "WHERE backend_id = %s AND state = 'billed'",
            [backend_id],
        )
        billed = cr.fetchone()
    return bound, billed


def visible(registry, environment, backend_id, expected):
    """How many of the changed values Odoo shows (phones, titles, quantities)."""
    with registry.cursor() as cr:
        cr.execute(
            """
            SELECT b.sf_id, p.phone, p.function FROM finsync_crm_binding b
              JOIN res_partner p ON p.id = b.partner_id
             WHERE b.backend_id = %s AND b.sf_id = ANY(%s)
            """,
            [backend_id, [sf_id for kind, sf_id, _v in expected if kind != "line"]],
        )
        partners = {sf_id: (phone, function) for sf_id, phone, function in cr.fetchall()}
        cr.execute(
            "SELECT d.lines FROM finsync_crm_deal d WHERE d.backend_id = %s",
            [backend_id],
        )
        quantities = {}
        for (lines,) in cr.fetchall():
            for line_id, line in (lines or {}).items():
                quantities[line_id] = line["quantity"]
    seen = 0
    for kind, sf_id, value in expected:
        if kind == "phone":
            seen += partners.get(sf_id, (None, None))[0] == value
        elif kind == "title":
            seen += partners.get(sf_id, (None, None))[1] == value
        else:
            seen += quantities.get(sf_id) == value
    return seen


def change(sim, changes, account_ids, rng):
    """``changes`` edits in Salesforce: (kind, Id, new value) of each."""
    contacts = list(sim.records["Contact"])
    lines = list(sim.records["OpportunityLineItem"])
    expected = []
    for index in range(changes):
        roll = index % 3
        if roll == 0:
            sf_id = rng.choice(account_ids)
            value = f"+32 3 {index:07d}"
            sim.update("Account", sf_id, Phone=value)
            expected.append(("phone", sf_id, value))
        elif roll == 1:
            sf_id = rng.choice(contacts)
            value = f"Title {index}"
            sim.update("Contact", sf_id, Title=value)
            expected.append(("title", sf_id, value))
        else:
            sf_id = rng.choice(lines)
            value = float(100 + index)
            sim.update("OpportunityLineItem", sf_id, Quantity=value)
            expected.append(("line", sf_id, value))
    # The same record changed twice: only its last value counts.
    last = {}
    for kind, sf_id, value in expected:
        last[(kind, sf_id)] = value
    return [(kind, sf_id, value) for (kind, sf_id), value in last.items()]


def write_back(registry, environment, backend_id):
    """Post every billed invoice of the connector, then deliver to the write-back consumer."""
    with registry.cursor() as cr:
        env = environment(cr)
        deals = env["finsync.crm.deal"].search([("backend_id", "=", backend_id)])
        moves = deals.move_id.filtered(lambda m: m.state == "draft")
        for start in range(0, len(moves), 500):
            moves[start : start + 500].action_post()
        cr.commit()
    Delivery = None
    rounds = 0
    while True:
        with registry.cursor() as cr:
            Delivery = environment(cr)["finsync.outbox.delivery"]
            sent = Delivery._deliver_round("consumer:crm_writeback", schedule=False)
            cr.commit()
        rounds += 1
        if not sent:
            return rounds


def run(args):
    from odoo.addons.finsync_testing.tools.salesforce_simulator import SalesforceSimulator

    rng = random.Random(args.seed)
    offset = random.SystemRandom().randrange(26**6)  # names of another run never collide
    sim = SalesforceSimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, port=args.sim_port)
    account_ids, deals = fill(sim, args.accounts, offset, rng)
    records = sum(len(table) for table in sim.records.values())
    sim.start()
    registry, environment = odoo_env(args.db, args.config)
    try:
        with registry.cursor() as cr:
            env = environment(cr)
            baseline = orm_baseline(env, args.accounts, offset)
            backend_id = prepare(env, sim.url, offset, args.bulk_threshold)
            cr.commit()
        vacuum_partners(args.db)
        print(
            f"finsync: {args.accounts} accounts, {2 * args.accounts} contacts, {len(deals)} won "
            f"deals ({records} records); ORM baseline {baseline:.0f} partners/s; load {load()}",
            file=sys.stderr,
        )
        started = time.perf_counter()
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            message = profiler.runcall(pull, registry, environment, backend_id)
            profiler.dump_stats(args.profile)
        else:
            message = pull(registry, environment, backend_id)
        initial_s = time.perf_counter() - started
        print(f"finsync: initial load {initial_s:.1f} s: {message}", file=sys.stderr)
        bulk_jobs = sum(1 for method, path, _q in sim.requests if path.endswith("/jobs/query"))
        bound, billed = counts(registry, environment, backend_id)
        expected = change(sim, args.changes, account_ids, rng)
        changed_at = time.perf_counter()
        seen, pulls = 0, 0
        while seen < len(expected) and pulls < args.max_pulls:
            pulled_at = time.perf_counter()
            pull(registry, environment, backend_id)
            pulls += 1
            seen = visible(registry, environment, backend_id, expected)
            print(
                f"finsync: incremental pull {pulls}: {seen} of {len(expected)} changes visible, "
                f"pull {time.perf_counter() - pulled_at:.1f} s, since the changes "
                f"{time.perf_counter() - changed_at:.1f} s",
                file=sys.stderr,
            )
        incremental_s = time.perf_counter() - changed_at
        rounds = write_back(registry, environment, backend_id)
    finally:
        sim.stop()
    patched = [record_id for sobject, record_id, _b in sim.patches if sobject == "Opportunity"]
    accounts_bound = bound.get("Account", (0, 0, 0))
    contacts_bound = bound.get("Contact", (0, 0, 0))
    lost = (
        (args.accounts - accounts_bound[1])
        + (2 * args.accounts - contacts_bound[1])
        + (len(deals) - billed[1])
        + (len(expected) - seen)
    )
    duplicates = (
        (accounts_bound[1] - accounts_bound[2])
        + (contacts_bound[1] - contacts_bound[2])
        + (billed[1] - billed[2])
    )
    result = {
        "records": records,
        "records_per_s": round(records / initial_s, 1),
        "orm_baseline_per_s": round(baseline, 1),
        "lost": lost,
        "duplicates": duplicates,
        "incremental_s": round(incremental_s, 1),
        "writebacks": len(set(patched)),
        "writeback_duplicates": len(patched) - len(set(patched)),
        "accounts": args.accounts,
        "initial_s": round(initial_s, 1),
        "bulk_jobs": bulk_jobs,
        "changes": args.changes,
        "changes_visible": seen,
        "incremental_pulls": pulls,
        "writeback_rounds": rounds,
        "speedup_vs_orm": round(records / initial_s / baseline, 2),
    }
    print("RESULT " + json.dumps(result, sort_keys=True))
    return 0 if not lost and not duplicates and not result["writeback_duplicates"] else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--bulk-threshold", type=int, default=100)
    parser.add_argument("--profile", help="write a cProfile of the initial load to this file")
    parser.add_argument("--max-pulls", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--sim-port", type=int, default=0, help="the simulator's port (0: any)")
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--data-dir")
    args = parser.parse_args()
    sys.exit(run(args))


if __name__ == "__main__":
    main()
