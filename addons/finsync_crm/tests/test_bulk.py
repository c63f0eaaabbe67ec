from contextlib import contextmanager
from unittest.mock import patch

from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..models import finsync_crm_partner_bulk

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
        # A parent with a payment term, a fiscal position and a salesperson, no address.
        cls.term = cls.env.ref("account.account_payment_term_30days")
        cls.parents |= Partner.create(
            {
                "name": "Termed Buyer",
                "is_company": True,
                "vat": "BE0477472701",
                "email": "billing@termed.example.com",
                "user_id": cls.env.user.id,
                "property_payment_term_id": cls.term.id,
                "property_account_position_id": cls.env["account.fiscal.position"]
                .create({"name": "Intra-EU"})
                .id,
                "credit_limit": 5000.0,
            }
        )
        # A person without company flag, with a company name, as parent.
        cls.parents |= Partner.create({"name": "Sole Trader", "company_name": "Trader & Co"})
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
        # Links between the partners (a company is its own commercial entity, a
        # contact's parent) compare by position.
        position = {partner_id: f"#{index}" for index, partner_id in enumerate(partners.ids)}
        result = []
        for row in partners.read([*names, "property_product_pricelist"], load=None):
            row.pop("id")
            for name in ("parent_id", "commercial_partner_id"):
                row[name] = position.get(row[name], row[name])
            result.append(row)
        return result

    def raw_rows(self, partners):
        """Every stored column of ``partners`` as the database holds it (jsonb of
        company-dependent values included), in their order; links between them
        (parent, commercial entity) by position."""
        names = [
            name
            for name, field in partners._fields.items()
            if field.store and field.column_type and name not in OWN_FIELDS
        ]
        links = [
            name
            for name in names
            if partners._fields[name].type == "many2one"
            and partners._fields[name].comodel_name == "res.partner"
        ]
        self.env.flush_all()
        rows = self.env.execute_query_dict(
            SQL(
                "SELECT id, %s FROM res_partner WHERE id = ANY(%s)",
                SQL(", ").join(SQL.identifier(name) for name in names),
                partners.ids,
            )
        )
        position = {partner_id: f"#{index}" for index, partner_id in enumerate(partners.ids)}
        by_id = {row.pop("id"): row for row in rows}
        result = []
        for partner in partners:
            row = by_id[partner.id]
            for name in links:
                row[name] = position.get(row[name], row[name])
            result.append(row)
        return result

    def assertSamePartners(self, bulk, orm):
        self.maxDiff = None
        self.assertEqual(len(bulk), len(orm))
        for bulk_row, orm_row in zip(self.raw_rows(bulk), self.raw_rows(orm), strict=True):
            self.assertEqual(bulk_row, orm_row)
        self.assertEqual(self.stored_values(bulk), self.stored_values(orm))

    @contextmanager
    def assertSetBased(self, count):
        """Exactly ``count`` partners inserted set-based (not by ``res.partner.create``)."""
        Bulk = type(self.env["finsync.crm.partner.bulk"])
        original = Bulk._insert_partners
        inserted = []

        def spy(bulk, Partner, vals_list):
            inserted.append(len(vals_list))
            return original(bulk, Partner, vals_list)

        with patch.object(Bulk, "_insert_partners", spy):
            yield
        self.assertEqual(sum(inserted), count)

    def contact_vals(self, parents):
        return [
            {
                "type": "contact",
                "parent_id": parent.id,
                "name": f"Ann Contact {index}",
                # With and without email and phone.
                "email": f"Ann <ann.{index}@Example.com>" if index % 2 else False,
                "phone": "+32 2 555 00 00" if index % 2 else False,
                "function": "CFO",
            }
            for index, parent in enumerate(parents)
        ]

    def test_contacts_equal_the_orm_ones(self):
        vals_list = self.contact_vals(self.parents)
        with self.assertSetBased(len(vals_list)):
            bulk = self.env["finsync.crm.binding"]._crm_create_contact_partners(vals_list)
        orm = self.env["res.partner"].create(self.contact_vals(self.parents))
        self.assertSamePartners(bulk, orm)
        self.assertEqual(bulk[0].property_product_pricelist, self.special, "the parent's")
        self.assertEqual(bulk[1].property_product_pricelist, self.belgian, "the parent's")
        self.assertEqual(bulk[3].property_payment_term_id, self.term, "the parent's")
        self.assertEqual(bulk[3].user_id, self.env.user, "the parent's salesperson")
        self.assertEqual([p.commercial_partner_id for p in bulk], list(self.parents))
        self.assertEqual(bulk[4].complete_name, "Sole Trader, Ann Contact 4")
        self.assertEqual(bulk[1].email_normalized, "ann.1@example.com")
        self.assertEqual(self.parents[0].child_ids, bulk[0] | orm[0], "the parent knows them")
        self.assertEqual(
            self.env["res.partner"].search([("commercial_partner_id", "=", self.parents[3].id)]),
            self.parents[3] | bulk[3] | orm[3],
        )

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
            {
                "name": "Taxed Trading",
                "country": "belgium",
                "vat": "BE0477472701",
                "website": "taxed.example.com",
                "iban": "BE71096123456769",
            },
            {"name": "Far Away", "city": "Lyon", "country": "FR", "phone": "+33 4 00 00 00 00"},
        ]
        with self.assertSetBased(len(crm_list)):
            bulk = Binding._crm_create_partners(self.backend, crm_list, countries)
        orm = self.env["res.partner"].create(
            [Binding._crm_partner_vals(self.backend, crm, countries) for crm in crm_list]
        )
        self.assertSamePartners(bulk, orm)
        self.assertEqual(bulk[2].website, "http://taxed.example.com", "cleaned as create does")
        self.assertEqual(bulk[2].bank_ids.acc_number, "BE71096123456769")
        self.assertEqual(
            bulk.bank_ids.read(["acc_number", "sanitized_acc_number", "active"], load=None)[0]
            | {"id": 0},
            orm.bank_ids.read(["acc_number", "sanitized_acc_number", "active"], load=None)[0]
            | {"id": 0},
        )
        self.assertEqual(bulk.commercial_partner_id, bulk)
        # What the ORM computes after the INSERT (other modules' stored fields).
        self.assertEqual(bulk.mapped("phone_sanitized"), orm.mapped("phone_sanitized"))

    def test_contacts_of_new_accounts_equal_the_orm_ones(self):
        """Accounts and their contacts created in one page, the way a pull does."""
        Binding = self.env["finsync.crm.binding"]
        countries = Binding._crm_countries()
        crm_list = [{"name": "Fresh Account", "street": "3 Rue Haute", "country": "BE"}]
        with self.assertSetBased(2):
            account = Binding._crm_create_partners(self.backend, crm_list, countries)
            bulk = Binding._crm_create_contacts(
                [({"name": "Eve", "email": "eve@x.example"}, account)]
            )
        orm_account = self.env["res.partner"].create(
            Binding._crm_partner_vals(self.backend, crm_list[0], countries)
        )
        orm = self.env["res.partner"].create(
            {
                "type": "contact",
                "parent_id": orm_account.id,
                "name": "Eve",
                "email": "eve@x.example",
            }
        )
        self.assertSamePartners(account | bulk, orm_account | orm)
        self.assertEqual(bulk.street, "3 Rue Haute", "the parent's address")
        self.assertEqual(account.child_ids, bulk)

    def test_orm_when_not_certain(self):
        """Another module's override, chatter wanted, unsynced contacts or values the
        rows do not carry: the partners go through ``res.partner.create``."""
        Bulk = self.env["finsync.crm.partner.bulk"]
        Partner = self.env["res.partner"].with_context(tracking_disable=True)
        company = [{"name": "Plain Company", "is_company": True}]
        self.assertIsNone(Bulk._bulk_refusal(Partner, company))
        self.assertEqual(
            Bulk._bulk_refusal(Partner.with_context(tracking_disable=False), company),
            "followers and creation messages wanted",
        )
        contact = [{"name": "Child", "parent_id": self.parents[0].id}]
        self.assertEqual(
            Bulk._bulk_refusal(Partner, contact), "contacts synced from their parent by create"
        )
        self.assertIsNone(
            Bulk._bulk_refusal(Partner.with_context(_partners_skip_fields_sync=True), contact)
        )
        tagged = [{"name": "Tagged", "category_id": [(6, 0, [])]}]
        self.assertIn("category_id", Bulk._bulk_refusal(Partner, tagged))
        foreign = {"other_module": ["res.partner.create"]}
        with patch.object(
            finsync_crm_partner_bulk, "foreign_overrides", return_value=foreign
        ) as overrides:
            self.assertIn("other_module", Bulk._bulk_refusal(Partner, company))
            with self.assertSetBased(0):
                orm = Bulk._create_partners(Partner, company)
            overrides.assert_called()
        with self.assertSetBased(1):
            bulk = Bulk._create_partners(Partner, company)
        self.assertSamePartners(bulk, orm)

    def test_known_overrides_only(self):
        """The installed modules' versions of the replaced methods are the known ones."""
        self.assertFalse(self.env["finsync.crm.partner.bulk"]._foreign_overrides())
