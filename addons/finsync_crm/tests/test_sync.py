from datetime import timedelta
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.finsync_base.tests.remote_faults import RemoteFaultsMixin
from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters.salesforce_client import SalesforceClient
from .common import CrmCommon


@tagged("post_install", "-at_install")
class TestSalesforcePull(CrmCommon):
    def test_initial_load_binds_accounts_and_their_contacts(self):
        azure = self.account(
            "Azure Interior", BillingStreet="Rue Haute 1", BillingPostalCode="1000"
        )
        self.sim.add_contact(azure["Id"], "Ann", "Smith", Email="Ann@Azure.example", Title="CFO")
        self.account("Deco Addict")
        self.pull()
        self.assertEqual(self.salesforce.health, "ok")
        binding = self.binding(azure["Id"])
        partner = binding.partner_id
        self.assertEqual(binding.state, "bound")
        self.assertTrue(partner.is_company)
        self.assertEqual(
            (partner.name, partner.street, partner.zip, partner.city, partner.country_id),
            ("Azure Interior", "Rue Haute 1", "1000", "Brussels", self.belgium),
        )
        self.assertEqual(partner.company_id, self.salesforce.company_id)
        [contact] = partner.child_ids
        self.assertEqual(
            (contact.name, contact.email, contact.function),
            ("Ann Smith", "ann@azure.example", "CFO"),
        )
        self.assertEqual(len(self.bindings()), 2)
        self.assertEqual(self.salesforce.crm_last_accounts, 2)
        self.assertEqual(self.salesforce.crm_last_contacts, 1)
        self.assertEqual(self.salesforce.crm_api_max, 15000)
        self.assertTrue(self.salesforce.crm_api_used)
        self.assertEqual(self.sim.token_grants, ["urn:ietf:params:oauth:grant-type:jwt-bearer"])

    def test_second_pull_reuses_the_stored_token_and_repeats_nothing(self):
        self.account("Azure Interior")
        result = self.salesforce._pull_now()
        self.assertEqual((result["new"], result["known"]), (1, 0))
        events = self.salesforce.event_count
        self.pull()
        self.assertEqual(len(self.sim.token_grants), 1, "the token kept on the connector")
        self.assertEqual(self.salesforce.event_count, events, "the overlap reads, stores nothing")
        self.assertEqual(self.salesforce.last_pull_new, 0)
        self.assertEqual(self.salesforce.last_pull_known, 1, "read again in the overlap")
        self.assertEqual(len(self.bindings()), 1)

    def test_initial_load_above_the_threshold_uses_bulk_api(self):
        self.salesforce.crm_bulk_threshold = 10
        for index in range(15):
            self.account(f"Bulk Customer {index:02d}")
        self.pull()
        paths = [path for _m, path, _q in self.sim.requests]
        self.assertTrue(any(path.endswith("/jobs/query") for path in paths))
        self.assertTrue(any(path.endswith("/results") for path in paths))
        self.assertEqual(len(self.bindings().partner_id), 15)
        self.sim.update("Account", self.bindings()[0].sf_id, Phone="+32 9")
        self.pull()
        self.assertEqual(self.bindings()[0].partner_id.phone, "+32 9", "then incremental")
        self.assertEqual(sum(1 for path in paths if path.endswith("/jobs/query")), 1)

    def test_late_commit_with_an_earlier_stamp_is_not_lost(self):
        first = self.account("Watermark Test Customer")
        self.pull()
        mark = self.salesforce.crm_account_mark
        self.assertTrue(mark)
        self.account("Later Account")
        self.pull()
        self.assertGreater(self.salesforce.crm_account_mark, mark, "the watermark moved")
        # A transaction that began before that pull commits now, stamped before the mark.
        stamp = self.sim._last_stamp - timedelta(minutes=2)
        late = self.sim.add_account("Late Committer", stamp=stamp, BillingCountry="Belgium")
        self.pull()
        self.assertTrue(self.binding(late["Id"]).partner_id, "caught by the overlap window")
        self.assertEqual(len(self.bindings()), 3)
        keys = (
            self.env["finsync.event"]
            .search([("backend_id", "=", self.salesforce.id)])
            .mapped("dedup_key")
        )
        self.assertEqual(len(keys), len(set(keys)))
        self.assertEqual(len([key for key in keys if first["Id"] in key]), 1, "stored once")
        partners = self.env["res.partner"].search([("name", "=", "Watermark Test Customer")])
        self.assertEqual(len(partners), 1, "nothing repeated")

    def test_limit_exceeded_backs_off_and_resumes_from_the_watermark(self):
        self.sim.page_size = 10
        for index in range(30):
            self.account(f"Customer {index:02d}")
        # The first page comes through, then the org's API allowance runs out.
        self.sim.limit_exceeded_next(5, path_part="/query", after=2)
        with self.assertRaises(RetryableJobError) as caught, self.env.cr.savepoint():
            self.pull()
        self.assertGreaterEqual(caught.exception.seconds, 60, "backs off")
        self.assertFalse(self.salesforce.crm_account_mark, "the watermark did not move")
        self.sim._faults.clear()
        self.pull()
        self.assertEqual(len(self.bindings()), 30)
        self.pull()
        names = self.bindings().partner_id.mapped("name")
        self.assertEqual(len(names), len(set(names)), "nothing lost, nothing doubled")

    def test_refused_credentials_open_a_sync_failed_exception(self):
        self.sim.client_id = "another-app"
        self.pull()
        self.assertEqual(self.salesforce.health, "error")
        [exception] = self.exceptions("sync_failed")
        self.assertIn("invalid_grant", exception.description)
        self.assertNotIn("PRIVATE", exception.description)

    def test_contact_changes_follow_the_crm(self):
        account = self.account("Contact Change Customer")
        contact = self.sim.add_contact(account["Id"], "Ann", "Smith", Email="ann@old.example")
        self.pull()
        partner = self.binding(contact["Id"]).partner_id
        self.sim.update("Contact", contact["Id"], Email="ann@new.example", LastName="Jones")
        self.pull()
        self.assertEqual((partner.name, partner.email), ("Ann Jones", "ann@new.example"))

    def test_contacts_owned_by_odoo_are_left_alone(self):
        self.salesforce.crm_owner_contacts = "odoo"
        azure = self.account("Azure Interior")
        self.sim.add_contact(azure["Id"], "Ann", "Smith")
        self.pull()
        self.assertFalse(self.binding(azure["Id"]).partner_id.child_ids)


@tagged("post_install", "-at_install")
class TestSalesforceDeletions(CrmCommon):
    def test_deleted_account_is_unbound_and_archived_only_if_unused(self):
        used = self.account("Invoiced Customer")
        unused = self.account("Prospect")
        self.pull()
        used_partner = self.binding(used["Id"]).partner_id
        unused_partner = self.binding(unused["Id"]).partner_id
        self.init_invoice("out_invoice", partner=used_partner, amounts=[100.0], post=True)
        self.sim.delete("Account", used["Id"])
        self.sim.delete("Account", unused["Id"])
        self.pull()
        self.assertFalse(self.binding(used["Id"]) | self.binding(unused["Id"]), "both unbound")
        self.assertTrue(used_partner.active, "an invoiced partner stays")
        self.assertFalse(unused_partner.active, "an unused partner is archived")
        self.assertEqual(self.salesforce.crm_last_deleted, 2)

    def test_deleted_contact_is_unbound_and_archived(self):
        account = self.account("Contact Deletion Customer")
        contact = self.sim.add_contact(account["Id"], "Ann", "Smith")
        self.pull()
        partner = self.binding(contact["Id"]).partner_id
        self.assertTrue(partner.active)
        self.sim.delete("Contact", contact["Id"])
        self.pull()
        self.assertFalse(self.binding(contact["Id"]))
        self.assertFalse(partner.active)
        self.assertTrue(self.binding(account["Id"]).partner_id.active, "its account stays")

    def test_expired_deletions_trigger_a_full_resync(self):
        kept = self.account("Kept")
        gone = self.account("Gone")
        self.pull()
        self.sim.delete("Account", gone["Id"])
        self.sim.deleted.clear()  # Salesforce no longer keeps that deletion
        self.sim.earliest_deleted = self.sim._last_stamp + timedelta(minutes=1)
        self.sim.update("Account", kept["Id"], Phone="+32 7")
        self.pull()
        self.assertFalse(self.binding(gone["Id"]), "unbound by the full resync")
        self.assertEqual(self.binding(kept["Id"]).partner_id.phone, "+32 7")
        self.assertFalse(self.binding(gone["Id"]).partner_id.active)


@tagged("post_install", "-at_install")
class TestSalesforceOwnership(CrmCommon):
    def test_changes_flow_by_field_ownership(self):
        account = self.account("Azure Interior", VAT__c="BE0477472701")
        self.pull()
        partner = self.binding(account["Id"]).partner_id
        self.assertEqual(partner.vat, "BE0477472701", "taken at creation")
        self.sim.update("Account", account["Id"], Phone="+32 3 333 33 33", VAT__c="BE0123456749")
        self.pull()
        self.assertEqual(partner.phone, "+32 3 333 33 33", "the CRM owns the phone")
        self.assertEqual(partner.vat, "BE0477472701", "Odoo owns the VAT number")
        self.assertFalse(self.exceptions("master_data_conflict"))
        self.salesforce.crm_owner_phone = "odoo"
        self.sim.update("Account", account["Id"], Phone="+32 4")
        self.pull()
        self.assertEqual(partner.phone, "+32 3 333 33 33", "now Odoo owns it")

    def test_bank_accounts_follow_the_crm_only_when_it_owns_them(self):
        account = self.account("Bank Owner Test", IBAN__c="NL91ABNA0417164300")
        self.pull()
        partner = self.binding(account["Id"]).partner_id
        self.assertEqual(partner.bank_ids.sanitized_acc_number, "NL91ABNA0417164300")
        self.sim.update("Account", account["Id"], IBAN__c="DE89370400440532013000")
        self.pull()
        self.assertEqual(len(partner.bank_ids), 1, "Odoo owns bank accounts")
        self.salesforce.crm_owner_bank = "crm"
        self.sim.update(
            "Account", account["Id"], IBAN__c="DE89 3704 0044 0532 0130 00", Phone="+32 6"
        )
        self.pull()
        self.assertEqual(
            set(partner.bank_ids.mapped("sanitized_acc_number")),
            {"NL91ABNA0417164300", "DE89370400440532013000"},
        )

    def test_a_change_on_one_side_only_is_no_conflict(self):
        account = self.account("Azure Interior")
        self.pull()
        partner = self.binding(account["Id"]).partner_id
        partner.city = "Gent"
        self.sim.update("Account", account["Id"], Phone="+32 5")
        self.pull()
        self.assertEqual((partner.city, partner.phone), ("Gent", "+32 5"))
        self.assertFalse(self.exceptions("master_data_conflict"))


@tagged("post_install", "-at_install")
class TestSalesforceSecurity(CrmCommon):
    def test_accountant_cannot_read_or_write_secrets(self):
        backend = self.salesforce.with_user(self.accountant_user)
        for field in ("crm_private_key", "crm_access_token", "client_id"):
            with self.assertRaises(AccessError):
                backend.read([field])
        with self.assertRaises(AccessError):
            backend.with_context(finsync_sudo=True).write({"crm_private_key": "x"})
        self.assertTrue(backend.has_credentials)

    def test_bindings_are_read_only_and_per_company(self):
        account = self.account("Azure Interior")
        self.pull()
        binding = self.binding(account["Id"])
        with self.assertRaises(AccessError):
            binding.with_user(self.accountant_user).write({"sf_id": "001OTHER"})
        with self.assertRaises(AccessError):
            self.env["finsync.crm.binding"].with_user(self.accountant_user).create(
                {"backend_id": self.salesforce.id, "sf_object": "Account", "sf_id": "001X"}
            )
        other = self.env["res.company"].create({"name": "Other Company"})
        outsider = self.accountant_user.copy(
            {"login": "fs_outsider", "company_id": other.id, "company_ids": [(6, 0, other.ids)]}
        )
        self.assertFalse(
            self.env["finsync.crm.binding"].with_user(outsider).search([("id", "=", binding.id)])
        )
        self.assertEqual(
            self.env["finsync.crm.binding"]
            .with_user(self.accountant_user)
            .search([("id", "=", binding.id)]),
            binding,
        )

    def test_an_accountant_pulls_with_pull_now(self):
        azure = self.account("Accountant Pull Customer")
        self.sim.add_contact(azure["Id"], "Ann", "Smith")
        result = self.salesforce.with_user(self.accountant_user).action_pull_now()
        self.assertEqual(result["params"]["type"], "success", result["params"]["message"])
        self.assertEqual(len(self.binding(azure["Id"]).partner_id.child_ids), 1)

    def test_pull_is_refused_to_plain_users(self):
        with self.assertRaises(AccessError):
            self.salesforce.with_user(self.user_user).action_pull_now()
        with patch.object(SalesforceClient, "query") as query:
            self.assertFalse(query.called)


@tagged("post_install", "-at_install")
class TestSalesforceRemoteFaults(RemoteFaultsMixin, CrmCommon):
    """Salesforce hangs, answers slowly or cuts a page of a query short."""

    fault_path = "/query"
    fault_after = 2  # the accounts' COUNT(), then their first page

    def setUp(self):
        super().setUp()
        self.sim.page_size = 10
        self.fault_backend = self.salesforce

    def fault_add_source(self):
        for index in range(30):  # three pages of 10
            self.account(f"Customer {index:02d}")

    def fault_expected(self):
        return 30, 30

    def fault_counts(self):
        events = self.env["finsync.event"].search_count([("backend_id", "=", self.salesforce.id)])
        return events, len(self.bindings())
