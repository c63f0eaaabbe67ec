from odoo.addons.finsync_gateway.tests.common import GatewayCommon
from odoo.addons.finsync_testing.tools.stripe_simulator import StripeSimulator

API_KEY = "sk_test_finsync_tests"
SECRET = "whsec_finsync_tests"


class StripeCommon(GatewayCommon):
    """A Stripe connector on the test company, in the company's currency, with rules."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.code = cls.currency.name.lower()
        cls.stripe = cls.gateway = cls.env["finsync.backend"].create(
            {
                "name": "Stripe",
                "backend_type": "stripe",
                "api_key": API_KEY,
                "webhook_secret": SECRET,
                "company_id": cls.env.company.id,
            }
        )

    def start_simulator(self, **kwargs):
        sim = StripeSimulator(api_key=API_KEY, **kwargs).start()
        self.addCleanup(sim.stop)
        self.stripe.api_url = sim.url
        return sim

    def deliver(self, *documents, event_type="webhook"):
        """Store Stripe documents (events, or pages) as events and process them now."""
        return self.ingest_documents(
            documents,
            lambda doc: doc.get("id") if doc.get("object") == "event" else None,
            lambda doc: doc.get("type") or event_type,
        )
