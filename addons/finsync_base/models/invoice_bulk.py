"""Draft customer invoices written set-based, the rows Odoo's ORM would write.

``account.move.create`` costs about 19 ms a draft invoice: the dynamic lines
(taxes, payment terms) are synchronised move by move, each line is created,
computed and flushed through the generic machinery, and the chatter posts its
creation message per record. For the common draft (an ``out_invoice`` in the
company's currency, a partner, a fiscal position, a one-line payment term,
product lines with plain percentage taxes) the outcome is fully determined,
so this service writes the same rows with one INSERT per table for the whole
batch: ``account_move``, ``account_move_line`` (product, tax and payment term
items), the lines' taxes and tax tags, the followers and the creation
messages. The values come from Odoo's own helpers: the tax engine as
``_sync_tax_lines`` uses it, the payment term's ``_compute_terms``, the
product's accounts and taxes mapped by the fiscal position. The header fields
that only depend on the partner and the company (shipping address, bank
account, salesperson, display name, any other module's stored field) are
computed by their own compute methods on the whole batch afterwards.

Whenever the outcome is not certain the invoice goes through the ORM
``create`` instead; ``_bulk_refusal`` and ``_vals_refusal`` list each case.
Row builders are in ``invoice_bulk_rows``. A test creates the same invoices
through both paths and compares every stored column.
"""

import logging

from odoo import Command, api, models
from odoo.tools import split_every

from .bulk_sql import foreign_overrides, insert_rows, next_ids

_logger = logging.getLogger(__name__)

# Invoices per INSERT: one INSERT per table per chunk of this many invoices.
BULK_CHUNK = 500

# The header values the fast path understands (what the CRM connector prepares).
BULK_VALS = frozenset(
    {
        "move_type",
        "company_id",
        "partner_id",
        "currency_id",
        "invoice_origin",
        "fiscal_position_id",
        "invoice_payment_term_id",
        "invoice_line_ids",
    }
)
# The values of one invoice line it understands.
BULK_LINE_VALS = frozenset({"product_id", "name", "quantity", "price_unit", "discount"})
# The methods whose effect the fast path reproduces, per model: another module's
# override of one of them would be skipped by the INSERTs.
BULK_REPLACED_METHODS = {
    "account.move": (
        "create",
        "write",
        "_sync_dynamic_lines",
        "_sync_tax_lines",
        "_sync_unbalanced_lines",
        "_sync_rounding_lines",
        "_sync_dynamic_line",
        "_sync_invoice",
        "_compute_needed_terms",
        "_compute_amount",
        "_compute_invoice_date_due",
        "_compute_payment_state",
        "_compute_name",
        "_compute_date",
        "_creation_subtype",
        "_creation_message",
        "_message_auto_subscribe",
        "_message_auto_subscribe_followers",
        "_message_post_after_hook",
        "_notify_thread",
        "_track_template",
        "_get_rounded_base_and_tax_lines",
        "_prepare_product_base_line_for_taxes_computation",
    ),
    "account.move.line": (
        "create",
        "write",
        "_compute_account_id",
        "_compute_tax_ids",
        "_get_computed_taxes",
        "_get_computed_account",
        "_compute_totals",
        "_compute_balance",
        "_compute_amount_residual",
        "_compute_tax_tag_invert",
        "_compute_product_uom_id",
        "_compute_partner_id",
        "_compute_name",
    ),
    "account.tax": (
        "_prepare_base_line_for_taxes_computation",
        "_add_tax_details_in_base_lines",
        "_add_tax_details_in_base_line",
        "_round_base_lines_tax_details",
        "_add_accounting_data_in_base_lines_tax_details",
        "_prepare_tax_lines",
    ),
    "account.payment.term": ("_compute_terms",),
}
# Modules whose versions of those methods the fast path reproduces ("base" is the ORM).
BULK_KNOWN_MODULES = frozenset({"base", "account", "mail", "analytic", "product", "portal"})
# Single overrides it reproduces too: finsync_base remembers payment states to emit
# ``invoice.paid`` (a new draft is not paid); sms notifies recipients by text message
# (the creation message has none).
BULK_KNOWN_OVERRIDES = frozenset(
    {
        ("finsync_base", "account.move._compute_payment_state"),
        ("sms", "account.move._notify_thread"),
    }
)


class FinsyncInvoiceBulk(models.AbstractModel):
    """Create draft customer invoices: bulk SQL where the result is certain, ORM otherwise.

    ``_create_drafts(vals_list)`` takes the values ``account.move.create`` takes
    and returns the invoices in the order of ``vals_list``, as ``create`` would
    leave them (a test compares both paths column by column). Connectors call
    it instead of ``create`` for the draft invoices they bring.
    """

    _name = "finsync.invoice.bulk"
    _description = "FinSync bulk creation of draft invoices"

    # ------------------------------------------------------------------
    # Entry point
    # ------------------------------------------------------------------
    @api.model
    def _create_drafts(self, vals_list):
        Move = self.env["account.move"].with_context(default_move_type="out_invoice")
        if not vals_list:
            return Move.browse()
        Move.check_access("create")
        reason = self._bulk_refusal()
        if reason:
            _logger.info("FinSync: %d invoices created through the ORM: %s", len(vals_list), reason)
            return Move.create(vals_list)
        batch = self._batch_values(vals_list)
        fast, slow = [], []
        for index, vals in enumerate(vals_list):
            (slow if self._vals_refusal(vals, batch) else fast).append(index)
        ids_by_index = {}
        if slow:
            _logger.info("FinSync: %d of %d invoices through the ORM", len(slow), len(vals_list))
            moves = Move.create([vals_list[i] for i in slow])
            ids_by_index.update(zip(slow, moves.ids, strict=True))
        for chunk in split_every(BULK_CHUNK, fast, list):
            moves = self._insert_invoices([vals_list[i] for i in chunk], batch)
            ids_by_index.update(zip(chunk, moves.ids, strict=True))
        return Move.browse([ids_by_index[i] for i in range(len(vals_list))])

    # ------------------------------------------------------------------
    # When the ORM must do it
    # ------------------------------------------------------------------
    @api.model
    def _bulk_refusal(self):
        """Why no invoice of this batch may be written in bulk (a sentence), or None:
        asked for the ORM, or another module overrides a method the INSERTs replace."""
        if self.env.context.get("finsync_invoice_orm"):
            return "the ORM path asked for"
        foreign = foreign_overrides(
            self.env, BULK_REPLACED_METHODS, BULK_KNOWN_MODULES, BULK_KNOWN_OVERRIDES
        )
        if foreign:
            return "methods overridden by " + ", ".join(
                f"{module} ({', '.join(methods)})" for module, methods in sorted(foreign.items())
            )
        return None

    @api.model
    def _vals_refusal(self, vals, batch):
        """Why this invoice must go through the ORM (a sentence), or None.

        - values other than ``BULK_VALS`` / ``BULK_LINE_VALS``, or lines not
          given as ``Command.create``: the ORM does more than these rows;
        - another type than a customer invoice, or another currency than the
          company's: other signs, conversion rates;
        - a company without its sales journal, or analytic distribution
          models: the ORM picks or fills what the fast path does not;
        - a product without income account, a tax that is not a plain
          percentage excluded from the price and due on the invoice (price
          included, affecting other taxes, groups, cash basis): the tax engine's
          other branches are not proven equal here;
        - a payment term with several instalments or an early discount, or
          cash rounding on the company's invoices.
        """
        if set(vals) - BULK_VALS or vals.get("move_type", "out_invoice") != "out_invoice":
            return "values it does not handle"
        company = batch["companies"].get(vals.get("company_id") or self.env.company.id)
        if not company or not company["journal"] or company["analytic_models"]:
            return "company without sales journal, or analytic models"
        if (vals.get("currency_id") or company["currency"].id) != company["currency"].id:
            return "foreign currency"
        if not vals.get("partner_id"):
            return "no partner"
        term = self.env["account.payment.term"].browse(vals.get("invoice_payment_term_id"))
        if term and (len(term.line_ids) != 1 or term.early_discount):
            return "payment term with instalments or early discount"
        fiscal_position = vals.get("fiscal_position_id") or False
        for command in vals.get("invoice_line_ids") or []:
            if command[0] != Command.CREATE or set(command[2]) - BULK_LINE_VALS:
                return "line values it does not handle"
            line = command[2]
            if not line.get("product_id") or not line.get("name") or "price_unit" not in line:
                return "line without product, label or price"
            product = self._product_values(company, fiscal_position, line["product_id"], batch)
            if not product["account"] or not all(
                tax.amount_type == "percent"
                and not tax.price_include
                and not tax.include_base_amount
                and tax.tax_exigibility == "on_invoice"
                for tax in product["taxes"]
            ):
                return "product account or taxes it does not handle"
        return None

    # ------------------------------------------------------------------
    # What the batch shares, found once
    # ------------------------------------------------------------------
    @api.model
    def _batch_values(self, vals_list):
        """Per company: journal, currency, analytic models; caches for products."""
        Move = self.env["account.move"]
        company_ids = {vals.get("company_id") or self.env.company.id for vals in vals_list}
        companies = {}
        for company in self.env["res.company"].browse(sorted(company_ids)):
            prototype = Move.with_company(company).new(
                {"move_type": "out_invoice", "company_id": company.id}
            )
            journal = prototype.journal_id
            usable = (
                journal
                and journal.type == "sale"
                and (not journal.currency_id or journal.currency_id == company.currency_id)
                and not prototype.invoice_cash_rounding_id
            )
            companies[company.id] = {
                "company": company,
                "currency": company.currency_id,
                "journal": journal if usable else None,
                "analytic_models": bool(
                    self.env["account.analytic.distribution.model"].search_count(
                        [("company_id", "in", [False, company.id])], limit=1
                    )
                ),
            }
        return {"companies": companies, "products": {}}

    @api.model
    def _product_values(self, company, fiscal_position, product_id, batch):
        """Income account, taxes and unit of a product line, as the line's computes give
        them (``_compute_account_id``, ``_get_computed_taxes``), once per product."""
        key = (company["company"].id, fiscal_position, product_id)
        if key not in batch["products"]:
            env = self.env(context=dict(self.env.context, allowed_company_ids=[key[0]]))
            product = env["product.product"].browse(product_id)
            fpos = env["account.fiscal.position"].browse(fiscal_position)
            account = product.product_tmpl_id.get_product_accounts(fiscal_pos=fpos)["income"]
            company_domain = env["account.tax"]._check_company_domain(company["company"])
            taxes = product.taxes_id.filtered_domain(company_domain) or account.tax_ids.filtered(
                lambda tax: tax.type_tax_use == "sale"
            )
            if taxes:
                taxes = taxes._filter_taxes_by_company(company["company"])
            if taxes and fpos:
                taxes = fpos.map_tax(taxes)
            batch["products"][key] = {
                "product": product,
                "account": account,
                "taxes": taxes,
                "uom": product.uom_id,
            }
        return batch["products"][key]

    # ------------------------------------------------------------------
    # Bulk insert
    # ------------------------------------------------------------------
    @api.model
    def _insert_invoices(self, vals_list, batch):
        """One INSERT per table for the invoices of ``vals_list``."""
        env = self.env
        Move = env["account.move"]
        Line = env["account.move.line"]
        Line.check_access("create")
        env.flush_all()
        ctx = self._context_values(batch)
        self._prefetch_partners(vals_list, batch)
        invoices = [self._invoice_values(vals, batch, ctx) for vals in vals_list]
        move_ids = next_ids(env, Move._table, len(invoices))
        line_ids = iter(next_ids(env, Line._table, sum(len(i["lines"]) for i in invoices)))
        move_rows, line_rows, tax_rels, tag_rels = [], [], [], []
        for invoice, move_id in zip(invoices, move_ids, strict=True):
            move_rows.append(self._move_row(move_id, invoice, ctx))
            for line in invoice["lines"]:
                line_id = next(line_ids)
                line_rows.append(self._move_line_row(line_id, move_id, invoice, line, ctx))
                tax_rels += [(line_id, tax_id) for tax_id in line["tax_ids"]]
                tag_rels += [(line_id, tag_id) for tag_id in line["tax_tag_ids"]]
        self._insert(Move._table, move_rows)
        self._insert(Line._table, line_rows)
        if tax_rels:
            self._insert_pairs(
                "account_move_line_account_tax_rel",
                ("account_move_line_id", "account_tax_id"),
                tax_rels,
            )
        if tag_rels:
            self._insert_pairs(
                "account_account_tag_account_move_line_rel",
                ("account_move_line_id", "account_account_tag_id"),
                tag_rels,
            )
        moves = Move.browse(move_ids)
        new_line_ids = [row["id"] for row in line_rows]
        self._after_insert(moves, new_line_ids, ctx)
        # Record rules on the new rows, as create checks them.
        moves.check_access("create")
        Line.browse(new_line_ids).check_access("create")
        self._chatter(moves, ctx)
        return moves

    @api.model
    def _prefetch_partners(self, vals_list, batch):
        """Read the partners' receivable accounts per company at once (one query, not
        one per partner as reading them invoice by invoice would)."""
        for company_id, company in batch["companies"].items():
            partner_ids = {
                vals["partner_id"]
                for vals in vals_list
                if (vals.get("company_id") or self.env.company.id) == company_id
            }
            partners = self.env["res.partner"].browse(partner_ids)
            partners.mapped("commercial_partner_id").with_company(company["company"]).mapped(
                "property_account_receivable_id"
            )

    @api.model
    def _insert(self, table, rows):
        # The rows carry labels and amounts: a failure is neither logged nor raised
        # with its values (execute_bulk).
        insert_rows(
            self.env,
            self.env._("%(count)s rows of %(table)s", count=len(rows), table=table),
            table,
            rows,
        )

    @api.model
    def _insert_pairs(self, table, columns, pairs):
        self._insert(table, [dict(zip(columns, pair, strict=True)) for pair in pairs])

    # ------------------------------------------------------------------
    # After the insert
    # ------------------------------------------------------------------
    @api.model
    def _after_insert(self, moves, line_ids, ctx):
        """Tell the ORM about the new rows: what depends on them elsewhere is
        recomputed, and the header fields the rows leave to their compute
        methods (``ctx["move_computed"]``) are computed on the whole batch."""
        env = self.env
        env.invalidate_all()
        lines = env["account.move.line"].browse(line_ids)
        written = [
            (
                [moves._fields[name] for name in ctx["move_written"]],
                moves,
            ),
            (
                # The taxes and tags rows are written too (no recompute of tax_ids).
                [lines._fields[name] for name in (*ctx["line_written"], "tax_ids", "tax_tag_ids")],
                lines,
            ),
        ]
        with env.protecting(written):
            for records in (moves, lines):
                records.modified(
                    [name for name, field in records._fields.items() if field.store], create=True
                )
            for name in ctx["move_computed"]:
                env.add_to_compute(moves._fields[name], moves)
            for name in ctx["line_computed"]:
                env.add_to_compute(lines._fields[name], lines)
            env.flush_all()
        # Odoo's create checks these on every new invoice (balanced, companies, accounts).
        with moves._check_balanced({"records": moves}):
            pass
        lines._check_constrains_account_id_journal_id()
        moves._check_company()
        lines._check_company()

    @api.model
    def _chatter(self, moves, ctx):
        """The followers and creation message ``mail.thread.create`` gives each invoice.

        The current user (when active) follows; the creation message is posted
        by them with the invoice's creation subtype. They are its author and its
        only follower, so nobody is notified (``message_post`` notifies the
        followers but the author); the message rows are created in one batch.
        """
        env = self.env
        user = env.user
        context = env.context
        # mail.thread.create's options: no chatter at all, no follower, no message.
        if context.get("tracking_disable"):
            return
        if user.active and not context.get("mail_create_nosubscribe"):
            env["mail.followers"]._insert_followers(
                moves._name,
                moves.ids,
                user.partner_id.ids,
                subtypes=None,
                customer_ids=[],
                check_existing=False,
            )
        if context.get("mail_create_nolog"):
            return
        posting = moves.sudo()  # sudo: as mail.thread.create posts its creation message
        author_id, email_from = posting._message_compute_author(
            user.partner_id.id, None, raise_on_email=True
        )
        alias_domains = posting._mail_get_alias_domains(default_company=env.company)
        companies = posting._mail_get_companies(default=env.company)
        reply_to = posting._notify_get_reply_to(default=email_from)
        values_list = []
        for move in posting:
            subtype = move._creation_subtype()
            values_list.append(
                {
                    "email_add_signature": True,
                    "record_name": move.display_name,
                    "author_id": author_id,
                    "author_guest_id": False,
                    "email_from": email_from,
                    "model": moves._name,
                    "res_id": move.id,
                    "body": ctx["creation_body"](move._creation_message()),
                    "message_type": "notification",
                    "parent_id": False,
                    "subject": False,
                    "subtype_id": subtype.id,
                    "partner_ids": [],
                    "record_alias_domain_id": alias_domains[move.id].id,
                    "record_company_id": companies[move.id].id,
                    "reply_to": reply_to[move.id],
                }
            )
        posting._message_create(values_list)
        env.flush_all()
