import json

from odoo import models


class FinsyncBackend(models.Model):
    """The demo stories of the gateway demo connectors, told by their simulators.

    Moved from finsync_stripe and finsync_paypal (no production addon ships a
    simulator); called by demo/finsync_testing_demo.xml on the demo connectors
    those addons declare.
    """

    _inherit = "finsync.backend"

    def _load_stripe_demo_data(self):
        """The simulator's demo story as webhook events, and the bank line of its first payout."""
        from ..tools.stripe_simulator import demo_simulator

        self.ensure_one()
        backend = self.with_context(finsync_stripe_reads_payouts=True)
        sim = demo_simulator()
        events = backend.env["finsync.event"]._ingest(
            backend,
            [
                {
                    "payload": json.dumps(event),
                    "external_id": event["id"],
                    "event_type": event["type"],
                    "name": f"{event['type']} {event['id']}",
                    "signature_state": "valid",
                }
                for event in sim.events()
            ],
        )
        events._process()
        settlements = self.env["finsync.settlement"].search([("backend_id", "=", self.id)])
        for settlement in settlements:
            page = sim._list(
                {"payout": [settlement.name], "limit": ["100"], "expand[]": ["data.source"]}
            )
            settlement._link_page(page)
        settlements._check_totals()
        paid = settlements.filtered(lambda s: s.gateway_status == "paid")[:1]
        self._gateway_demo_bank_line(paid, f"STRIPE PAYOUT {paid.name}")
        return True

    def _load_paypal_demo_data(self):
        """The simulator's demo story as a pulled page, and the bank line of its payout."""
        from ..tools.paypal_simulator import demo_simulator

        self.ensure_one()
        sim = demo_simulator()
        page = {
            "transaction_details": sim.transactions,
            "page": 1,
            "total_pages": 1,
            "total_items": len(sim.transactions),
        }
        self._connector().store(
            [
                {
                    "event_type": "transactions",
                    "name": "demo transactions",
                    "payload": json.dumps(page),
                }
            ]
        )
        settlement = self.env["finsync.settlement"].search([("backend_id", "=", self.id)], limit=1)
        self._gateway_demo_bank_line(settlement, f"PAYPAL TRANSFER {settlement.name}")
        return True
