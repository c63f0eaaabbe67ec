from odoo import fields, models
from odoo.tools import SQL

# Payment states that count as paid for ``invoice.paid`` (entering this set emits it).
PAID_STATES = ("paid", "in_payment")
# ``cr.precommit.data`` keys: last payment state seen per move in this transaction,
# and the moves that became paid (emitted once, when the transaction commits).
KNOWN_KEY = "finsync.outbox.payment_state"
PAID_KEY = "finsync.outbox.became_paid"


class AccountMove(models.Model):
    _inherit = "account.move"

    # ------------------------------------------------------------------
    # Outbound events: invoice.posted, invoice.paid
    # ------------------------------------------------------------------
    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        invoices = posted.filtered(lambda move: move.is_invoice(include_receipts=True))
        self.env["finsync.outbox.event"]._emit(
            "invoice.posted", invoices, AccountMove._outbox_payload
        )
        return posted

    def _compute_payment_state(self):
        """Remember invoices entering paid / in payment; ``invoice.paid`` is emitted at commit.

        The payment state is recomputed several times in one transaction (each
        reconciliation step): comparing with the state seen last in this
        transaction (else the stored one) and emitting from a pre-commit hook
        writes one event per invoice that ends the transaction paid.
        """
        watched = self.filtered(
            lambda move: isinstance(move.id, int) and move.is_invoice(include_receipts=True)
        )
        precommit = self.env.cr.precommit
        known = precommit.data.setdefault(KNOWN_KEY, {})
        unknown = [move_id for move_id in watched.ids if move_id not in known]
        if unknown:
            self.env.cr.execute(
                SQL(
                    "SELECT id, payment_state FROM account_move WHERE id = ANY(%s)",
                    unknown,
                )
            )
            known.update(self.env.cr.fetchall())
        result = super()._compute_payment_state()
        became_paid = precommit.data.setdefault(PAID_KEY, set())
        for move in watched:
            before = known.get(move.id)
            if before not in PAID_STATES and move.payment_state in PAID_STATES:
                if not became_paid:
                    precommit.add(self._outbox_emit_paid)
                became_paid.add(move.id)
            elif move.payment_state not in PAID_STATES:
                became_paid.discard(move.id)
            known[move.id] = move.payment_state
        return result

    def _outbox_emit_paid(self):
        """Pre-commit: ``invoice.paid`` for the invoices that became paid in this transaction."""
        data = self.env.cr.precommit.data
        ids = data.pop(PAID_KEY, set())
        data.pop(KNOWN_KEY, None)
        moves = self.browse(sorted(ids)).exists()
        paid = moves.filtered(lambda move: move.payment_state in PAID_STATES)
        self.env["finsync.outbox.event"]._emit("invoice.paid", paid, AccountMove._outbox_payload)

    def _outbox_payload(self):
        """The ``data`` of invoice events (version 1)."""
        return {
            "id": self.id,
            "number": self.name,
            "move_type": self.move_type,
            "state": self.state,
            "payment_state": self.payment_state,
            "partner": {"id": self.partner_id.id, "name": self.partner_id.name or ""},
            "currency": self.currency_id.name,
            "amount_total": self.amount_total,
            "amount_residual": self.amount_residual,
            "amount_paid": self.currency_id.round(self.amount_total - self.amount_residual),
            "invoice_date": fields.Date.to_string(self.invoice_date),
            "invoice_date_due": fields.Date.to_string(self.invoice_date_due),
            "ref": self.ref or None,
            "origin": self.invoice_origin or None,
        }
