from odoo import fields, models


class AccountPayment(models.Model):
    _inherit = "account.payment"

    # ------------------------------------------------------------------
    # Outbound events: payment.received
    # ------------------------------------------------------------------
    def action_post(self):
        result = super().action_post()
        received = self.filtered(
            lambda pay: pay.payment_type == "inbound" and pay.state in ("in_process", "paid")
        )
        if received:
            # Confirming twice (a list's Confirm on confirmed payments) tells nothing new.
            told = self.env["finsync.outbox.event"]._emitted_ids("payment.received", received)
            self.env["finsync.outbox.event"]._emit(
                "payment.received",
                received.filtered(lambda pay: pay.id not in told),
                AccountPayment._outbox_payload,
            )
        return result

    def _outbox_payload(self):
        """The ``data`` of ``payment.received`` (version 1)."""
        return {
            "id": self.id,
            "number": self.name,
            "state": self.state,
            "partner": {"id": self.partner_id.id, "name": self.partner_id.name or ""},
            "currency": self.currency_id.name,
            "amount": self.amount,
            "date": fields.Date.to_string(self.date),
            "memo": self.memo or None,
            "journal": self.journal_id.code,
            "invoice_ids": self.reconciled_invoice_ids.ids,
        }
