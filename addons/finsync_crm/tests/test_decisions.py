from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import CrmCommon


@tagged("post_install", "-at_install")
class TestCrmConflicts(CrmCommon):
    def setUp(self):
        super().setUp()
        self.sf_account = self.account(
            "Azure Interior", BillingStreet="Rue Haute 1", BillingCity="Brussels"
        )
        self.pull()
        self.sf_binding = self.binding(self.sf_account["Id"])
        self.partner = self.sf_binding.partner_id
        # Both sides change the phone, the city and the street since the last sync.
        self.partner.write({"phone": "+32 2 111 11 11", "city": "Gent", "street": "Veldstraat 1"})
        self.sim.update(
            "Account",
            self.sf_account["Id"],
            Phone="+32 2 999 99 99",
            BillingCity="Antwerpen",
            BillingStreet="Meir 1",
        )
        self.pull()
        self.exception = self.exceptions("master_data_conflict")

    def wizard(self, user=None):
        env = self.env(user=user) if user else self.env
        action = self.exception.with_env(env).action_crm_decide()
        return env[action["res_model"]].with_context(action["context"]).create({})

    def test_both_sides_changed_opens_a_conflict_and_changes_nothing(self):
        self.assertEqual(len(self.exception), 1)
        self.assertEqual(self.exception.crm_binding_id, self.sf_binding)
        self.assertEqual(self.sf_binding.state, "conflict")
        self.assertEqual(
            (self.partner.phone, self.partner.city), ("+32 2 111 11 11", "Gent"), "Odoo's kept"
        )
        self.sim.update("Account", self.sf_account["Id"], Phone="+32 2 999 99 99")
        self.pull()  # the same CRM values again: the same conflict, not a new occurrence
        self.assertEqual(len(self.exceptions("master_data_conflict")), 1, "still one")
        self.assertEqual(self.exception.occurrence_count, 1)
        self.sim.update("Account", self.sf_account["Id"], Phone="+32 2 888 88 88")
        self.pull()
        self.assertEqual(self.exception.occurrence_count, 2, "a new CRM value: it recurs")
        self.assertEqual(self.sf_binding.conflict_values["phone"]["crm"], "+32 2 888 88 88")

    def test_each_choice_of_the_side_by_side_wizard(self):
        wizard = self.wizard(self.accountant_user)
        lines = {line.key: line for line in wizard.line_ids}
        self.assertEqual(set(lines), {"phone", "city", "street"})
        self.assertEqual((lines["city"].odoo_value, lines["city"].crm_value), ("Gent", "Antwerpen"))
        lines["phone"].choice = "odoo"
        lines["city"].choice = "crm"
        lines["street"].write({"choice": "edit", "edited_value": "Meir 1 bus 2"})
        wizard.action_apply()
        self.assertEqual(
            (self.partner.phone, self.partner.city, self.partner.street),
            ("+32 2 111 11 11", "Antwerpen", "Meir 1 bus 2"),
        )
        self.assertEqual(self.exception.state, "resolved")
        self.assertEqual(self.exception.reason_id.code, "CRM_EDITED")
        self.assertEqual(self.sf_binding.state, "bound")
        self.pull()
        self.assertEqual(len(self.exceptions("master_data_conflict")), 1, "settled for good")
        self.assertEqual(self.partner.city, "Antwerpen")

    def test_keep_odoo_and_take_crm_buttons(self):
        self.wizard().action_take_crm()
        self.assertEqual((self.partner.phone, self.partner.city), ("+32 2 999 99 99", "Antwerpen"))
        self.assertEqual(self.exception.reason_id.code, "CRM_TAKE_CRM")
        self.partner.phone = "+32 2 222 22 22"
        self.sim.update("Account", self.sf_account["Id"], Phone="+32 2 333 33 33")
        self.pull()
        second = self.exceptions("master_data_conflict").filtered("is_open")
        self.assertEqual(len(second), 1)
        self.exception = second
        self.wizard().action_keep_odoo()
        self.assertEqual(self.partner.phone, "+32 2 222 22 22")
        self.assertEqual(second.reason_id.code, "CRM_KEEP_ODOO")

    def test_the_crm_record_of_an_exception_cannot_be_changed(self):
        other = self.account("Other Customer")
        self.pull()
        for user in (self.user_user, self.accountant_user, self.manager_user):
            with self.assertRaises(AccessError):
                self.exception.with_user(user).write(
                    {"crm_binding_id": self.binding(other["Id"]).id}
                )
        self.assertEqual(self.exception.crm_binding_id, self.sf_binding)

    def test_only_accountants_decide(self):
        with self.assertRaises(AccessError):
            self.wizard(self.user_user)
        with self.assertRaises(AccessError):
            self.sf_binding.with_user(self.user_user).with_context(
                finsync_exception_protected=True
            )._crm_resolve_conflict({"phone": ("crm", None)})
        self.assertEqual(self.partner.phone, "+32 2 111 11 11")
        self.assertTrue(self.exception.is_open)


@tagged("post_install", "-at_install")
class TestCrmDuplicates(CrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.by_vat = Partner.create(
            {"name": "Gemini Furniture", "is_company": True, "vat": "BE0477472701"}
        )
        cls.by_iban = Partner.create(
            {
                "name": "Lumber Inc",
                "is_company": True,
                "bank_ids": [(0, 0, {"acc_number": "NL91 ABNA 0417 1643 00"})],
            }
        )
        cls.by_domain = Partner.create(
            {"name": "Contoso Consulting", "is_company": True, "email": "info@contoso.example"}
        )
        cls.by_country = Partner.create(
            {
                "name": "Northwind Traders Ltd.",
                "is_company": True,
                "country_id": cls.env.ref("base.be").id,
            }
        )

    def test_each_key_finds_the_existing_partner(self):
        accounts = {
            "vat": self.account("Gemini Furniture NV", VAT__c="BE 0477.472.701"),
            "iban": self.account("Lumber Incorporated", IBAN__c="nl91abna0417164300"),
            "domain_name": self.account(
                "Contoso Consulting Inc", Website="https://www.contoso.example"
            ),
            "name_country": self.account("Northwind Traders"),
        }
        fresh = self.account("Brand New Customer")
        partners_before = self.env["res.partner"].search_count([])
        self.pull()
        expected = {
            "vat": self.by_vat,
            "iban": self.by_iban,
            "domain_name": self.by_domain,
            "name_country": self.by_country,
        }
        for key, account in accounts.items():
            binding = self.binding(account["Id"])
            self.assertEqual(
                (binding.state, binding.duplicate_key, binding.duplicate_partner_id),
                ("duplicate", key, expected[key]),
                key,
            )
            self.assertFalse(binding.partner_id)
        self.assertEqual(len(self.exceptions("duplicate_partner")), 4)
        self.assertEqual(self.binding(fresh["Id"]).state, "bound")
        self.assertEqual(self.env["res.partner"].search_count([]), partners_before + 1)

    def test_same_name_in_another_country_is_no_duplicate(self):
        account = self.account("Northwind Traders", BillingCountry="France")
        self.pull()
        self.assertEqual(self.binding(account["Id"]).state, "bound")

    def wizard(self, account, **vals):
        [exception] = self.exceptions("duplicate_partner").filtered(
            lambda e: e.crm_binding_id.sf_id == account["Id"]
        )
        action = exception.with_user(self.accountant_user).action_crm_decide()
        form = Form(
            self.env[action["res_model"]]
            .with_user(self.accountant_user)
            .with_context(action["context"])
        )
        for name, value in vals.items():
            setattr(form, name, value)
        return form.save(), exception

    def test_link_to_the_existing_partner_brings_the_waiting_contacts(self):
        account = self.account("Gemini Furniture NV", VAT__c="BE0477472701")
        self.sim.add_contact(account["Id"], "Ann", "Smith", Email="ann@gemini.example")
        self.pull()
        contact = self.binding(self.sim.records["Contact"].popitem()[0])
        self.assertEqual(contact.state, "waiting")
        wizard, exception = self.wizard(account)
        self.assertEqual(wizard.partner_id, self.by_vat)
        wizard.action_apply()
        binding = self.binding(account["Id"])
        self.assertEqual((binding.state, binding.partner_id), ("bound", self.by_vat))
        self.assertEqual(exception.reason_id.code, "CRM_LINKED")
        self.assertEqual(contact.partner_id.parent_id, self.by_vat)
        self.assertEqual(self.by_vat.name, "Gemini Furniture", "linking changes no value")

    def test_merge_through_odoos_partner_merge(self):
        account = self.account("Contoso Consulting Inc", Website="www.contoso.example")
        self.pull()
        wizard, exception = self.wizard(account, decision="merge")
        with self.assertRaises(UserError):
            wizard.action_apply()  # merging partners is a Contact Creation right
        self.assertEqual(self.binding(account["Id"]).state, "duplicate", "nothing done")
        self.assertTrue(exception.is_open)
        self.accountant_user.groups_id += self.env.ref("base.group_partner_manager")
        action = wizard.action_apply()
        self.assertEqual(action["res_model"], "base.partner.merge.automatic.wizard")
        binding = self.binding(account["Id"])
        new = binding.partner_id
        self.assertNotEqual(new, self.by_domain)
        merge = (
            self.env[action["res_model"]].with_user(self.accountant_user).browse(action["res_id"])
        )
        self.assertEqual(merge.dst_partner_id, self.by_domain)
        merge.action_merge()
        self.assertFalse(new.exists())
        self.assertEqual(binding.partner_id, self.by_domain, "the binding follows the merge")
        self.assertEqual(exception.reason_id.code, "CRM_MERGED")

    def test_not_a_duplicate_creates_a_new_partner(self):
        account = self.account("Northwind Traders")
        self.pull()
        wizard, exception = self.wizard(account, decision="create")
        wizard.action_apply()
        binding = self.binding(account["Id"])
        self.assertNotEqual(binding.partner_id, self.by_country)
        self.assertEqual(binding.partner_id.name, "Northwind Traders")
        self.assertEqual(exception.reason_id.code, "CRM_NEW_PARTNER")
        with self.assertRaises(UserError):
            wizard.action_apply()


@tagged("post_install", "-at_install")
class TestCrmDemo(CrmCommon):
    def test_demo_connector_shows_a_conflict_and_a_duplicate(self):
        demo = self.env.ref("finsync_crm.demo_backend_salesforce", raise_if_not_found=False)
        if not demo:
            self.skipTest("installed without demo data")
        # sudo: the demo connector belongs to the demo company, not the test one.
        open_exceptions = (
            self.env["finsync.exception"]
            .sudo()
            .search([("backend_id", "=", demo.id), ("is_open", "=", True)])
        )
        self.assertEqual(
            sorted(open_exceptions.mapped("exception_type")),
            ["duplicate_partner", "master_data_conflict"],
        )
        conflict = open_exceptions.filtered(lambda e: e.exception_type == "master_data_conflict")
        self.assertEqual(set(conflict.crm_binding_id.conflict_values), {"phone"})
