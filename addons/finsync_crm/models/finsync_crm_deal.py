import json
import logging

from odoo import Command, api, fields, models
from odoo.exceptions import UserError

from ..adapters import salesforce_deal_mapper as deal_mapper

_logger = logging.getLogger(__name__)

DEAL_STATES = [
    ("open", "Not billable yet"),
    ("waiting", "Waiting"),
    ("billed", "Billed"),
    ("exception", "Exception"),
    ("deleted", "Deleted in Salesforce"),
]


class FinsyncCrmDeal(models.Model):
    """A Salesforce opportunity and its line items, bound to the document it became.

    Unique per (connector, opportunity id): a won opportunity becomes one
    document (a draft customer invoice, or a sale order with the Sales bridge),
    read again it changes nothing; a billable change updates the document
    while it is a draft and opens an exception once it is not. Written by the
    sync only (no write right for people).
    """

    _name = "finsync.crm.deal"
    _description = "FinSync CRM Deal"
    _order = "id desc"
    _rec_name = "name"
    _check_company_auto = True

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    backend_id = fields.Many2one(
        "finsync.backend",
        string="Connector",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True, readonly=True
    )
    sf_id = fields.Char(string="Opportunity Id", required=True, readonly=True)
    name = fields.Char(readonly=True)
    sf_account_id = fields.Char(string="Account Id", readonly=True, index=True)
    stage = fields.Char(readonly=True)
    system_modstamp = fields.Char(string="SystemModstamp", readonly=True)
    opportunity = fields.Json(readonly=True)
    lines = fields.Json(readonly=True, help="The opportunity's line items by Id.")
    sf_line_ids = fields.Char(string="Line Item Ids", readonly=True, index="trigram")
    state = fields.Selection(DEAL_STATES, default="open", required=True, readonly=True)
    problem = fields.Char(readonly=True)
    partner_id = fields.Many2one("res.partner", readonly=True)
    move_id = fields.Many2one(
        "account.move", string="Invoice", readonly=True, index="btree_not_null", copy=False
    )
    applied_signature = fields.Char(readonly=True, copy=False)
    last_sync_date = fields.Datetime(readonly=True)
    wb_event_id = fields.Integer(string="Last Event Written Back", readonly=True, copy=False)
    wb_signature = fields.Char(readonly=True, copy=False)
    wb_date = fields.Datetime(string="Written Back On", readonly=True, copy=False)
    wb_status = fields.Char(string="Status Written Back", readonly=True, copy=False)
    lines_text = fields.Text(compute="_compute_lines_text", string="Line Items")

    _sql_constraints = [
        (
            "sf_id_unique",
            "UNIQUE(backend_id, sf_id)",
            "An opportunity is bound once per connector.",
        ),
    ]

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    def _compute_lines_text(self):
        for deal in self:
            deal.lines_text = "\n".join(
                f"{line['code'] or '?'}  {line['quantity']:g} x {line['price_unit']:.2f}"
                + (f"  -{line['discount']:g}%" if line["discount"] else "")
                for line in deal_mapper.sorted_lines(deal.lines or {})
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_crm_apply_again(self):
        """Button: evaluate the deals again (after creating a missing product, say)."""
        if not self.env.user.has_group("finsync_base.group_finsync_accountant"):
            raise UserError(self.env._("Only FinSync accountants apply CRM deals again."))
        # sudo: deals have no write right; the accountant's request was checked above.
        self.sudo()._crm_apply(again=True)
        return True

    def action_open_document(self):
        self.ensure_one()
        document = self._crm_document()
        return {
            "type": "ir.actions.act_window",
            "res_model": document._name,
            "res_id": document.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # Sync: records -> deals
    # ------------------------------------------------------------------
    @api.model
    def _crm_sync_deals(self, backend, opportunities, line_items, deleted=()):
        """Store a page of opportunity and line item versions, then apply the deals."""
        deal_objects = ("Opportunity", "OpportunityLineItem")
        deleted = [item for item in deleted if item.get("sobject") in deal_objects]
        if not (opportunities or line_items or deleted):
            return self.browse()
        currency_field = backend.crm_currency_field
        opps = self._crm_newest(
            deal_mapper.map_opportunity(r, currency_field) for r in opportunities
        )
        lines = self._crm_newest(deal_mapper.map_line(r) for r in line_items)
        gone_opps = {item["id"] for item in deleted if item.get("sobject") == "Opportunity"}
        gone_lines = {
            item["id"] for item in deleted if item.get("sobject") == "OpportunityLineItem"
        }
        wanted = set(opps) | {line["opportunity"] for line in lines.values()} | gone_opps
        deals = self._crm_deals(backend, wanted)
        for deal in self._crm_line_owners(backend, gone_lines):
            deals.setdefault(deal.sf_id, deal)
        missing = sorted(wanted - set(deals) - gone_opps)
        if missing:
            # sudo: deals are read-only to people; the pull creates them.
            created = self.sudo().create(
                [{"backend_id": backend.id, "sf_id": sf_id} for sf_id in missing]
            )
            deals.update({deal.sf_id: deal for deal in created})
        lines_by_opp = {}
        for line in lines.values():
            lines_by_opp.setdefault(line["opportunity"], []).append(line)
        # sudo: deals are written by the sync only (no write right for people).
        touched_ids = []
        now = fields.Datetime.now()
        for sf_id, deal in deals.items():
            vals = deal._crm_merge(
                opps.get(sf_id), lines_by_opp.get(sf_id, ()), gone_lines, sf_id in gone_opps
            )
            if vals:
                deal.write({**vals, "last_sync_date": now})
                touched_ids.append(deal.id)
        touched = self.sudo().browse(touched_ids)
        touched._crm_apply()
        return touched

    @api.model
    def _crm_newest(self, values):
        newest = {}
        for item in values:
            known = newest.get(item["id"])
            if not known or known["stamp"] < item["stamp"]:
                newest[item["id"]] = item
        return newest

    @api.model
    def _crm_deals(self, backend, sf_ids):
        # sudo: deals are written by the sync only, whatever the caller's rights.
        deals = self.sudo().search([("backend_id", "=", backend.id), ("sf_id", "in", list(sf_ids))])
        return {deal.sf_id: deal for deal in deals}

    @api.model
    def _crm_line_owners(self, backend, line_ids):
        if not line_ids:
            return self.browse()
        # sudo: as above; a few deleted lines per pull, looked up by their ids.
        candidates = self.sudo().search(
            [("backend_id", "=", backend.id)]
            + ["|"] * (len(line_ids) - 1)
            + [("sf_line_ids", "ilike", line_id) for line_id in line_ids]
        )
        return candidates.filtered(lambda d: set(d.sf_line_ids.split()) & line_ids)

    def _crm_merge(self, opp, lines, gone_lines, gone):
        """The values of this deal with a newer opportunity, line items or deletions.

        ``lines``: the newest versions of this opportunity's line items in the page.
        """
        self.ensure_one()
        vals = {}
        if gone:
            return {"state": "deleted"} if self.state != "deleted" else {}
        if opp and (not self.system_modstamp or self.system_modstamp < opp["stamp"]):
            vals.update(
                opportunity=opp,
                system_modstamp=opp["stamp"],
                name=opp["name"],
                stage=opp["stage"],
                sf_account_id=opp["account"],
            )
        if not lines and not gone_lines:
            return vals
        known = dict(self.lines or {})
        changed = False
        for line in lines:
            if line["id"] not in known or known[line["id"]]["stamp"] < line["stamp"]:
                known[line["id"]] = line
                changed = True
        for line_id in gone_lines & set(known):
            del known[line_id]
            changed = True
        if changed:
            vals.update(lines=known, sf_line_ids=" ".join(sorted(known)))
        return vals

    # ------------------------------------------------------------------
    # Apply: deals -> documents
    # ------------------------------------------------------------------
    def _crm_apply(self, again=False):
        """Create or update the documents of billable deals, set-based.

        ``again``: an accountant asked to apply them again (*Apply Again*): a deal
        whose exception was about something fixed since leaves it.

        Per deal: not at the billing stage -> nothing; its account not bound or
        its line items not read yet -> waiting; an unknown or ambiguous product
        code, or an unknown currency -> an exception and nothing created; the
        billable content unchanged -> nothing; changed while the document is a
        draft -> the draft follows; changed after -> an exception.
        """
        if not self:
            return
        context = self._crm_context()
        context["again"] = again
        to_create, to_update, problems = [], [], {}
        for deal in self:
            outcome = deal._crm_evaluate(context)
            if outcome is None:
                continue
            kind, data = outcome
            if kind == "problem":
                problems[deal] = data
            elif kind == "create":
                to_create.append((deal, data))
            elif kind == "update":
                to_update.append((deal, data))
        if to_update:
            self._crm_update_documents(to_update)
        if to_create:
            self._crm_create_documents(to_create)
        if problems:
            self._crm_open_problems(problems)

    def _crm_context(self):
        """What evaluating the deals needs, loaded once: partners, products, currencies."""
        backends = self.backend_id
        # sudo: the sync reads bindings and products whatever the caller's rights.
        bindings = (
            self.env["finsync.crm.binding"]
            .sudo()
            .search(
                [
                    ("backend_id", "in", backends.ids),
                    ("sf_id", "in", list(set(self.mapped("sf_account_id")) - {False, None})),
                    ("state", "=", "bound"),
                ]
            )
        )
        partners = {(b.backend_id.id, b.sf_id): b.partner_id for b in bindings}
        codes = {
            line["code"]
            for deal in self
            for line in (deal.lines or {}).values()
            if line.get("code")
        }
        products = {}
        if codes:
            # sudo: the pull's technical user reads products (codes and ids only) to bill
            # the deal; nothing of them is shown or returned to a person.
            found = (
                self.env["product.product"]
                .sudo()
                .search(
                    [
                        ("default_code", "in", list(codes)),
                        ("company_id", "in", [False, *backends.company_id.ids]),
                    ]
                )
            )
            for product in found:
                products.setdefault(product.default_code, []).append(product)
        # sudo: active currencies by code, configuration any user may read in Odoo.
        currencies = {
            c.name: c for c in self.env["res.currency"].sudo().search([("active", "=", True)])
        }
        return {"partners": partners, "products": products, "currencies": currencies}

    def _crm_evaluate(self, context):
        """``None`` (nothing to do), or ``(kind, data)``: ``problem`` with a message,
        ``create`` or ``update`` with the document's values."""
        self.ensure_one()
        opp, backend = self.opportunity, self.backend_id
        document = self._crm_document()
        if self.state == "deleted":
            if document and self.state != "exception":
                return "problem", self.env._(
                    "Opportunity %(name)s was deleted in Salesforce after it became %(doc)s.",
                    name=self.name,
                    doc=document.display_name,
                )
            return None
        if not opp or opp.get("stage") != backend.crm_won_stage:
            if document and self.applied_signature:
                return "problem", self.env._(
                    "Opportunity %(name)s left the stage %(stage)s after it became %(doc)s.",
                    name=self.name,
                    stage=backend.crm_won_stage,
                    doc=document.display_name,
                )
            self._crm_set_state("open")
            return None
        partner = context["partners"].get((backend.id, opp.get("account")))
        if not partner:
            self._crm_set_state("waiting", self.env._("Its account is not bound to a partner yet."))
            return None
        if opp.get("has_lines") and not self.lines:
            self._crm_set_state("waiting", self.env._("Its line items are not read yet."))
            return None
        signature = deal_mapper.deal_signature(opp, self.lines or {})
        if document and signature == self.applied_signature:
            if self.state != "exception" or context.get("again"):
                self._crm_set_state("billed")
            return None
        vals_or_problem = self._crm_document_vals(partner, context)
        if isinstance(vals_or_problem, str):
            return "problem", vals_or_problem
        if document and not self._crm_document_is_draft(document):
            return "problem", self.env._(
                "Opportunity %(name)s changed in Salesforce after %(doc)s was posted: "
                "the document is left as it is.",
                name=self.name,
                doc=document.display_name,
            )
        return ("update" if document else "create"), (vals_or_problem, signature, partner)

    def _crm_set_state(self, state, problem=False):
        if self.state != state or self.problem != problem:
            self.write({"state": state, "problem": problem})

    def _crm_document_vals(self, partner, context):
        """The values of this deal's document, or a message saying why there can be none."""
        self.ensure_one()
        opp = self.opportunity
        company = self.company_id
        lines = deal_mapper.sorted_lines(self.lines or {})
        unknown = sorted({line["code"] or "" for line in lines} - set(context["products"]))
        if unknown:
            return self.env._(
                "Opportunity %(name)s: no product with internal reference %(codes)s.",
                name=self.name,
                codes=", ".join(code or self.env._("(empty)") for code in unknown),
            )
        ambiguous = sorted(
            line["code"] for line in lines if len(context["products"][line["code"]]) > 1
        )
        if ambiguous:
            return self.env._(
                "Opportunity %(name)s: several products have internal reference %(codes)s.",
                name=self.name,
                codes=", ".join(sorted(set(ambiguous))),
            )
        currency = company.currency_id
        if opp.get("currency"):
            currency = context["currencies"].get(opp["currency"])
            if not currency:
                return self.env._(
                    "Opportunity %(name)s: currency %(currency)s is not active in Odoo.",
                    name=self.name,
                    currency=opp["currency"],
                )
        partner = partner.with_company(company)
        fiscal_position = (
            self.env["account.fiscal.position"].with_company(company)._get_fiscal_position(partner)
        )
        return {
            "move_type": "out_invoice",
            "company_id": company.id,
            "partner_id": partner.id,
            "currency_id": currency.id,
            "invoice_origin": opp.get("name") or self.sf_id,
            "fiscal_position_id": fiscal_position.id,
            "invoice_payment_term_id": partner.property_payment_term_id.id,
            "invoice_line_ids": [
                Command.create(
                    {
                        "product_id": context["products"][line["code"]][0].id,
                        "name": line["description"]
                        or context["products"][line["code"]][0].display_name,
                        "quantity": line["quantity"],
                        "price_unit": line["price_unit"],
                        "discount": line["discount"],
                    }
                )
                for line in lines
            ],
        }

    # ------------------------------------------------------------------
    # Documents (the Sales bridge overrides these)
    # ------------------------------------------------------------------
    def _crm_document(self):
        """The Odoo document this deal became (an empty recordset if none)."""
        return self.move_id

    @api.model
    def _crm_document_is_draft(self, document):
        return document.state == "draft"

    def _crm_create_documents(self, to_create):
        """``[(deal, (vals, signature, partner))]``: all draft invoices at once, written
        set-based where Odoo's outcome is certain (``finsync.invoice.bulk``), through
        ``account.move.create`` otherwise."""
        # sudo: the sync creates invoices for whoever pulls (connectors hold no invoicing
        # rights); what they contain was checked above.
        moves = (
            self.env["finsync.invoice.bulk"]
            .sudo()
            .with_context(default_move_type="out_invoice")
            ._create_drafts([data[0] for _deal, data in to_create])
        )
        for (deal, (_vals, signature, partner)), move in zip(to_create, moves, strict=True):
            deal.write(
                {
                    "move_id": move.id,
                    "partner_id": partner.id,
                    "applied_signature": signature,
                    "state": "billed",
                    "problem": False,
                }
            )
        _logger.info("Salesforce: %d won deals became draft invoices", len(moves))
        return moves

    def _crm_update_document(self, data):
        """The draft follows the opportunity (one deal; see ``_crm_update_documents``)."""
        self.ensure_one()
        return self._crm_update_documents([(self, data)])

    def _crm_update_documents(self, to_update):
        """``[(deal, (vals, signature, partner))]``: the drafts follow their opportunities.

        All drafts at once, as one ``write`` of many invoices would: their
        lines are replaced by one ``unlink`` and one ``create``, the header
        values that changed are written, and the invoices' dynamic lines
        (taxes, payment terms) are synchronised and balanced once for all
        of them on the way out (Odoo's own containers, as ``account.move``'s
        ``create`` and ``write`` use them).
        """
        # sudo: as in _crm_create_documents
        Move = self.env["account.move"].sudo()
        moves = Move.browse([deal.move_id.id for deal, _data in to_update])
        headers, line_vals = {}, []
        for (_deal, (vals, _signature, _partner)), move in zip(to_update, moves, strict=True):
            vals = dict(vals)
            commands = vals.pop("invoice_line_ids")
            vals.pop("move_type", None)
            vals.pop("company_id", None)
            current = move._convert_to_write({name: move[name] for name in vals})
            changed = {name: value for name, value in vals.items() if current[name] != value}
            if changed:
                headers.setdefault(tuple(sorted(changed.items())), []).append(move.id)
            line_vals += [
                {**command[2], "move_id": move.id, "display_type": "product"}
                for command in commands
            ]
        container = {"records": moves}
        with moves._check_balanced(container), moves._sync_dynamic_lines(container):
            for header, move_ids in headers.items():
                Move.browse(move_ids).write(dict(header))
            moves.invoice_line_ids.unlink()
            self.env["account.move.line"].sudo().create(line_vals)  # sudo: as above
        for deal, (_vals, signature, partner) in to_update:
            deal.write(
                {
                    "partner_id": partner.id,
                    "applied_signature": signature,
                    "state": "billed",
                    "problem": False,
                }
            )
        _logger.info("Salesforce: %d draft invoices follow their won deals", len(moves))
        return moves

    # ------------------------------------------------------------------
    # Exceptions
    # ------------------------------------------------------------------
    def _crm_open_problems(self, problems):
        deals = self.browse([deal.id for deal in problems])
        for deal, message in problems.items():
            deal.write({"state": "exception", "problem": message})
        return self.env["finsync.exception"]._open_for_records(
            "crm_deal",
            deals,
            lambda d: {
                "name": d.problem,
                "description": json.dumps(
                    {"opportunity": d.sf_id, "stage": d.stage}, sort_keys=True
                ),
                "backend_id": d.backend_id.id,
                "crm_deal_id": d.id,
            },
        )
