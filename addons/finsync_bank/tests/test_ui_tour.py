from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestBankImportTour(HttpCase):
    def test_accountant_imports_a_camt_file(self):
        journal = self.env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.env.company.id)], limit=1
        )
        journal.bank_account_id = self.env["res.partner.bank"].create(
            {"acc_number": "NL91ABNA0417164300", "partner_id": self.env.company.partner_id.id}
        )
        self.assertEqual((journal.currency_id or self.env.company.currency_id).name, "USD")
        new_test_user(
            self.env,
            login="tour_bank_accountant",
            groups="base.group_user,finsync_base.group_finsync_accountant",
        )
        self.start_tour("/odoo", "finsync_bank_import_tour", login="tour_bank_accountant")
        lines = self.env["account.bank.statement.line"].search(
            [("journal_id", "=", journal.id), ("finsync_import_id", "!=", False)]
        )
        refs = set(lines.mapped("finsync_import_id"))
        self.assertEqual(
            refs,
            {
                "NL91ABNA0417164300:TOUR-REF-1:2026-04-10:250.5",
                "NL91ABNA0417164300:TOUR-REF-2:2026-04-11:-20",
            },
        )
        statement = lines.statement_id
        self.assertEqual(statement.journal_id, journal)
        self.assertEqual(
            statement.currency_id.compare_amounts(statement.balance_end_real, 330.5), 0
        )
        self.assertTrue(statement.is_complete)
        self.assertEqual(len(lines.finsync_transaction_ids), 2)

    def test_accountant_drops_a_file_on_the_bank_journal(self):
        journal = self.env["account.journal"].search([("code", "=", "FSDB")])
        self.assertTrue(journal, "the demo data has the FinSync Demo Bank journal")
        new_test_user(
            self.env,
            login="tour_drop_accountant",
            groups="base.group_user,finsync_base.group_finsync_accountant",
        )
        self.start_tour(
            "/odoo/action-account.open_account_journal_dashboard_kanban",
            "finsync_bank_drop_tour",
            login="tour_drop_accountant",
        )
        # The demo's gateway payouts also land on this journal: look at the file's lines.
        lines = self.env["account.bank.statement.line"].search(
            [("journal_id", "=", journal.id), ("finsync_import_id", "like", "%:DROP-REF-%")]
        )
        self.assertEqual(
            set(lines.mapped("finsync_import_id")),
            {
                "BE68539007547034:DROP-REF-1:2026-04-10:250.5",
                "BE68539007547034:DROP-REF-2:2026-04-11:-20",
            },
        )
        self.assertEqual(len(lines.statement_id), 1, "one statement for the dropped file")
