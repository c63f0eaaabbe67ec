from odoo import api, models

# The demo connector's story (the same accounts as finsync_testing's Salesforce
# simulator serves, same Ids): a new customer, a likely duplicate of a demo
# partner, and a phone number changed on both sides.
DEMO_ACCOUNTS = [
    {
        "Id": "001DEMO00000000001",
        "Name": "Northwind Traders",
        "BillingStreet": "Rue de la Loi 16",
        "BillingCity": "Brussels",
        "BillingPostalCode": "1000",
        "BillingCountry": "Belgium",
        "Phone": "+32 2 555 12 12",
        "Website": "www.northwind.example.com",
        "SystemModstamp": "2026-01-05T09:00:00.000+0000",
    },
    {
        "Id": "001DEMO00000000002",
        "Name": "Contoso Consulting",
        "BillingStreet": "Keizersgracht 1",
        "BillingCity": "Amsterdam",
        "BillingPostalCode": "1015 CC",
        "BillingCountry": "Netherlands",
        "Phone": "+31 20 555 0101",
        "Website": "www.contoso.example.com",
        "SystemModstamp": "2026-01-05T09:00:01.000+0000",
    },
    {
        "Id": "001DEMO00000000003",
        "Name": "Azure Interior",
        "BillingStreet": "4557 De Silva St",
        "BillingCity": "Fremont",
        "BillingPostalCode": "94538",
        "BillingCountry": "United States",
        "Phone": "+1 870-931-0505",
        "Website": "www.azure-interior.example.com",
        "SystemModstamp": "2026-01-05T09:00:02.000+0000",
    },
]
DEMO_CONTACTS = [
    {
        "Id": "003DEMO00000000001",
        "AccountId": "001DEMO00000000001",
        "FirstName": "Alex",
        "LastName": "Northwind",
        "Email": "alex@northwind.example.com",
        "Title": "CFO",
        "SystemModstamp": "2026-01-05T09:00:03.000+0000",
    },
]
# Later, sales changed Northwind's phone in Salesforce while accounting changed it in Odoo.
DEMO_NORTHWIND_V2 = dict(
    DEMO_ACCOUNTS[0], Phone="+32 2 555 99 99", SystemModstamp="2026-01-06T10:00:00.000+0000"
)
DEMO_ODOO_PHONE = "+32 2 555 00 00"


class FinsyncBackend(models.Model):
    _inherit = "finsync.backend"

    @api.model
    def _crm_load_demo_data(self, backend_ids):
        """Feed the demo Salesforce connector's inbox: a conflict and a duplicate to decide."""
        backend = self.browse(backend_ids)
        connector = backend._connector()
        connector.store_records("Account", DEMO_ACCOUNTS)
        connector.store_records("Contact", DEMO_CONTACTS)
        northwind = self.env["finsync.crm.binding"].search(
            [("backend_id", "=", backend.id), ("sf_id", "=", DEMO_ACCOUNTS[0]["Id"])]
        )
        northwind.partner_id.phone = DEMO_ODOO_PHONE
        connector.store_records("Account", [DEMO_NORTHWIND_V2])
        return True
