import json

from odoo import api, fields, models
from odoo.tools import date_utils


class FinsyncBackend(models.Model):
    _inherit = "finsync.backend"

    @api.model
    def _load_demo_data(self, backend_ids):
        """Feed the demo connector through the inbox (idempotent: keys never change)."""
        backend = self.browse(backend_ids)
        bank_journal = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", backend.company_id.id)], limit=1
        )
        backend.journal_ids = bank_journal
        currency = backend.company_id.currency_id.name
        today = fields.Date.context_today(self)
        rows = [
            ("DEMO-0001", "bank_credit", "settled", "1250.00", "Azure Interior", "INV/0001"),
            ("DEMO-0002", "bank_credit", "settled", "480.50", "Deco Addict", "Payment 2026-44"),
            ("DEMO-0003", "bank_debit", "settled", "-89.99", "Office Supplies Ltd", "Order 7781"),
            ("DEMO-0004", "bank_credit", "initiated", "300.00", "Gemini Furniture", "SO0042"),
            ("DEMO-0005", "bank_credit", "acknowledged", "75.25", "Lumber Inc", "INV/0007"),
            ("DEMO-0006", "bank_debit", "rejected", "-1200.00", "Wood Corner", "Rent"),
            ("DEMO-0007", "bank_credit", "settled", "999.00", "Ready Mat", "+++090/9337/55493+++"),
            ("DEMO-0008", "bank_credit", "settled", "150.00", "The Jackson Group", "INV/0009"),
        ]
        payload = {
            "transactions": [
                {
                    "external_id": ext,
                    "kind": kind,
                    "state": state,
                    "amount": amount,
                    "currency": currency,
                    "booking_date": str(date_utils.subtract(today, days=index)),
                    "counterparty_name": name,
                    "counterparty_account": f"BE71096123456{index:03d}",
                    "remittance": remittance,
                }
                for index, (ext, kind, state, amount, name, remittance) in enumerate(rows)
            ]
        }
        events = self.env["finsync.event"]._ingest(
            backend,
            [
                {
                    "external_id": "demo-feed-1",
                    "event_type": "statement",
                    "payload": json.dumps(payload, indent=2),
                    "filename": "demo-feed-1.json",
                },
                {
                    "external_id": "demo-feed-2",
                    "event_type": "statement",
                    "payload": '{"transactions": [{"external_id": "DEMO-0099", '
                    '"amount": "12,50", "currency": "EUR", "booking_date": "2026-02-30"}]}',
                    "filename": "demo-feed-2.json",
                },
            ],
        )
        events._process()
        transactions = self.env["finsync.transaction"].search([("backend_id", "=", backend.id)])
        by_ref = {tx.external_id: tx for tx in transactions}
        if by_ref["DEMO-0001"].state == "settled":
            by_ref["DEMO-0001"]._transition("reconciled", reason="Matched with INV/0001 (demo)")
        if by_ref["DEMO-0003"].state == "settled":
            by_ref["DEMO-0003"]._transition("reversed", reason="Card payment reversed (demo)")
        exceptions = self.env["finsync.exception"]
        exceptions._open_for_records(
            "unmatched",
            by_ref["DEMO-0002"],
            lambda tx: {
                "name": self.env._("No open item for %(ref)s", ref=tx.remittance),
                "backend_id": backend.id,
                "transaction_ids": [fields.Command.set(tx.ids)],
            },
        )
        exceptions._open_for_records(
            "amount_mismatch",
            by_ref["DEMO-0008"],
            lambda tx: {
                "name": self.env._("INV/0009 is 160.00, the payment 150.00"),
                "backend_id": backend.id,
                "transaction_ids": [fields.Command.set(tx.ids)],
                "severity": "high",
            },
        )
        exceptions._open_for_records(
            "missing_reference",
            by_ref["DEMO-0007"],
            lambda tx: {
                "name": self.env._(
                    "Structured reference %(ref)s matches no invoice", ref=tx.remittance
                ),
                "backend_id": backend.id,
                "transaction_ids": [fields.Command.set(tx.ids)],
                "severity": "low",
            },
        )
        return True
