import json

from odoo.addons.finsync_base.tests.common import FinsyncCommon

from ..adapters.paypal_api import SHARED_TOKENS
from ..tools.paypal_simulator import PayPalSimulator

CLIENT_ID = "finsync-paypal-tests"
CLIENT_SECRET = "finsync-paypal-tests-secret"
WEBHOOK_ID = "WH-FINSYNC-TESTS"


class PayPalCommon(FinsyncCommon):
    """A PayPal connector on the test company, in the company's currency, with rules."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.currency = cls.env.company.currency_id
        cls.code = cls.currency.name
        cls.paypal = cls.env["finsync.backend"].create(
            {
                "name": "PayPal",
                "backend_type": "paypal",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "webhook_secret": WEBHOOK_ID,
                "api_url": "http://127.0.0.1:9",
                "company_id": cls.env.company.id,
            }
        )
        cls.env["finsync.match.rule"].create(
            {"name": "References", "company_id": cls.env.company.id}
        )

    def setUp(self):
        super().setUp()
        SHARED_TOKENS.clear()

    def start_simulator(self, **kwargs):
        kwargs.setdefault("webhook_id", WEBHOOK_ID)
        sim = PayPalSimulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **kwargs).start()
        self.addCleanup(sim.stop)
        self.paypal.api_url = sim.url
        return sim

    def page(self, *details):
        return {
            "transaction_details": list(details),
            "page": 1,
            "total_pages": 1,
            "total_items": len(details),
        }

    def deliver(self, *documents, event_type="transactions"):
        """Store PayPal documents (pages, or webhook events) as events and process them now."""
        events = self.env["finsync.event"]._ingest(
            self.paypal,
            [
                {
                    "payload": json.dumps(doc),
                    "external_id": doc.get("id") if doc.get("event_type") else None,
                    "event_type": doc.get("event_type") or event_type,
                }
                for doc in documents
            ],
        )
        events._process()
        return events

    def transactions(self, **domain):
        return self.env["finsync.transaction"].search(
            [("backend_id", "=", self.paypal.id)] + [(k, "=", v) for k, v in domain.items()]
        )

    def journal_total(self, currency=None):
        """Sum of the clearing journal's lines (the PayPal balance as booked)."""
        journal = self.paypal._paypal_find_journal(currency or self.currency)
        lines = self.env["account.bank.statement.line"].search([("journal_id", "=", journal.id)])
        return sum(lines.mapped("amount")), lines

    def assert_balanced(self, moves):
        for move in moves:
            self.assertEqual(move.state, "posted")
            self.assertTrue(
                move.company_currency_id.is_zero(sum(move.line_ids.mapped("balance"))),
                f"{move.name} does not balance",
            )
