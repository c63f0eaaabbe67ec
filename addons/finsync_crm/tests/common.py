from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from odoo.addons.finsync_base.tests.common import FinsyncCommon
from odoo.addons.finsync_testing.tools.salesforce_simulator import SalesforceSimulator

CLIENT_ID = "3MVG9FinSyncTestConsumerKey"
CLIENT_SECRET = "finsync-test-consumer-secret"
USERNAME = "integration@finsync.test"


def generate_key_pair():
    """A throwaway RSA key pair (PEM private key, PEM public key): tests only."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


PRIVATE_KEY, PUBLIC_KEY = generate_key_pair()


def simulator(**kwargs):
    kwargs.setdefault("client_id", CLIENT_ID)
    kwargs.setdefault("client_secret", CLIENT_SECRET)
    kwargs.setdefault("public_key", PUBLIC_KEY)
    kwargs.setdefault("username", USERNAME)
    return SalesforceSimulator(**kwargs)


class CrmCommon(FinsyncCommon):
    """A Salesforce connector (JWT flow) on the test company, and its simulator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesforce = cls.env["finsync.backend"].create(
            {
                "name": "Salesforce",
                "backend_type": "salesforce",
                "company_id": cls.env.company.id,
                "crm_auth_flow": "jwt",
                "client_id": CLIENT_ID,
                "crm_username": USERNAME,
                "crm_private_key": PRIVATE_KEY,
                "crm_vat_field": "VAT__c",
                "crm_iban_field": "IBAN__c",
            }
        )
        cls.belgium = cls.env.ref("base.be")

    def setUp(self):
        super().setUp()
        self.sim = self.start_simulator()

    def start_simulator(self, **kwargs):
        sim = simulator(**kwargs).start()
        self.addCleanup(sim.stop)
        self.salesforce.api_url = sim.url
        return sim

    def pull(self):
        return self.salesforce._pull_job()

    def bindings(self, sobject="Account", **domain):
        return self.env["finsync.crm.binding"].search(
            [("backend_id", "=", self.salesforce.id), ("sf_object", "=", sobject)]
            + [(key, "=", value) for key, value in domain.items()]
        )

    def binding(self, sf_id):
        return self.env["finsync.crm.binding"].search(
            [("backend_id", "=", self.salesforce.id), ("sf_id", "=", sf_id)]
        )

    def exceptions(self, exception_type):
        return self.env["finsync.exception"].search(
            [("backend_id", "=", self.salesforce.id), ("exception_type", "=", exception_type)]
        )

    def account(self, name, **values):
        values.setdefault("BillingCountry", "Belgium")
        values.setdefault("BillingCity", "Brussels")
        values.setdefault("Phone", "+32 2 000 00 00")
        return self.sim.add_account(name, **values)
