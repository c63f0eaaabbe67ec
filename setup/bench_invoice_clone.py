"""Bench-only loader: many posted customer invoices, cloned set-based in SQL.

Benchmark tooling, not product code. Odoo's ORM creates and posts 10-40 invoices a
second here, so 100,000 open invoices took hours. ``clone_invoices`` instead
takes one posted invoice the ORM wrote (a *template* per move type) and copies
its ``account_move`` row and its ``account_move_line`` rows for every data set
row in two ``INSERT ... SELECT`` statements, replacing what differs from one
invoice to the next:

- names continuing the journal's sequence (``BSAL/2026/00501``, ...), with their
  ``sequence_prefix`` and ``sequence_number``;
- the data set's number as ``ref`` and the product line's label, its payment
  reference as ``payment_reference`` and the receivable line's label;
- the partner wherever the template names its partner, and its display name;
- the invoice date as ``date`` and ``invoice_date``, the due date as
  ``invoice_date_due`` and the receivable line's ``date_maturity``;
- every monetary column (and ``price_unit``): the template's sign times the
  invoice's amount. That is exact only for invoices without taxes in the
  company's currency, where every non-zero amount of the entry is its total:
  ``clone_invoices`` checks it on the template and refuses otherwise.

Everything else (accounts, journal, company, states, ``payment_state``,
``parent_state``, flags) is the template's. ``compare_with_orm`` proves the
result: it creates the same invoice through the ORM in a savepoint and compares
both entries column by column; ``unbalanced_moves`` checks that every entry
balances. What the clone does not copy: chatter (followers, messages), which
matching never reads.
"""

from psycopg2.extras import execute_values

# Columns that hold ids or the moment of writing, not values a user sees.
SKIPPED = {"id", "create_uid", "create_date", "write_uid", "write_date"}
# Columns a clone sets from the data set (account_move / account_move_line).
MOVE_COLUMNS = {
    "name": "s.name",
    "sequence_prefix": "s.sequence_prefix",
    "sequence_number": "s.sequence_number",
    "ref": "s.ref",
    "payment_reference": "s.payment_reference",
    "date": "s.invoice_date",
    "invoice_date": "s.invoice_date",
    "invoice_date_due": "s.due_date",
    "invoice_partner_display_name": "s.partner_name",
}
LINE_COLUMNS = {
    "move_id": "s.move_id",
    "move_name": "s.name",
    "ref": "s.ref",
    "date": "s.invoice_date",
    "invoice_date": "s.invoice_date",
    "date_maturity": "CASE WHEN t.date_maturity IS NULL THEN NULL ELSE s.due_date END",
    # As Odoo's AccountMoveLine._compute_name for one payment term line.
    "name": "CASE WHEN t.display_type = 'payment_term' THEN "
    "CASE WHEN s.payment_reference != s.ref THEN s.ref || ' - ' || s.payment_reference "
    "ELSE s.payment_reference END "
    "WHEN t.display_type = 'product' THEN s.ref ELSE t.name END",
}


def _monetary_columns(env, model):
    fields = env[model]._fields
    return {
        name
        for name, field in fields.items()
        if field.store and field.column_type and (field.type == "monetary" or name == "price_unit")
    }


def _partner_columns(env, model):
    return {
        name
        for name, field in env[model]._fields.items()
        if field.store and field.type == "many2one" and field.comodel_name == "res.partner"
    }


def _columns(cr, table):
    cr.execute(
        """SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position""",
        [table],
    )
    return [name for (name,) in cr.fetchall() if name != "id"]


def _select_list(columns, fixed, monetary, partners):
    exprs = []
    for column in columns:
        if column in fixed:
            exprs.append(fixed[column])
        elif column in monetary:
            exprs.append(
                f'CASE WHEN t."{column}" = 0 THEN t."{column}" '
                f'ELSE sign(t."{column}") * s.amount END'
            )
        elif column in partners:
            exprs.append(
                f'CASE WHEN t."{column}" = s.tpl_partner_id THEN s.partner_id ELSE t."{column}" END'
            )
        elif column in ("create_date", "write_date"):
            exprs.append("now() AT TIME ZONE 'UTC'")
        else:
            exprs.append(f't."{column}"')
    return ", ".join(f'"{c}"' for c in columns), ", ".join(exprs)


def check_template(env, move):
    """Why ``move`` cannot be cloned by scaling its amounts, or ``None``."""
    if move.state != "posted" or move.move_type not in ("out_invoice", "out_refund"):
        return f"{move.name} is not a posted customer invoice or credit note"
    if move.currency_id != move.company_id.currency_id:
        return f"{move.name} is not in the company's currency"
    total = abs(move.amount_total)
    for model, records in (("account.move", move), ("account.move.line", move.line_ids)):
        monetary = _monetary_columns(env, model)
        for record in records:
            for name in monetary:
                value = record[name]
                if value and move.currency_id.compare_amounts(abs(value), total):
                    return f"{move.name}: {model} {name} is {value}, not ±{total}"
        for name, field in env[model]._fields.items():
            if field.type == "many2many" and field.store and records.mapped(name):
                return f"{move.name}: {model} {name} is set (not cloned)"
    if len(move.line_ids.filtered(lambda aml: aml.display_type == "payment_term")) != 1:
        return f"{move.name}: not one receivable line"
    if move.invoice_payment_term_id:
        return f"{move.name} has payment terms"
    return None


def _next_numbers(cr, journal, template, rows):
    """(name, prefix, number) per row, continuing ``journal``'s sequence per year.

    The template's name tells the format: its prefix (holding its year) and the
    width of its number.
    """
    prefix = template.sequence_prefix
    width = len(template.name) - len(prefix)
    year = str(template.date.year)
    if template.name != f"{prefix}{template.sequence_number:0{width}d}" or year not in prefix:
        raise SystemExit(f"cannot continue the sequence of {template.name} ({prefix!r})")
    prefixes = {prefix.replace(year, str(row["invoice_date"].year)) for row in rows}
    cr.execute(
        """SELECT sequence_prefix, max(sequence_number) FROM account_move
            WHERE journal_id = %s AND sequence_prefix = ANY(%s) GROUP BY sequence_prefix""",
        [journal.id, list(prefixes)],
    )
    last = dict(cr.fetchall())
    numbers = []
    for row in rows:
        row_prefix = prefix.replace(year, str(row["invoice_date"].year))
        last[row_prefix] = last.get(row_prefix, 0) + 1
        number = last[row_prefix]
        numbers.append((f"{row_prefix}{number:0{width}d}", row_prefix, number))
    return numbers


def clone_invoices(env, templates, rows, partners):
    """Posted invoices for ``rows`` (data set rows), cloned from ``templates``.

    ``templates``: {move type: a posted invoice written by the ORM} (see
    ``check_template``); ``partners``: {partner name: res.partner}. Returns the
    new moves' ids, in the rows' order.
    """
    cr = env.cr
    env.flush_all()
    for move in templates.values():
        reason = check_template(env, move)
        if reason:
            raise SystemExit(f"cannot clone invoices: {reason}")
    journal = next(iter(templates.values())).journal_id
    # Credit notes may have a sequence of their own (``RBSAL/``): numbered per template.
    kinds = ["out_invoice" if row["amount_total"] > 0 else "out_refund" for row in rows]
    numbers = [None] * len(rows)
    for move_type, template in templates.items():
        positions = [i for i, kind in enumerate(kinds) if kind == move_type]
        named = _next_numbers(cr, journal, template, [rows[i] for i in positions])
        for i, name in zip(positions, named, strict=True):
            numbers[i] = name
    if None in numbers:
        raise SystemExit("cannot clone invoices: no template for credit notes")
    cr.execute(
        """CREATE TEMP TABLE bench_clone_src (
               k int, tpl_id int, tpl_partner_id int, partner_id int, partner_name varchar,
               name varchar, sequence_prefix varchar, sequence_number int, ref varchar,
               payment_reference varchar, invoice_date date, due_date date, amount numeric,
               move_id int) ON COMMIT DROP"""
    )
    values = []
    for k, (row, (name, prefix, number)) in enumerate(zip(rows, numbers, strict=True)):
        template = templates[kinds[k]]
        partner = partners[row["partner"]]
        values.append(
            (
                k,
                template.id,
                template.partner_id.id,
                partner.id,
                partner.display_name,
                name,
                prefix,
                number,
                row["number"],
                row["payment_reference"] or row["number"],
                row["invoice_date"],
                row["due_date"] or row["invoice_date"],
                abs(row["amount_total"]),
            )
        )
    execute_values(
        cr._obj,
        """INSERT INTO bench_clone_src (k, tpl_id, tpl_partner_id, partner_id, partner_name,
               name, sequence_prefix, sequence_number, ref, payment_reference, invoice_date,
               due_date, amount) VALUES %s""",
        values,
        page_size=5000,
    )
    columns, exprs = _select_list(
        _columns(cr, "account_move"),
        MOVE_COLUMNS,
        _monetary_columns(env, "account.move"),
        _partner_columns(env, "account.move"),
    )
    cr.execute(
        f"""INSERT INTO account_move ({columns})
            SELECT {exprs} FROM bench_clone_src s JOIN account_move t ON t.id = s.tpl_id
             ORDER BY s.k"""
    )
    cr.execute(
        """UPDATE bench_clone_src s SET move_id = m.id FROM account_move m
            WHERE m.journal_id = %s AND m.name = s.name AND m.state = 'posted'""",
        [journal.id],
    )
    columns, exprs = _select_list(
        _columns(cr, "account_move_line"),
        LINE_COLUMNS,
        _monetary_columns(env, "account.move.line"),
        _partner_columns(env, "account.move.line"),
    )
    cr.execute(
        f"""INSERT INTO account_move_line ({columns})
            SELECT {exprs} FROM bench_clone_src s JOIN account_move_line t ON t.move_id = s.tpl_id
             ORDER BY s.k, t.id"""
    )
    cr.execute("SELECT move_id FROM bench_clone_src ORDER BY k")
    move_ids = [move_id for (move_id,) in cr.fetchall()]
    cr.execute("DROP TABLE bench_clone_src")
    env.invalidate_all()
    if None in move_ids or len(set(move_ids)) != len(rows):
        raise SystemExit("cloning invoices: a cloned entry was not found by its name")
    return move_ids


def unbalanced_moves(env, move_ids):
    """How many of the moves do not balance, or whose receivable line is not their total."""
    env.cr.execute(
        """
        SELECT count(*) FROM (
            SELECT m.id FROM account_move m
              JOIN account_move_line l ON l.move_id = m.id
             WHERE m.id = ANY(%s)
             GROUP BY m.id, m.amount_total_signed
            HAVING sum(l.balance) != 0 OR sum(l.debit) != sum(l.credit)
                OR sum(l.balance) FILTER (WHERE l.display_type = 'payment_term')
                   != m.amount_total_signed) bad
        """,
        [list(move_ids)],
    )
    return env.cr.fetchone()[0]


def _row_values(env, table, ids):
    env.cr.execute(f"SELECT * FROM {table} WHERE id = ANY(%s) ORDER BY id", [list(ids)])
    names = [column.name for column in env.cr.description]
    return [dict(zip(names, row, strict=True)) for row in env.cr.fetchall()]


def snapshot(env, move):
    """The stored columns of ``move`` and its lines (by display type), without
    ids, moments of writing, the move's own id in its lines, and its sequence."""
    env.flush_all()
    (head,) = _row_values(env, "account_move", move.ids)
    for column in (*SKIPPED, "name", "sequence_number"):
        head.pop(column, None)
    lines = {}
    for row in _row_values(env, "account_move_line", move.line_ids.ids):
        for column in (*SKIPPED, "move_id", "move_name"):
            row.pop(column, None)
        lines[row["display_type"]] = row
    return {"account_move": head, "account_move_line": lines}


class _Rollback(Exception):
    pass


def compare_with_orm(env, create_orm, move):
    """Differences between the cloned ``move`` and the same invoice written by the
    ORM (``create_orm()``, in a savepoint rolled back afterwards): a list of
    ``(table, display type, column, clone value, ORM value)``, empty when equal."""
    cloned = snapshot(env, move)
    try:
        with env.cr.savepoint():
            orm = snapshot(env, create_orm())
            raise _Rollback
    except _Rollback:
        pass
    env.cr.precommit.data.pop("sequence.mixin", None)
    env.invalidate_all()
    differences = []
    for column, value in cloned["account_move"].items():
        if orm["account_move"].get(column) != value:
            differences.append(("account_move", "", column, value, orm["account_move"][column]))
    if set(cloned["account_move_line"]) != set(orm["account_move_line"]):
        differences.append(
            ("account_move_line", "", "display_type", sorted(cloned["account_move_line"]), None)
        )
    for kind, row in cloned["account_move_line"].items():
        other = orm["account_move_line"].get(kind, {})
        for column, value in row.items():
            if other.get(column) != value:
                differences.append(("account_move_line", kind, column, value, other.get(column)))
    return differences
