from odoo.addons.finsync_gateway.tests.common import GatewayCommon
from odoo.addons.finsync_testing.tools.paypal_simulator import PayPalSimulator

from ..adapters.paypal_api import SHARED_TOKENS

CLIENT_ID = "finsync-paypal-tests"
CLIENT_SECRET = "finsync-paypal-tests-secret"
WEBHOOK_ID = "WH-FINSYNC-TESTS"


class PayPalCommon(GatewayCommon):
    """A PayPal connector on the test company, in the company's currency, with rules."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.code = cls.currency.name
        cls.paypal = cls.gateway = cls.env["finsync.backend"].create(
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
        return self.ingest_documents(
            documents,
            lambda doc: doc.get("id") if doc.get("event_type") else None,
            lambda doc: doc.get("event_type") or event_type,
        )
