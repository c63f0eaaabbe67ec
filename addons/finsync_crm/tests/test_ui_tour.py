from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from .common import CLIENT_ID, PRIVATE_KEY, USERNAME, simulator


@tagged("post_install", "-at_install")
class TestDealTour(HttpCase):
    """A won deal becomes an invoice, a bank line pays it, Salesforce shows it paid."""

    def setUp(self):
        super().setUp()
        self.sim = simulator().start()
        self.addCleanup(self.sim.stop)
        company = self.env.company
        self.salesforce = self.env["finsync.backend"].create(
            {
                "name": "Salesforce tour",
                "backend_type": "salesforce",
                "company_id": company.id,
                "crm_auth_flow": "jwt",
                "client_id": CLIENT_ID,
                "crm_username": USERNAME,
                "crm_private_key": PRIVATE_KEY,
                "api_url": self.sim.url,
                "crm_billing_document": "invoice",
            }
        )
        self.env["product.product"].create(
            {"name": "Tour seat", "default_code": "TOUR-SEAT", "taxes_id": [Command.clear()]}
        )
        account = self.sim.add_account(
            "Tour Deal Customer", BillingCountry="Belgium", BillingCity="Ghent"
        )
        self.opp = self.sim.add_opportunity(
            account["Id"], "Tour deal", stage="Closed Won", IsWon=True
        )
        self.sim.add_line_item(self.opp["Id"], "TOUR-SEAT", 4, 250.0)
        new_test_user(
            self.env,
            login="tour_crm_accountant",
            groups="base.group_user,account.group_account_invoice,"
            "finsync_base.group_finsync_manager",
            company_id=company.id,
        )

    def _pay_by_bank_line(self, invoice):
        """A bank statement line naming the invoice, reconciled by FinSync's matching."""
        company = self.env.company
        journal = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
        )
        self.env["finsync.match.rule"].search([("company_id", "=", company.id)]).unlink()
        self.env["finsync.match.rule"].create({"name": "Tour rule", "company_id": company.id})
        line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": journal.id,
                "date": invoice.invoice_date,
                "amount": invoice.amount_total,
                "payment_ref": f"Payment {invoice.name}",
                "partner_name": "Tour Deal Customer",
            }
        )
        counts = self.env["finsync.matching"]._match_statement_lines(line)
        self.assertEqual(counts.get("reconcile"), 1, counts)
        self.env.flush_all()
        self.env.cr.precommit.run()

    def test_won_deal_is_invoiced_paid_by_the_bank_and_shown_paid_in_salesforce(self):
        self.start_tour("/odoo", "finsync_crm_deal_tour", login="tour_crm_accountant")
        deal = self.env["finsync.crm.deal"].search([("sf_id", "=", self.opp["Id"])])
        invoice = deal.move_id
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.amount_untaxed, 1000.0)
        self._pay_by_bank_line(invoice)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        Delivery = self.env["finsync.outbox.delivery"].sudo()
        # The write-back job: one state per round and record (posted, then paid).
        while Delivery._deliver_round("consumer:crm_writeback"):
            pass
        record = self.sim.records["Opportunity"][self.opp["Id"]]
        self.assertEqual(record["FinSync_Payment_Status__c"], "paid")
        self.assertEqual(record["FinSync_Invoice_Number__c"], invoice.name)
        self.assertEqual(record["FinSync_Amount_Paid__c"], invoice.amount_total)
