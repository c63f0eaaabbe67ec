import datetime
from decimal import Decimal

from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.finsync_testing.tools.generate import StatementSpec, camt053, sample_lines

from .common import IBAN, BankImportCommon

OTHER_IBAN = "DE89370400440532013000"


@tagged("post_install", "-at_install")
class TestImportScreens(BankImportCommon):
    """What the import dialog shows, and the bank journal it offers for an unknown account."""

    def _spec(self, account=IBAN, currency=None, opening="1000.00"):
        start = datetime.date(2026, 1, 1)
        return StatementSpec(
            account=account,
            currency=currency or self.currency.name,
            opening_balance=Decimal(opening),
            start=start,
            end=start + datetime.timedelta(days=27),
            lines=sample_lines(2, start=start),
        )

    def _preview(self, user, *files, journal=None):
        # Created by the user: a wizard is its creator's only.
        env, self.env = self.env, self.env(user=user)
        try:
            wizard = self._wizard(*files, journal=journal)
        finally:
            self.env = env
        wizard.action_preview()
        return wizard

    def test_preview_shows_balances_in_the_statement_currency(self):
        wizard = self._wizard(("jan.xml", camt053(self._spec()))).with_user(self.env.user)
        reopened = wizard.action_preview()
        self.assertEqual(reopened["context"]["dialog_size"], "extra-large", "preview stays wide")
        self.assertEqual(wizard.state, "preview", wizard.message)
        row = wizard.preview_ids
        self.assertEqual(row.currency_id, self.currency)
        self.assertEqual(row._fields["opening_balance"].type, "monetary")
        self.assertEqual(row._fields["closing_balance"].get_currency_field(row), "currency_id")
        self.assertEqual(self.currency.compare_amounts(row.opening_balance, 1000.0), 0)
        arch = etree.fromstring(
            wizard.get_view(self.env.ref("finsync_bank.finsync_bank_import_view_form").id)["arch"]
        )
        [listed] = arch.xpath("//field[@name='preview_ids']/list")
        self.assertEqual(
            listed.xpath("field[@name='opening_balance']/@widget"),
            ["monetary"],
            "currency decimals",
        )
        self.assertTrue(listed.xpath("field[@name='currency_id']"))
        self.assertTrue(listed.xpath("field[@name='account']/@width"), "the account read whole")
        # The sample (several lines of text) waits in the row's own form, not in a column.
        self.assertEqual(listed.xpath("field[@name='sample']/@optional"), ["hide"])
        # Opened wide enough to read the columns, from the menu and from the journal.
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_bank.action_finsync_bank_import"
        )
        self.assertIn("extra-large", action["context"])
        self.assertEqual(
            self.journal.action_finsync_import_statement()["context"]["dialog_size"],
            "extra-large",
        )

    def test_accountants_get_the_clear_error_for_an_unknown_account(self):
        wizard = self._preview(self.accountant_user, ("x.xml", camt053(self._spec(OTHER_IBAN))))
        self.assertEqual(wizard.state, "error")
        self.assertIn("no single bank journal for account", wizard.message)
        self.assertEqual(wizard.missing_account, OTHER_IBAN)
        self.assertFalse(wizard.can_create_journal)
        journals = self.env["account.journal"].search_count([])
        with self.assertRaises(AccessError):
            wizard.with_context(finsync_manager=True, default_type="bank").action_create_journal()
        self.assertEqual(self.env["account.journal"].search_count([]), journals)

    def test_managers_create_the_bank_journal_of_an_unknown_account(self):
        eur = self.env.ref("base.EUR")
        usd = self.env.ref("base.USD")
        currency = usd if self.env.company.currency_id == eur else eur
        currency.active = True
        wizard = self._preview(
            self.manager_user, ("x.xml", camt053(self._spec(OTHER_IBAN, currency.name)))
        )
        self.assertEqual(wizard.state, "error")
        self.assertTrue(wizard.can_create_journal)
        self.assertEqual(wizard.missing_currency, currency.name)
        wizard.action_create_journal()
        journal = wizard.journal_id
        self.assertEqual(journal.type, "bank")
        self.assertEqual(journal.bank_acc_number, OTHER_IBAN)
        self.assertEqual(journal.currency_id, currency)
        self.assertEqual(wizard.state, "preview", wizard.message)
        self.assertEqual(wizard.preview_ids.journal_id, journal)
        self.assertFalse(wizard.missing_account)
        wizard.action_import()
        self.assertEqual(wizard.state, "done", wizard.message)
        self.assertEqual(wizard.statement_ids.journal_id, journal)
