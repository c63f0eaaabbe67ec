import json

from odoo.addons.finsync_base.tests.common import FinsyncCommon

from ..tools.stripe_simulator import StripeSimulator

API_KEY = "sk_test_finsync_tests"
SECRET = "whsec_finsync_tests"


class StripeCommon(FinsyncCommon):
    """A Stripe connector on the test company, in the company's currency, with rules."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.currency = cls.env.company.currency_id
        cls.code = cls.currency.name.lower()
        cls.stripe = cls.env["finsync.backend"].create(
            {
                "name": "Stripe",
                "backend_type": "stripe",
                "api_key": API_KEY,
                "webhook_secret": SECRET,
                "company_id": cls.env.company.id,
            }
        )
        cls.env["finsync.match.rule"].create(
            {"name": "References", "company_id": cls.env.company.id}
        )

    def start_simulator(self, **kwargs):
        sim = StripeSimulator(api_key=API_KEY, **kwargs).start()
        self.addCleanup(sim.stop)
        self.stripe.api_url = sim.url
        return sim

    def deliver(self, *documents, event_type="webhook"):
        """Store Stripe documents (events, or pages) as events and process them now."""
        events = self.env["finsync.event"]._ingest(
            self.stripe,
            [
                {
                    "payload": json.dumps(doc),
                    "external_id": doc.get("id") if doc.get("object") == "event" else None,
                    "event_type": doc.get("type") or event_type,
                }
                for doc in documents
            ],
        )
        events._process()
        return events

    def transactions(self, **domain):
        return self.env["finsync.transaction"].search(
            [("backend_id", "=", self.stripe.id)] + [(k, "=", v) for k, v in domain.items()]
        )

    def journal_total(self, currency=None):
        """Sum of the clearing journal's liquidity lines (the Stripe balance as booked)."""
        journal = self.stripe._stripe_find_journal(currency or self.currency)
        lines = self.env["account.bank.statement.line"].search([("journal_id", "=", journal.id)])
        return sum(lines.mapped("amount")), lines

    def assert_balanced(self, moves):
        for move in moves:
            self.assertEqual(move.state, "posted")
            self.assertTrue(
                move.company_currency_id.is_zero(sum(move.line_ids.mapped("balance"))),
                f"{move.name} does not balance",
            )
