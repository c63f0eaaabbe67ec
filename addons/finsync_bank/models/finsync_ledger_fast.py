"""The ledger's set-based path for the common reconciliation: one bank line pays
exactly the open residual of one receivable or payable item, all in the
company's currency.

For such an entry Odoo's outcome is fully determined: the statement entry's
suspense item becomes the counterpart (same balance, the item's account and
partner, the line's label), one partial reconcile of the whole residual, one
full reconcile, both items with nothing left and the full reconcile's number
as matching number. Through the ORM that costs about 8 ms a line (creating the
counterpart, the partial, the full reconcile, each flushed on its own); here
it is a few statements for the whole batch. What depends on the written
columns (the invoices' residual and payment state, the statement lines'
reconciled flag, any other module's stored field) is recomputed by the ORM,
as after its own writes (``modified``), and Odoo's checks run on the
counterparts as its ``create`` runs them (lock dates, the account allowed in
the journal, companies). Odoo's paid hook runs for the invoices that became
paid.

Any other entry, and every entry when another module overrides a method this
path replaces (``FAST_REPLACED_METHODS``) or when the outcome needs more than
these rows (cash basis taxes, analytic distribution models, hashed journals,
payments waiting for their match), goes through the ORM. A test reconciles
the same situations through both paths and compares every stored column.
"""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.finsync_base.models.bulk_sql import execute_bulk, foreign_overrides, next_ids

_logger = logging.getLogger(__name__)

# The methods whose effect the fast path reproduces, per model: another module's
# override of one of them would be skipped by the SQL statements.
FAST_REPLACED_METHODS = {
    "account.move.line": (
        "create",
        "unlink",
        "write",
        "reconcile",
        "_reconcile_plan",
        "_reconcile_plan_with_sync",
        "_prepare_reconciliation_plan",
        "_create_reconciliation_partials",
        "_compute_amount_residual",
        "_reconcile_pre_hook",
        "_reconcile_post_hook",
    ),
    "account.partial.reconcile": ("create", "_update_matching_number"),
    "account.full.reconcile": ("create",),
    "account.move": ("_compute_amount",),
}
# Modules whose versions of those methods the fast path reproduces ("base" is the ORM).
FAST_KNOWN_MODULES = frozenset({"base", "account", "mail", "analytic"})
# Columns of the items the fast path writes (besides the counterpart's account,
# partner and label), whose dependents the ORM is told about.
RECONCILED_FIELDS = [
    "amount_residual",
    "amount_residual_currency",
    "reconciled",
    "full_reconcile_id",
    "matching_number",
]
COUNTERPART_FIELDS = ["account_id", "partner_id", "name"]


class FinsyncLedger(models.AbstractModel):
    """Reconciles the common entries set-based (see the module docstring)."""

    _inherit = "finsync.ledger"

    # ------------------------------------------------------------------
    # Which entries
    # ------------------------------------------------------------------
    @api.model
    def _fast_entries(self, entries):
        """``(fast, other)``: ``fast`` is ``[(entry, item, suspense line)]`` for the
        entries the fast path writes, ``other`` the entries left to the ORM."""
        if not entries or self._fast_refusal(entries):
            return [], entries
        items = self.env["account.move.line"].union(
            *(item for entry in entries for item, _amount in entry["allocations"])
        )
        # What the eligibility reads, once for all entries.
        items.mapped("matched_debit_ids")
        items.mapped("matched_credit_ids")
        items.move_id.mapped("matched_payment_ids")
        items.account_id.mapped("reconcile")
        fast, other, taken = [], [], set()
        for entry in entries:
            pair = self._fast_pair(entry)
            if pair and pair[0].id not in taken:
                taken.add(pair[0].id)
                fast.append((entry, *pair))
            else:
                other.append(entry)
        return fast, other

    @api.model
    def _fast_refusal(self, entries):
        """Why no entry of this batch may take the fast path (a sentence), or None."""
        if self.env.context.get("finsync_ledger_orm"):
            return "the ORM path asked for"
        foreign = self._fast_foreign_overrides()
        if foreign:
            return "methods overridden by " + ", ".join(sorted(foreign))
        st_lines = self.env["account.bank.statement.line"].union(*(e["st_line"] for e in entries))
        companies = st_lines.company_id
        if any(companies.mapped("tax_exigibility")):
            return "cash basis taxes"
        if self._analytic_models(companies):
            return "analytic distribution models"
        if any(st_lines.journal_id.mapped("restrict_mode_hash_table")):
            return "hashed journal"
        return None

    @api.model
    def _fast_pair(self, entry):
        """``(item, suspense line)`` when the entry is one company-currency item paid
        exactly by its bank line with nothing else on the entry, else None."""
        if len(entry["allocations"]) != 1 or entry.get("writeoff_account"):
            return None
        item, amount = entry["allocations"][0]
        st_line = entry["st_line"]
        liquidity, suspense, other = st_line._seek_for_lines()
        currency = st_line.company_id.currency_id
        if other or len(suspense) != 1 or len(liquidity) != 1 or st_line.foreign_currency_id:
            return None
        residual = item.amount_residual
        if (
            item.reconciled
            or item.parent_state != "posted"
            or item.move_id == st_line.move_id
            or item.company_id != st_line.company_id
            or item.currency_id != currency
            or suspense.currency_id != currency
            or liquidity.currency_id != currency
            or not item.account_id.reconcile
            or item.account_id.account_type not in ("asset_receivable", "liability_payable")
            or item.matched_debit_ids
            or item.matched_credit_ids
            or item.move_id.matched_payment_ids
            or currency.is_zero(residual)
            or currency.compare_amounts(residual, item.amount_residual_currency)
            or currency.compare_amounts(suspense.balance, -residual)
            or currency.compare_amounts(suspense.amount_currency, -residual)
        ):
            return None
        if amount is not None and currency.compare_amounts(amount, abs(residual)):
            return None
        return item, suspense

    @api.model
    def _fast_foreign_overrides(self):
        """The modules outside ``FAST_KNOWN_MODULES`` overriding a method of
        ``FAST_REPLACED_METHODS`` (read from the registry's classes)."""
        return set(foreign_overrides(self.env, FAST_REPLACED_METHODS, FAST_KNOWN_MODULES))

    # ------------------------------------------------------------------
    # Journal items
    # ------------------------------------------------------------------
    @api.model
    def _reconcile_fast(self, fast):
        """Write ``[(entry, item, suspense line)]`` set-based: each suspense line becomes
        the counterpart of its item, both reconciled in full with each other."""
        env = self.env
        Line = env["account.move.line"]
        counterparts = Line.union(*(suspense for _entry, _item, suspense in fast))
        items = Line.union(*(item for _entry, item, _suspense in fast))
        moves = counterparts.move_id
        # The checks Odoo's unlink and create run on the statement entries' items.
        moves._check_fiscal_lock_dates()
        counterparts._check_tax_lock_date()
        Line.check_access("write")
        env["account.partial.reconcile"].check_access("create")
        env["account.full.reconcile"].check_access("create")
        invoices_before = items._reconcile_pre_hook()
        items.move_id.line_ids.mapped("display_type")  # for _settle_move_amounts, one query
        env.flush_all()
        now = fields.Datetime.now()
        full_ids = next_ids(self.env, "account_full_reconcile", len(fast))
        partial_ids = next_ids(self.env, "account_partial_reconcile", len(fast))
        partial_rows, line_rows, counterpart_rows = [], [], []
        for (entry, item, suspense), full_id, partial_id in zip(
            fast, full_ids, partial_ids, strict=True
        ):
            debit, credit = (item, suspense) if item.balance > 0 else (suspense, item)
            amount = abs(item.amount_residual)
            partner = item.partner_id.id or None
            label = entry["st_line"].payment_ref or "/"
            counterpart_rows.append(
                SQL("(%s, %s, %s, %s)", suspense.id, item.account_id.id, partner, label)
            )
            partial_rows.append(
                SQL(
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::date, %s, %s, %s, %s)",
                    partial_id,
                    debit.id,
                    credit.id,
                    full_id,
                    item.currency_id.id,
                    item.currency_id.id,
                    amount,
                    amount,
                    amount,
                    # Odoo's _compute_company_id: the invoice's side when there is one.
                    item.company_id.id,
                    max(item.date, suspense.date),
                    env.uid,
                    now,
                    env.uid,
                    now,
                )
            )
            line_rows += [
                SQL("(%s, %s, %s::numeric)", item.id, full_id, item.amount_residual),
                SQL("(%s, %s, %s::numeric)", suspense.id, full_id, suspense.amount_residual),
            ]
        cr = env.cr
        cr.execute(
            SQL(
                "INSERT INTO account_full_reconcile (id, create_uid, create_date, write_uid,"
                " write_date) SELECT id, %s, %s, %s, %s FROM unnest(%s::int[]) AS id",
                env.uid,
                now,
                env.uid,
                now,
                full_ids,
            )
        )
        execute_bulk(
            env,
            "Counterparts of the reconciled bank lines",
            SQL(
                """
                UPDATE account_move_line line
                   SET account_id = v.account_id, partner_id = v.partner_id, name = v.name,
                       write_uid = %s, write_date = %s
                  FROM (VALUES %s) AS v(id, account_id, partner_id, name)
                 WHERE line.id = v.id
                """,
                env.uid,
                now,
                SQL(", ").join(counterpart_rows),
            ),
        )
        execute_bulk(
            env,
            "Partial reconciliations of the reconciled bank lines",
            SQL(
                """
                INSERT INTO account_partial_reconcile
                       (id, debit_move_id, credit_move_id, full_reconcile_id, debit_currency_id,
                        credit_currency_id, amount, debit_amount_currency, credit_amount_currency,
                        company_id, max_date, create_uid, create_date, write_uid, write_date)
                VALUES %s
                """,
                SQL(", ").join(partial_rows),
            ),
        )
        # Only items still open with the residual read: a concurrent reconciliation
        # committed meanwhile leaves fewer rows (or a serialization failure).
        cr.execute(
            SQL(
                """
                UPDATE account_move_line line
                   SET amount_residual = 0, amount_residual_currency = 0, reconciled = TRUE,
                       full_reconcile_id = v.full_id, matching_number = v.full_id::text,
                       write_uid = %s, write_date = %s
                  FROM (VALUES %s) AS v(id, full_id, residual)
                 WHERE line.id = v.id AND line.reconciled IS NOT TRUE
                   AND line.amount_residual = v.residual
                """,
                env.uid,
                now,
                SQL(", ").join(line_rows),
            )
        )
        if cr.rowcount != 2 * len(fast):
            raise UserError(
                env._(
                    "Some of the items to reconcile were reconciled by someone else meanwhile: "
                    "reload and try again."
                )
            )
        self._after_fast(counterparts, items, full_ids, partial_ids, invoices_before)

    @api.model
    def _after_fast(self, counterparts, items, full_ids, partial_ids, invoices_before):
        """Tell the ORM what changed, run Odoo's checks on the counterparts and its
        paid hook on the invoices that became paid."""
        env = self.env
        lines = counterparts | items
        lines.invalidate_recordset([*RECONCILED_FIELDS, *COUNTERPART_FIELDS], flush=False)
        lines.invalidate_recordset(["matched_debit_ids", "matched_credit_ids"], flush=False)
        env["account.partial.reconcile"].browse(partial_ids).invalidate_recordset(flush=False)
        env["account.full.reconcile"].browse(full_ids).invalidate_recordset(flush=False)
        counterparts.modified(COUNTERPART_FIELDS)
        # No distribution model applies (``_fast_refusal``): the ORM's counterpart gets
        # no distribution, and neither does this one, without a search per line.
        env.remove_to_compute(counterparts._fields["analytic_distribution"], counterparts)
        lines.modified(RECONCILED_FIELDS)
        self._settle_move_amounts(counterparts, items)
        # The constraints Odoo's create runs on a new counterpart.
        counterparts._validate_fields(COUNTERPART_FIELDS)
        counterparts._check_constrains_account_id_journal_id()
        counterparts._check_company(COUNTERPART_FIELDS)
        env.flush_all()
        items._reconcile_post_hook(invoices_before)

    @api.model
    def _settle_move_amounts(self, counterparts, items):
        """Write the entries' amounts Odoo's ``_compute_amount`` would write, instead
        of recomputing them move by move (a tenth of the time of a batch).

        That compute sums, for an invoice, its payment term items' residuals
        (and balances, which do not change here), and for any other entry only
        balances. So: the statement entries' amounts stay as they are; an
        invoice whose only payment term item is the one paid has nothing left
        (``amount_residual`` and ``amount_residual_signed`` 0); any other entry
        of an item is recomputed by the ORM. What depends on the written
        amounts (the payment state) is recomputed by the ORM.
        """
        Move = self.env["account.move"]
        amount_fields = [
            field for field in Move._fields.values() if field.compute == "_compute_amount"
        ]
        settled_ids = []
        for item in items:
            move = item.move_id
            terms = move.line_ids.filtered(lambda line: line.display_type == "payment_term")
            if not move.is_invoice(include_receipts=True) or terms == item:
                settled_ids.append(move.id)
        settled = Move.browse(settled_ids)
        # Before anything reads them: reading would recompute them.
        for field in amount_fields:
            self.env.remove_to_compute(field, settled | counterparts.move_id)
        invoices = settled.filtered(lambda move: move.is_invoice(include_receipts=True))
        if invoices:
            self.env.cr.execute(
                SQL(
                    "UPDATE account_move SET amount_residual = 0, amount_residual_signed = 0"
                    " WHERE id = ANY(%s)",
                    invoices.ids,
                )
            )
            invoices.invalidate_recordset(
                ["amount_residual", "amount_residual_signed"], flush=False
            )
            invoices.modified(["amount_residual", "amount_residual_signed"])
