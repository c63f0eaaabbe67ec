"""Bulk INSERTs whose values must never reach the log.

Odoo's cursor logs a failed query with every parameter, and the bulk paths
carry labels, full account numbers and payloads. ``execute_bulk`` runs them
without that log; a failure becomes an error naming the batch, the constraint
and the column, never a value.
"""

import logging

import psycopg2
from psycopg2 import errorcodes

from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.transient import TRANSIENT_DB_ERRORS

_logger = logging.getLogger(__name__)

# Errors that mean "this transaction lost a race": the whole transaction must be
# retried by its caller (Odoo's request retry, queue_job's retry), never swallowed.
CONCURRENCY_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.DeadlockDetected,
    psycopg2.errors.LockNotAvailable,
)


def execute_bulk(env, batch, query, params=None, keep=()):
    """``env.cr.execute(query, params)`` for a bulk write named ``batch`` in errors.

    Lost races and timeouts (``TRANSIENT_DB_ERRORS``) propagate unchanged
    (the caller retries), and so do the error
    classes in ``keep`` (the caller handles them; their message must quote no
    row); any other database error is logged and raised as a ``UserError``
    with its code, constraint and column only.
    """
    try:
        env.cr.execute(query, params, log_exceptions=False)
    except (*TRANSIENT_DB_ERRORS, *keep):
        raise
    except psycopg2.Error as err:
        diag = err.diag
        problem = ", ".join(
            part
            for part in (
                errorcodes.lookup(err.pgcode) if err.pgcode else type(err).__name__,
                diag.table_name,
                diag.constraint_name,
                diag.column_name,
            )
            if part
        )
        _logger.warning("FinSync bulk write failed: %s (%s)", batch, problem)
        # from None: psycopg2's message quotes the failing row, values included.
        raise UserError(
            env._("%(batch)s could not be stored: %(problem)s", batch=batch, problem=problem)
        ) from None


def next_ids(env, table, count):
    """``count`` new ids of ``table``, taken from its sequence as an INSERT would."""
    env.cr.execute(SQL("SELECT nextval(%s) FROM generate_series(1, %s)", f"{table}_id_seq", count))
    return [row[0] for row in env.cr.fetchall()]


def insert_rows(env, batch, table, rows, keep=()):
    """One INSERT of ``rows`` (dicts with the same keys) into ``table``, via ``execute_bulk``."""
    columns = list(rows[0])
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    execute_bulk(
        env,
        batch,
        SQL(
            "INSERT INTO %s (%s) VALUES %s",
            SQL.identifier(table),
            SQL(", ").join(SQL.identifier(column) for column in columns),
            SQL(", ").join(SQL(placeholder, *row.values()) for row in rows),
        ),
        keep=keep,
    )


def addon_of(python_module):
    """The addon a Python module belongs to ("base" for the ORM itself)."""
    if python_module.startswith("odoo.addons."):
        return python_module.split(".")[2]
    if python_module == "odoo" or python_module.startswith("odoo."):
        return "base"
    return python_module


def foreign_overrides(env, replaced_methods, known_modules, known_overrides=frozenset()):
    """``{module: ["model.method", ...]}``: the modules outside ``known_modules`` that
    define a method of ``replaced_methods`` (``{model: (method, ...)}``) in the
    registry's classes, but for the single ``(module, "model.method")`` pairs of
    ``known_overrides``.

    A set-based path that writes rows itself reproduces what the known modules'
    versions of those methods do; another module's override would be skipped,
    so the caller goes through the ORM when this is not empty. The registry's
    class of a model inherits every module's class of it: each class of its MRO
    that defines the method is one override, and the function's module names
    the addon it comes from.
    """
    foreign = {}
    for model, methods in replaced_methods.items():
        for klass in type(env[model]).__mro__:
            for name in methods:
                func = klass.__dict__.get(name)
                if func is None:
                    continue
                module = addon_of(getattr(func, "__module__", None) or klass.__module__)
                if module not in known_modules and (
                    (module, f"{model}.{name}") not in known_overrides
                ):
                    foreign.setdefault(module, []).append(f"{model}.{name}")
    return foreign


# Columns the ORM fills itself on every INSERT.
MAGIC_COLUMNS = frozenset({"id", "create_uid", "create_date", "write_uid", "write_date"})


def plain_defaults(model, written):
    """The defaults of ``model``'s stored plain fields a set-based INSERT does not write
    (``written``), as column values, the way ``create`` would store them."""
    names = [
        name
        for name, field in model._fields.items()
        if field.store
        and field.column_type
        and not field.compute
        and not field.related
        and name not in written
        and name not in MAGIC_COLUMNS
        and field.default
    ]
    defaults = model.default_get(names) if names else {}
    return {
        name: model._fields[name].convert_to_column(defaults[name], model)
        for name in names
        if name in defaults
    }


def left_to_compute(model, written):
    """``model``'s stored computed or related columns that a set-based INSERT does not
    write (``written``): their compute methods fill them after it."""
    return sorted(
        name
        for name, field in model._fields.items()
        if field.store
        and field.column_type
        and (field.compute or field.related)
        and name not in written
        and name not in MAGIC_COLUMNS
    )
