"""Row builders of the set-based posting: the column values of ``account_move``,
``account_move_line`` and ``account_bank_statement_line`` for each statement line,
as Odoo's ORM would write them (see ``statement_line_bulk``).
"""

from xmlrpc.client import MAXINT

from odoo import api, fields, models

from odoo.addons.finsync_base.models.bulk_sql import plain_defaults


class FinsyncStatementLineBulkRows(models.AbstractModel):
    """The rows ``_insert_chunk`` writes: shared values, defaults and one row per table."""

    _inherit = "finsync.statement.line.bulk"

    @api.model
    def _context_values(self, journal):
        """What every line of the chunk shares: journal, accounts, currency, defaults."""
        company = journal.company_id
        currency = company.currency_id
        Move = self.env["account.move"].with_context(is_statement_line=True)
        StLine = self.env["account.bank.statement.line"]
        prototype = Move.new({"journal_id": journal.id, "move_type": "entry"})
        return {
            "journal": journal,
            "company": company,
            "currency": currency,
            "bank_account": journal.default_account_id,
            "suspense_account": journal.suspense_account_id,
            "today": fields.Date.context_today(self),
            "now": self.env.cr.now(),
            "uid": self.env.uid,
            "checked": journal.autocheck_on_post,
            "manually_modified": not self.env.context.get("skip_is_manually_modified"),
            "display_name": prototype.invoice_partner_display_name,
            "move_defaults": plain_defaults(Move, self._move_row_keys()),
            "line_defaults": plain_defaults(
                self.env["account.move.line"], self._move_line_row_keys()
            ),
            "st_defaults": plain_defaults(StLine, self._st_line_row_keys()),
            "st_sequence": StLine.default_get(["sequence"]).get("sequence") or 0,
        }

    @api.model
    def _line_values(self, vals, ctx):
        currency = ctx["currency"]
        amount = currency.round(vals.get("amount") or 0.0)
        return {
            "date": fields.Date.to_date(vals["date"]),
            "amount": amount,
            "label": vals.get("payment_ref") or None,
            "statement_id": vals.get("statement_id") or None,
            "zero": currency.is_zero(amount),
        }

    # ------------------------------------------------------------------
    # Rows
    # ------------------------------------------------------------------
    @api.model
    def _move_row_keys(self):
        return (
            "journal_id",
            "company_id",
            "statement_line_id",
            "currency_id",
            "name",
            "sequence_prefix",
            "sequence_number",
            "state",
            "move_type",
            "payment_state",
            "invoice_partner_display_name",
            "date",
            "invoice_date_due",
            "invoice_currency_rate",
            "amount_untaxed",
            "amount_tax",
            "amount_total",
            "amount_residual",
            "amount_untaxed_signed",
            "amount_untaxed_in_currency_signed",
            "amount_tax_signed",
            "amount_total_signed",
            "amount_total_in_currency_signed",
            "amount_residual_signed",
            "is_storno",
            "always_tax_exigible",
            "checked",
            "posted_before",
            "made_sequence_gap",
            "is_manually_modified",
        )

    @api.model
    def _move_row(self, line, ctx):
        total = abs(line["amount"])
        row = {
            "id": line["move_id"],
            **ctx["move_defaults"],
            "journal_id": ctx["journal"].id,
            "company_id": ctx["company"].id,
            "statement_line_id": None,  # set once the statement line exists
            "currency_id": ctx["currency"].id,
            "name": line["name"],
            "sequence_prefix": line["sequence_prefix"],
            "sequence_number": line["sequence_number"],
            "state": "posted",
            "move_type": "entry",
            "payment_state": "not_paid",
            "invoice_partner_display_name": ctx["display_name"],
            "date": line["date"],
            "invoice_date_due": ctx["today"],
            "invoice_currency_rate": 0.0,
            "amount_untaxed": 0.0,
            "amount_tax": 0.0,
            "amount_total": total,
            "amount_residual": 0.0,
            "amount_untaxed_signed": 0.0,
            "amount_untaxed_in_currency_signed": 0.0,
            "amount_tax_signed": 0.0,
            "amount_total_signed": total,
            "amount_total_in_currency_signed": total,
            "amount_residual_signed": 0.0,
            "is_storno": False,
            "always_tax_exigible": True,
            "checked": ctx["checked"],
            "posted_before": True,
            # Consecutive numbers; the first of each prefix is settled in _after_insert.
            "made_sequence_gap": False,
            "is_manually_modified": ctx["manually_modified"],
        }
        return self._with_log(row, ctx)

    @api.model
    def _move_line_row_keys(self):
        return (
            "move_id",
            "journal_id",
            "company_id",
            "company_currency_id",
            "sequence",
            "account_id",
            "currency_id",
            "statement_line_id",
            "statement_id",
            "move_name",
            "parent_state",
            "name",
            "display_type",
            "date",
            "debit",
            "credit",
            "balance",
            "amount_currency",
            "amount_residual",
            "amount_residual_currency",
            "quantity",
            "price_unit",
            "price_subtotal",
            "price_total",
            "tax_tag_invert",
            "reconciled",
        )

    @api.model
    def _move_line_rows(self, line, ctx):
        """The liquidity and suspense items of ``_prepare_move_line_default_vals``."""
        rows = []
        for aml_id, account, balance in (
            (line["aml_ids"][0], ctx["bank_account"], line["amount"]),
            (line["aml_ids"][1], ctx["suspense_account"], -line["amount"] or 0.0),
        ):
            # _compute_amount_residual: only reconcilable and cash accounts carry a residual.
            open_item = account.reconcile or account.account_type in (
                "asset_cash",
                "liability_credit_card",
            )
            row = {
                "id": aml_id,
                **ctx["line_defaults"],
                "move_id": line["move_id"],
                "journal_id": ctx["journal"].id,
                "company_id": ctx["company"].id,
                "company_currency_id": ctx["currency"].id,
                "sequence": 100,
                "account_id": account.id,
                "currency_id": ctx["currency"].id,
                "statement_line_id": line["st_line_id"],
                "statement_id": line["statement_id"],
                "move_name": line["name"],
                "parent_state": "posted",
                "name": line["label"],
                "display_type": "product",
                "date": line["date"],
                "debit": balance if balance > 0 else 0.0,
                "credit": -balance if balance < 0 else 0.0,
                "balance": balance,
                "amount_currency": balance,
                "amount_residual": balance if open_item else 0.0,
                "amount_residual_currency": balance if open_item else 0.0,
                "quantity": 1.0,
                "price_unit": 0.0,
                "price_subtotal": balance,
                "price_total": balance,
                "tax_tag_invert": False,
                "reconciled": bool(open_item and line["zero"]),
            }
            rows.append(self._with_log(row, ctx))
        return rows

    @api.model
    def _st_line_row_keys(self):
        return (
            "move_id",
            "journal_id",
            "company_id",
            "statement_id",
            "sequence",
            "currency_id",
            "account_number",
            "partner_name",
            "transaction_type",
            "payment_ref",
            "internal_index",
            "amount",
            "amount_currency",
            "is_reconciled",
            "amount_residual",
            "finsync_import_id",
        )

    @api.model
    def _st_line_row(self, line, vals, ctx):
        sequence = vals["sequence"] if "sequence" in vals else ctx["st_sequence"]
        row = {
            "id": line["st_line_id"],
            **ctx["st_defaults"],
            "move_id": line["move_id"],
            "journal_id": ctx["journal"].id,
            "company_id": ctx["company"].id,
            "statement_id": line["statement_id"],
            "sequence": sequence,
            "currency_id": ctx["currency"].id,
            "account_number": vals.get("account_number") or None,
            "partner_name": vals.get("partner_name") or None,
            "transaction_type": vals.get("transaction_type") or None,
            "payment_ref": line["label"],
            # _compute_internal_index: date, reversed sequence, id.
            "internal_index": "{:%Y%m%d}{:0>10}{:0>10}".format(
                line["date"], MAXINT - sequence, line["st_line_id"]
            ),
            "amount": line["amount"],
            "amount_currency": 0.0,
            # _compute_is_reconciled: the suspense item still holds the whole amount.
            "is_reconciled": line["zero"],
            "amount_residual": -line["amount"] or 0.0,
            "finsync_import_id": vals.get("finsync_import_id") or None,
        }
        return self._with_log(row, ctx)

    @api.model
    def _with_log(self, row, ctx):
        row.update(
            create_uid=ctx["uid"],
            create_date=ctx["now"],
            write_uid=ctx["uid"],
            write_date=ctx["now"],
        )
        return row
