import logging

from odoo import Command, api, fields, models

_logger = logging.getLogger(__name__)

QUOTATION_STATES = ("draft", "sent")


class FinsyncCrmDeal(models.Model):
    """Won deals as confirmed sale orders, through the document hooks of ``finsync_crm``.

    A deal makes an order when its connector's *Billing Document* says so and it
    has no invoice yet; a deal billed as an invoice before keeps its invoice. The
    order is confirmed at once (the deal is won: the quotation was the opportunity)
    and invoiced by the usual Sales flow; a change while it is a quotation again
    (cancelled and set to quotation) updates it, a change after opens an exception.
    """

    _inherit = "finsync.crm.deal"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------
    sale_order_id = fields.Many2one(
        "sale.order", string="Sale Order", readonly=True, index="btree_not_null", copy=False
    )

    # ------------------------------------------------------------------
    # Documents
    # ------------------------------------------------------------------
    def _crm_document(self):
        return self.sale_order_id or super()._crm_document()

    @api.model
    def _crm_document_is_draft(self, document):
        if document._name == "sale.order":
            return document.state in QUOTATION_STATES
        return super()._crm_document_is_draft(document)

    def _crm_makes_order(self):
        self.ensure_one()
        if self.sale_order_id:
            return True
        return not self.move_id and self.backend_id.crm_billing_document == "sale_order"

    def _crm_context(self):
        context = super()._crm_context()
        # sudo: the sync reads pricelists whatever the caller's rights (a small table).
        context["pricelists"] = (
            self.env["product.pricelist"]
            .sudo()
            .search([("company_id", "in", [False, *self.backend_id.company_id.ids])])
        )
        return context

    def _crm_document_vals(self, partner, context):
        vals = super()._crm_document_vals(partner, context)
        if isinstance(vals, str) or not self._crm_makes_order():
            return vals
        currency = self.env["res.currency"].browse(vals["currency_id"])
        pricelist = self._crm_pricelist(partner, currency, context["pricelists"])
        if pricelist is None:
            return self.env._(
                "Opportunity %(name)s: no pricelist in %(currency)s for a sale order "
                "(create one, then apply the deal again).",
                name=self.name,
                currency=currency.name,
            )
        return self._crm_order_vals(vals, pricelist)

    def _crm_pricelist(self, partner, currency, pricelists):
        """The partner's pricelist if in ``currency``, else the first one in it.

        An empty pricelist in the company's currency (Sales then uses that currency);
        ``None`` when there is none in another currency.
        """
        company = self.company_id
        preferred = partner.with_company(company).property_product_pricelist
        candidates = pricelists.filtered(
            lambda p: p.currency_id == currency and (not p.company_id or p.company_id == company)
        )
        if preferred in candidates:
            return preferred
        if candidates:
            return candidates[0]
        return pricelists.browse() if currency == company.currency_id else None

    @api.model
    def _crm_order_vals(self, invoice_vals, pricelist):
        """The sale order of the invoice ``finsync_crm`` would make: same partner, lines,
        currency (through ``pricelist``), payment terms, fiscal position and origin."""
        return {
            "company_id": invoice_vals["company_id"],
            "partner_id": invoice_vals["partner_id"],
            "pricelist_id": pricelist.id,
            "fiscal_position_id": invoice_vals["fiscal_position_id"],
            "payment_term_id": invoice_vals["invoice_payment_term_id"],
            "origin": invoice_vals["invoice_origin"],
            "order_line": [
                Command.create(
                    {
                        "product_id": line["product_id"],
                        "name": line["name"],
                        "product_uom_qty": line["quantity"],
                        "price_unit": line["price_unit"],
                        "discount": line["discount"],
                    }
                )
                for _command, _id, line in invoice_vals["invoice_line_ids"]
            ],
        }

    def _crm_create_documents(self, to_create):
        orders_to_make = [(deal, data) for deal, data in to_create if "order_line" in data[0]]
        invoices_to_make = [(deal, data) for deal, data in to_create if "order_line" not in data[0]]
        result = super()._crm_create_documents(invoices_to_make) if invoices_to_make else None
        if not orders_to_make:
            return result
        # sudo: the sync creates and confirms orders for whoever pulls (connectors hold no
        # sales rights); what they contain was checked by _crm_evaluate.
        orders = self.env["sale.order"].sudo().create([data[0] for _deal, data in orders_to_make])
        orders.action_confirm()
        for (deal, (_vals, signature, partner)), order in zip(orders_to_make, orders, strict=True):
            deal.write(
                {
                    "sale_order_id": order.id,
                    "partner_id": partner.id,
                    "applied_signature": signature,
                    "state": "billed",
                    "problem": False,
                }
            )
        _logger.info("Salesforce: %d won deals became sale orders", len(orders))
        return orders

    def _crm_update_documents(self, to_update):
        """Orders follow their deals one by one; invoices together (the base's batch)."""
        invoices = [(deal, data) for deal, data in to_update if "order_line" not in data[0]]
        for deal, data in to_update:
            if "order_line" in data[0]:
                deal._crm_update_document(data)
        return super()._crm_update_documents(invoices) if invoices else None

    def _crm_update_document(self, data):
        vals, signature, partner = data
        if "order_line" not in vals:
            return super()._crm_update_document(data)
        self.ensure_one()
        order = self.sale_order_id.sudo()  # sudo: as in _crm_create_documents
        new_lines = vals.pop("order_line")
        vals.pop("company_id", None)
        order.write(
            {
                **vals,
                "order_line": [Command.delete(line.id) for line in order.order_line] + new_lines,
            }
        )
        self.write(
            {
                "partner_id": partner.id,
                "applied_signature": signature,
                "state": "billed",
                "problem": False,
            }
        )
        return order

    # ------------------------------------------------------------------
    # Write-back
    # ------------------------------------------------------------------
    @api.model
    def _crm_deals_of_invoices(self, moves):
        orders = moves.invoice_line_ids.sale_line_ids.order_id
        deals = super()._crm_deals_of_invoices(moves)
        if orders:
            deals |= self.search([("sale_order_id", "in", orders.ids)])
        return deals

    @api.model
    def _cron_crm_overdue(self):
        """Also ``invoice.overdue`` once for each overdue invoice of a won deal's order."""
        events = super()._cron_crm_overdue()
        deals = self._search(
            [("sale_order_id", "!=", False), ("backend_id.crm_writeback", "=", True)]
        )
        moves = self.env["account.move"].search(
            [
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
                ("invoice_date_due", "<", fields.Date.context_today(self)),
                ("invoice_line_ids.sale_line_ids.order_id", "in", deals.subselect("sale_order_id")),
            ]
        )
        Event = self.env["finsync.outbox.event"]
        told = Event._emitted_ids("invoice.overdue", moves)
        overdue = moves.filtered(lambda move: move.id not in told)
        return events | Event._emit("invoice.overdue", overdue, lambda move: move._outbox_payload())
