from odoo.tests import TransactionCase, tagged

# Differ between any two partners, whoever creates them.
OWN_FIELDS = {"id", "create_date", "write_date", "create_uid", "write_uid"}


@tagged("post_install", "-at_install")
class TestBulkContacts(TransactionCase):
    """The sync's partner paths give the partners ``res.partner.create`` gives."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        Pricelist = cls.env["product.pricelist"]
        belgium = cls.env.ref("base.be")
        # The country's default pricelist, and another one a parent chose.
        cls.belgian = Pricelist.create(
            {
                "name": "Belgian prices",
                "country_group_ids": [
                    cls.env["res.country.group"]
                    .create({"name": "Benelux", "country_ids": [belgium.id]})
                    .id
                ],
            }
        )
        cls.special = Pricelist.create({"name": "Key account prices"})
        Partner = cls.env["res.partner"]
        address = {"street": "1 Market Street", "city": "Brussels", "zip": "1000"}
        cls.parents = Partner.create(
            [
                {"name": "Key Account", "is_company": True, "country_id": belgium.id, **address},
                {"name": "Local Shop", "is_company": True, "country_id": belgium.id, **address},
                {"name": "No Address", "is_company": True, "vat": "BE0477472701", "lang": "en_US"},
            ]
        )
        cls.parents[0].property_product_pricelist = cls.special
        cls.parents[1].property_product_pricelist = cls.belgian
        cls.backend = cls.env["finsync.backend"].create(
            {"name": "Salesforce", "backend_type": "salesforce", "company_id": cls.env.company.id}
        )

    def stored_values(self, partners):
        names = [
            name
            for name, field in partners._fields.items()
            if field.store and field.column_type and name not in OWN_FIELDS
        ]
        partners.invalidate_recordset()
        result = []
        for row in partners.read([*names, "property_product_pricelist"], load=None):
            own_id = row.pop("id")
            # A company is its own commercial partner: "itself" compares equal.
            result.append({k: "itself" if v == own_id else v for k, v in row.items()})
        return result

    def test_contacts_equal_the_orm_ones(self):
        vals_list = [
            {
                "type": "contact",
                "parent_id": parent.id,
                "name": f"Ann Contact {index}",
                "email": f"ann.{index}@example.com",
                "phone": "+32 2 555 00 00",
                "function": "CFO",
            }
            for index, parent in enumerate(self.parents)
        ]
        bulk = self.env["finsync.crm.binding"]._crm_create_contact_partners(vals_list)
        orm = self.env["res.partner"].create(vals_list)
        self.assertEqual(self.stored_values(bulk), self.stored_values(orm))
        self.assertEqual(bulk[0].property_product_pricelist, self.special, "the parent's")
        self.assertEqual(bulk[1].property_product_pricelist, self.belgian, "the parent's")
        self.assertEqual(bulk.commercial_partner_id, self.parents)

    def test_accounts_equal_the_orm_ones(self):
        Binding = self.env["finsync.crm.binding"]
        countries = Binding._crm_countries()
        crm_list = [
            {
                "name": "Acme Trading",
                "street": "2 Market Street",
                "city": "Brussels",
                "zip": "1000",
                "country": "BE",
                "phone": "+32 2 555 00 01",
                "website": "https://acme.example",
            },
            {"name": "Bare Minimum"},
        ]
        bulk = Binding._crm_create_partners(self.backend, crm_list, countries)
        orm = self.env["res.partner"].create(
            [Binding._crm_partner_vals(self.backend, crm, countries) for crm in crm_list]
        )
        self.assertEqual(self.stored_values(bulk), self.stored_values(orm))
