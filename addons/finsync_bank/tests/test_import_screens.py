import datetime
from decimal import Decimal

from lxml import etree

from odoo.tests import tagged

from odoo.addons.finsync_testing.tools.generate import StatementSpec, camt053, sample_lines

from .common import IBAN, BankImportCommon


@tagged("post_install", "-at_install")
class TestImportScreens(BankImportCommon):
    """What the import dialog shows."""

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
        wizard = self._preview(self.accountant_user, ("jan.xml", camt053(self._spec())))
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
