"""Invoice states written back to Salesforce: an internal consumer of the outbox.

``invoice.posted``, ``invoice.paid`` and ``invoice.overdue`` (emitted by a
daily cron) of an invoice a won deal became update the opportunity and its
account: invoice number, status, amount paid and paid date, into the custom
fields named on the connector. One ``composite`` call with ``allOrNone``
PATCHes both records by their Salesforce ids, so a retried delivery never
leaves one written and the other not; the outbox retries a failed call on its
schedule. Never applied twice, never older over newer: each deal keeps the
outbox event it wrote back last and a digest of the values sent; an event
older than that one, or the same values again, sends nothing.
"""

import hashlib
import json
import logging

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.finsync_base.components.outbox import OutboxConsumer, register_consumer

from ..adapters import salesforce_deal_mapper as deal_mapper
from ..adapters.salesforce_client import SalesforceError, data_path

_logger = logging.getLogger(__name__)

STATUS_OF_EVENT = {
    "invoice.posted": "posted",
    "invoice.paid": "paid",
    "invoice.overdue": "overdue",
}
PAID_STATES = ("paid", "in_payment")


@register_consumer("crm_writeback")
class CrmWriteback(OutboxConsumer):
    label = "Salesforce write-back"
    event_types = tuple(STATUS_OF_EVENT)

    def listens(self, company_ids):
        return self.env["finsync.backend"]._crm_writeback_companies(company_ids)

    def deliver(self, event, delivery):
        if event.res_model != "account.move":
            return
        move = self.env["account.move"].browse(event.res_id)
        for deal in self.env["finsync.crm.deal"]._crm_deals_of_invoices(move):
            deal._crm_write_back(event)


class FinsyncCrmDeal(models.Model):
    _inherit = "finsync.crm.deal"

    # ------------------------------------------------------------------
    # Write-back
    # ------------------------------------------------------------------
    @api.model
    def _crm_deals_of_invoices(self, moves):
        """The deals whose billing made ``moves`` (the Sales bridge adds its orders')."""
        return self.search([("move_id", "in", moves.ids)])

    def _crm_write_back(self, event):
        """PATCH the opportunity and its account with the invoice state ``event`` tells.

        Runs in the outbox's delivery job (superuser). Raises to fail the
        attempt: the outbox retries it later.
        """
        self.ensure_one()
        backend = self.backend_id
        if not backend.crm_writeback or backend.backend_type != "salesforce":
            return False
        self._crm_lock()
        if event.id <= self.wb_event_id:
            _logger.info(
                "Salesforce %s: deal %s already has a newer state than event %s",
                backend.id,
                self.id,
                event.id,
            )
            return False
        state = self._crm_invoice_state(event)
        values = deal_mapper.writeback_values(backend._crm_writeback_fields(), state)
        signature = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
        if values and signature != self.wb_signature:
            self._crm_patch(values)
        self.write(
            {
                "wb_event_id": event.id,
                "wb_signature": signature,
                "wb_status": state["status"],
                "wb_date": fields.Datetime.now(),
            }
        )
        return True

    def _crm_lock(self):
        """Row lock: two deliveries of one deal write back one after the other."""
        self.env.cr.execute(
            SQL("SELECT id FROM finsync_crm_deal WHERE id = %s FOR UPDATE", self.id)
        )
        self.invalidate_recordset(["wb_event_id", "wb_signature"])

    def _crm_invoice_state(self, event):
        """The state ``event`` tells (its payload), with the date the invoice was paid."""
        data = (event.payload or {}).get("data") or {}
        move = self.env["account.move"].browse(event.res_id)
        status = STATUS_OF_EVENT.get(event.event_type, "posted")
        paid_date = None
        if status == "paid":
            # sudo: the outbox consumer (a technical user) reads when the invoice was paid.
            partials = (move.line_ids.matched_credit_ids | move.line_ids.matched_debit_ids).sudo()
            dates = [d for d in partials.mapped("max_date") if d]
            paid_date = fields.Date.to_string(max(dates) if dates else event.occurred_at.date())
        return {
            "number": data.get("number") or move.name,
            "status": status,
            "amount_paid": data.get("amount_paid") or 0.0,
            "paid_date": paid_date,
        }

    def _crm_patch(self, values):
        """One all-or-none composite call: the opportunity, then its account."""
        client = self.backend_id._connector().client()
        client.max_retries = 0  # the outbox retries on its own schedule
        requests = [
            {
                "method": "PATCH",
                "url": data_path(f"/sobjects/Opportunity/{self.sf_id}"),
                "referenceId": "opportunity",
                "body": values,
            }
        ]
        if self.sf_account_id:
            requests.append(
                {
                    "method": "PATCH",
                    "url": data_path(f"/sobjects/Account/{self.sf_account_id}"),
                    "referenceId": "account",
                    "body": values,
                }
            )
        answers = client.composite(requests, all_or_none=True)
        refused = [a for a in answers if int(a.get("httpStatusCode") or 500) >= 300]
        if refused or len(answers) != len(requests):
            codes = ", ".join(
                str((a.get("body") or [{}])[0].get("errorCode") if a.get("body") else "")
                for a in refused
            )
            raise SalesforceError(
                f"POST /composite: the write-back was refused ({codes or 'no answer'})"
            )
        _logger.debug("Salesforce %s: deal %s written back", self.backend_id.id, self.id)

    # ------------------------------------------------------------------
    # Overdue
    # ------------------------------------------------------------------
    @api.model
    def _cron_crm_overdue(self):
        """Daily: ``invoice.overdue`` once for each billed invoice past its due date."""
        today = fields.Date.context_today(self)
        deals = self.search(
            [
                ("move_id.state", "=", "posted"),
                ("move_id.payment_state", "in", ("not_paid", "partial")),
                ("move_id.invoice_date_due", "<", today),
                ("backend_id.crm_writeback", "=", True),
            ]
        )
        moves = deals.move_id
        Event = self.env["finsync.outbox.event"]
        told = Event._emitted_ids("invoice.overdue", moves)
        overdue = moves.filtered(lambda move: move.id not in told)
        return Event._emit("invoice.overdue", overdue, lambda move: move._outbox_payload())
