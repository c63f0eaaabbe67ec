from odoo.tests import BaseCase, tagged

from ..adapters import salesforce_mapper as mapper


@tagged("post_install", "-at_install")
class TestSalesforceMapper(BaseCase):
    def test_names_are_compared_without_case_accents_punctuation_or_legal_form(self):
        self.assertEqual(mapper.normalize_name("Société Générale S.A."), "societegenerale")
        self.assertEqual(
            mapper.normalize_name("Azure Interior, Inc."), mapper.normalize_name("AZURE interior")
        )
        self.assertEqual(mapper.normalize_name("Ltd"), "ltd", "a name made of a legal form only")
        self.assertEqual(mapper.normalize_name(None), "")

    def test_codes_and_domains(self):
        self.assertEqual(mapper.normalize_code("be 0477.472.701"), "BE0477472701")
        self.assertEqual(mapper.domain_of("Ann@Contoso.Example"), "contoso.example")
        self.assertEqual(mapper.domain_of("https://www.contoso.example/about"), "contoso.example")
        self.assertIsNone(mapper.domain_of(""))

    def test_one_spelling_of_a_stamp_whatever_the_api(self):
        rest = "2026-01-05T09:00:00.123+0000"
        bulk = "2026-01-05T09:00:00.123Z"
        self.assertEqual(mapper.canonical_stamp(rest), mapper.canonical_stamp(bulk))
        self.assertEqual(
            mapper.record_key("Account", {"Id": "001A", "SystemModstamp": rest}),
            "Account/001A/2026-01-05T09:00:00.123Z",
        )
        with self.assertRaises(mapper.SalesforceMappingError):
            mapper.record_key("Account", {"Id": "001A"})

    def test_account_and_contact_values(self):
        account = mapper.map_account(
            {"Name": " Azure ", "BillingStreet": "Rue  Haute\n1", "VAT__c": "be0477472701"},
            vat_field="VAT__c",
        )
        self.assertEqual(
            (account["name"], account["street"], account["vat"], account["iban"]),
            ("Azure", "Rue Haute 1", "BE0477472701", None),
        )
        contact = mapper.map_contact({"FirstName": "Ann", "LastName": "Smith", "Email": "A@B.C"})
        self.assertEqual((contact["name"], contact["email"]), ("Ann Smith", "a@b.c"))
        self.assertTrue(mapper.same("website", "http://www.x.example", "www.x.example"))
        self.assertFalse(mapper.same("phone", "+32 1", "+32 2"))
