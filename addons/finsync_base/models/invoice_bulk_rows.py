"""Row builders of the set-based draft invoices: the column values of
``account_move`` and ``account_move_line`` as Odoo's ORM would write them
(see ``invoice_bulk``), from Odoo's tax engine and payment terms.
"""

from markupsafe import Markup

from odoo import api, fields, models

from .bulk_sql import left_to_compute, plain_defaults

# account.move.line.sequence of each kind of item (``_compute_sequence``).
SEQUENCE = {"product": 100, "tax": 10000, "payment_term": 12000}


class FinsyncInvoiceBulkRows(models.AbstractModel):
    _inherit = "finsync.invoice.bulk"

    # ------------------------------------------------------------------
    # Shared values
    # ------------------------------------------------------------------
    @api.model
    def _context_values(self, batch):
        """What every invoice of the batch shares: dates, user, defaults, the fields
        written and the ones left to their compute methods."""
        Move = self.env["account.move"]
        Line = self.env["account.move.line"]
        move_written = set(self._move_row_keys())
        line_written = set(self._move_line_row_keys())
        move_defaults = plain_defaults(Move, move_written)
        line_defaults = plain_defaults(Line, line_written)
        return {
            "today": fields.Date.context_today(self),
            "now": self.env.cr.now(),
            "uid": self.env.uid,
            "move_defaults": move_defaults,
            "line_defaults": line_defaults,
            "move_written": sorted(move_written | set(move_defaults)),
            "line_written": sorted(line_written | set(line_defaults)),
            "move_computed": left_to_compute(Move, move_written),
            "line_computed": left_to_compute(Line, line_written),
            # The precision the ORM's cache gives those fields' values.
            "digits": {
                name: self._rounder(Line, name) for name in ("quantity", "price_unit", "discount")
            },
            "creation_body": lambda text: (
                Markup('<div summary="o_mail_notification"><p>%s</p></div>') % text
            ),
        }

    @api.model
    def _rounder(self, model, name):
        field = model._fields[name]
        return lambda value: field.convert_to_cache(value, model)

    # ------------------------------------------------------------------
    # One invoice: Odoo's tax engine and payment terms
    # ------------------------------------------------------------------
    @api.model
    def _invoice_values(self, vals, batch, ctx):
        """The invoice's header values and its items (product, tax, payment term)."""
        env = self.env
        AccountTax = env["account.tax"]
        company = batch["companies"][vals.get("company_id") or env.company.id]
        currency = company["currency"]
        partner = env["res.partner"].browse(vals["partner_id"])
        commercial = partner.commercial_partner_id
        fiscal_position = env["account.fiscal.position"].browse(vals.get("fiscal_position_id"))
        base_lines = []
        for command in vals.get("invoice_line_ids") or []:
            line = command[2]
            product = self._product_values(company, fiscal_position.id, line["product_id"], batch)
            base_lines.append(
                AccountTax._prepare_base_line_for_taxes_computation(
                    None,
                    product_id=product["product"],
                    product_uom_id=product["uom"],
                    tax_ids=product["taxes"],
                    # _compute_quantity: a product line without quantity has 1.
                    quantity=ctx["digits"]["quantity"](line.get("quantity") or 1.0),
                    price_unit=ctx["digits"]["price_unit"](line.get("price_unit") or 0.0),
                    discount=ctx["digits"]["discount"](line.get("discount") or 0.0),
                    currency_id=currency,
                    rate=1.0,
                    sign=-1,
                    is_refund=False,
                    tax_tag_invert=bool(product["taxes"]),
                    partner_id=commercial,
                    account_id=product["account"],
                    analytic_distribution=None,
                    name=line["name"],
                )
            )
        lines = self._product_items(base_lines, company)
        AccountTax._add_tax_details_in_base_lines(base_lines, company["company"])
        AccountTax._round_base_lines_tax_details(base_lines, company["company"])
        AccountTax._add_accounting_data_in_base_lines_tax_details(base_lines, company["company"])
        results = AccountTax._prepare_tax_lines(base_lines, company["company"])
        for item, (_base_line, update) in zip(lines, results["base_lines_to_update"], strict=True):
            item["balance"] = update["balance"]
            item["amount_currency"] = update["amount_currency"]
            item["tax_tag_ids"] = update["tax_tag_ids"][0][2]
        lines += [self._tax_item(tax_vals) for tax_vals in results["tax_lines_to_add"]]
        untaxed = -sum(item["balance"] for item in lines if item["display_type"] == "product")
        tax = -sum(item["balance"] for item in lines if item["display_type"] == "tax")
        term = env["account.payment.term"].browse(vals.get("invoice_payment_term_id"))
        terms = self._term_items(term, company, partner, fiscal_position, (untaxed, tax), ctx)
        lines += terms
        return {
            "vals": vals,
            "company": company,
            "currency": currency,
            "partner": partner,
            "commercial": commercial,
            "lines": lines,
            "untaxed": currency.round(untaxed),
            "tax": currency.round(tax),
            "total": currency.round(untaxed + tax),
            # _compute_invoice_date_due: the last date of the payment term items.
            "date_due": max(item["date_maturity"] for item in terms),
        }

    @api.model
    def _product_items(self, base_lines, company):
        """The product items with their per-line totals (``_compute_totals``)."""
        AccountTax = self.env["account.tax"]
        currency = company["currency"]
        items = []
        for base_line in base_lines:
            single = dict(base_line)
            AccountTax._add_tax_details_in_base_line(single, company["company"])
            details = single["tax_details"]
            items.append(
                {
                    "display_type": "product",
                    "name": base_line["name"],
                    "product_id": base_line["product_id"].id,
                    "product_uom_id": base_line["product_uom_id"].id or None,
                    "account_id": base_line["account_id"].id,
                    "partner_id": base_line["partner_id"].id,
                    "quantity": base_line["quantity"],
                    "price_unit": base_line["price_unit"],
                    "discount": base_line["discount"],
                    "price_subtotal": currency.round(details["raw_total_excluded_currency"]),
                    "price_total": currency.round(details["raw_total_included_currency"]),
                    "tax_ids": base_line["tax_ids"].ids,
                    "tax_tag_invert": base_line["tax_tag_invert"],
                    "tax_line_id": None,
                    "tax_group_id": None,
                    "tax_repartition_line_id": None,
                    "tax_base_amount": 0.0,
                    "date_maturity": None,
                }
            )
        return items

    @api.model
    def _tax_item(self, tax_vals):
        """A tax item of ``_prepare_tax_lines``, with what its create computes."""
        repartition = self.env["account.tax.repartition.line"].browse(
            tax_vals["tax_repartition_line_id"]
        )
        tax = repartition.tax_id
        return {
            "display_type": "tax",
            "name": tax_vals["name"],
            "product_id": None,
            "product_uom_id": None,
            "account_id": tax_vals["account_id"],
            "partner_id": tax_vals.get("partner_id") or None,
            "quantity": 0.0,
            "price_unit": 0.0,
            "discount": 0.0,
            "price_subtotal": 0.0,
            "price_total": 0.0,
            "tax_ids": tax_vals["tax_ids"][0][2] if tax_vals.get("tax_ids") else [],
            "tax_tag_ids": tax_vals["tax_tag_ids"][0][2] if tax_vals.get("tax_tag_ids") else [],
            "tax_tag_invert": True,
            "tax_line_id": tax.id,
            "tax_group_id": tax.tax_group_id.id,
            "tax_repartition_line_id": repartition.id,
            "group_tax_id": tax_vals.get("group_tax_id") or None,
            "tax_base_amount": tax_vals["tax_base_amount"],
            "balance": tax_vals["balance"],
            "amount_currency": tax_vals["amount_currency"],
            "date_maturity": None,
        }

    @api.model
    def _term_items(self, term, company, partner, fiscal_position, amounts, ctx):
        """The receivable items of ``_compute_needed_terms`` (stored invoice branch)
        for the ``(untaxed, tax)`` amounts, on ``_compute_account_id``'s account."""
        currency = company["currency"]
        untaxed, tax = amounts
        commercial = partner.commercial_partner_id.with_company(company["company"])
        company_partner = company["company"].partner_id.with_company(company["company"])
        account = (
            commercial.property_account_receivable_id
            or company_partner.property_account_receivable_id
        )
        if fiscal_position:
            account = fiscal_position.map_account(account)
        if term:
            computed = term._compute_terms(
                date_ref=ctx["today"],
                currency=currency,
                tax_amount_currency=tax,
                tax_amount=tax,
                untaxed_amount_currency=untaxed,
                untaxed_amount=untaxed,
                company=company["company"],
                cash_rounding=self.env["account.cash.rounding"],
                sign=1,
            )
            needed = [
                (fields.Date.to_date(line["date"]), line["company_amount"], line["foreign_amount"])
                for line in computed["line_ids"]
            ]
        else:
            total = currency.round(untaxed + tax)
            needed = [(ctx["today"], total, total)]
        return [
            {
                "display_type": "payment_term",
                "name": None,
                "product_id": None,
                "product_uom_id": None,
                "account_id": account.id,
                "partner_id": commercial.id,
                "quantity": 0.0,
                "price_unit": 0.0,
                "discount": 0.0,
                "price_subtotal": 0.0,
                "price_total": 0.0,
                "tax_ids": [],
                "tax_tag_ids": [],
                "tax_tag_invert": False,
                "tax_line_id": None,
                "tax_group_id": None,
                "tax_repartition_line_id": None,
                "tax_base_amount": 0.0,
                "balance": balance,
                "amount_currency": amount_currency,
                "date_maturity": date,
                "discount_balance": 0.0,
                "discount_amount_currency": 0.0,
            }
            for date, balance, amount_currency in needed
        ]

    # ------------------------------------------------------------------
    # Rows
    # ------------------------------------------------------------------
    @api.model
    def _move_row_keys(self):
        return (
            "journal_id",
            "company_id",
            "partner_id",
            "currency_id",
            "fiscal_position_id",
            "invoice_payment_term_id",
            "invoice_origin",
            "name",
            "sequence_prefix",
            "sequence_number",
            "state",
            "move_type",
            "payment_state",
            "date",
            "invoice_date",
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
            "is_manually_modified",
        )

    @api.model
    def _move_row(self, move_id, invoice, ctx):
        vals, company = invoice["vals"], invoice["company"]
        untaxed, tax, total = invoice["untaxed"], invoice["tax"], invoice["total"]
        return {
            "id": move_id,
            **ctx["move_defaults"],
            "journal_id": company["journal"].id,
            "company_id": company["company"].id,
            "partner_id": invoice["partner"].id,
            "currency_id": invoice["currency"].id,
            "fiscal_position_id": vals.get("fiscal_position_id") or None,
            "invoice_payment_term_id": vals.get("invoice_payment_term_id") or None,
            "invoice_origin": vals.get("invoice_origin") or None,
            "name": None,
            "sequence_prefix": "",
            "sequence_number": 0,
            "state": "draft",
            "move_type": "out_invoice",
            "payment_state": "not_paid",
            "date": ctx["today"],
            "invoice_date": None,
            "invoice_date_due": invoice["date_due"],
            "invoice_currency_rate": 1.0,
            "amount_untaxed": untaxed,
            "amount_tax": tax,
            "amount_total": total,
            "amount_residual": total,
            "amount_untaxed_signed": untaxed,
            "amount_untaxed_in_currency_signed": untaxed,
            "amount_tax_signed": tax,
            "amount_total_signed": total,
            "amount_total_in_currency_signed": total,
            "amount_residual_signed": total,
            # account.move.create sets it False once the lines are synchronised.
            "is_manually_modified": False,
            **self._log_columns(ctx),
        }

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
            "partner_id",
            "product_id",
            "product_uom_id",
            "tax_line_id",
            "tax_group_id",
            "tax_repartition_line_id",
            "group_tax_id",
            "move_name",
            "parent_state",
            "ref",
            "name",
            "display_type",
            "date",
            "invoice_date",
            "date_maturity",
            "discount_date",
            "analytic_distribution",
            "debit",
            "credit",
            "balance",
            "amount_currency",
            "tax_base_amount",
            "amount_residual",
            "amount_residual_currency",
            "quantity",
            "price_unit",
            "price_subtotal",
            "price_total",
            "discount",
            "discount_amount_currency",
            "discount_balance",
            "tax_tag_invert",
            "reconciled",
        )

    @api.model
    def _move_line_row(self, line_id, move_id, invoice, item, ctx):
        currency = invoice["currency"]
        balance = currency.round(item["balance"])
        amount_currency = currency.round(item["amount_currency"])
        # _compute_amount_residual: only the receivable item carries a residual.
        open_item = item["display_type"] == "payment_term"
        return {
            "id": line_id,
            **ctx["line_defaults"],
            "move_id": move_id,
            "journal_id": invoice["company"]["journal"].id,
            "company_id": invoice["company"]["company"].id,
            "company_currency_id": currency.id,
            "sequence": SEQUENCE[item["display_type"]],
            "account_id": item["account_id"],
            "currency_id": currency.id,
            "partner_id": item["partner_id"],
            "product_id": item["product_id"],
            "product_uom_id": item["product_uom_id"],
            "tax_line_id": item["tax_line_id"],
            "tax_group_id": item["tax_group_id"],
            "tax_repartition_line_id": item["tax_repartition_line_id"],
            "group_tax_id": item.get("group_tax_id"),
            "move_name": None,
            "parent_state": "draft",
            "ref": None,
            "name": item["name"],
            "display_type": item["display_type"],
            "date": ctx["today"],
            "invoice_date": None,
            "date_maturity": item["date_maturity"],
            "discount_date": None,
            "analytic_distribution": None,
            "debit": balance if balance > 0 else 0.0,
            "credit": -balance if balance < 0 else 0.0,
            "balance": balance,
            "amount_currency": amount_currency,
            "tax_base_amount": (
                currency.round(item["tax_base_amount"]) if item["display_type"] == "tax" else None
            ),
            "amount_residual": balance if open_item else 0.0,
            "amount_residual_currency": amount_currency if open_item else 0.0,
            "quantity": item["quantity"],
            "price_unit": item["price_unit"],
            "price_subtotal": item["price_subtotal"],
            "price_total": item["price_total"],
            "discount": item["discount"],
            "discount_amount_currency": item.get("discount_amount_currency"),
            "discount_balance": item.get("discount_balance"),
            "tax_tag_invert": item["tax_tag_invert"],
            "reconciled": False,
            **self._log_columns(ctx),
        }

    @api.model
    def _log_columns(self, ctx):
        return {
            "create_uid": ctx["uid"],
            "create_date": ctx["now"],
            "write_uid": ctx["uid"],
            "write_date": ctx["now"],
        }
