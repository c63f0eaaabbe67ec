from lxml import etree

from odoo.tests import tagged

from .test_wizards import WizardCommon


@tagged("post_install", "-at_install")
class TestScreens(WizardCommon):
    """What an accountant sees on FinSync's matching screens."""

    def _arch(self, model, view_type, user=None):
        records = self.env[model].with_user(user or self.accountant_user)
        return etree.fromstring(records.get_view(view_type=view_type)["arch"])

    def test_journal_entry_links_its_transaction_with_an_odoo_18_widget(self):
        arch = self._arch("account.move", "form")
        [node] = arch.xpath("//field[@name='finsync_transaction_id']")
        # many2one_button does not exist in Odoo 18 (console warning, field shown raw).
        self.assertIsNone(node.get("widget"))
        self.assertEqual(node.get("readonly"), "1")

    def test_match_wizard_shows_whole_invoice_numbers_with_partner_due_date_and_residual(self):
        [tx] = self._import_lines(self._line("10.00", "who is this", "S1"))
        exception = self._exception(tx)
        action = exception.with_user(self.accountant_user).action_open_match_wizard()
        # The default dialog squeezed the numbers to "INV/2026..." next to the reasons.
        self.assertEqual(action["context"]["dialog_size"], "extra-large")
        from_tx = tx.with_user(self.accountant_user).action_open_match_wizard()
        self.assertEqual(from_tx["context"]["dialog_size"], "extra-large")
        arch = self._arch("finsync.match.wizard", "form")
        [listed] = arch.xpath("//field[@name='line_ids']/list")
        columns = {
            node.get("name"): node
            for node in listed.xpath("field")
            if node.get("column_invisible") not in ("1", "True")
        }
        for name in ("move_name", "partner_id", "date_maturity", "residual"):
            self.assertIn(name, columns)
        # A fixed width keeps the number whole whatever the "Why" column holds.
        self.assertTrue(columns["move_name"].get("width"))
        form = self._match_form(exception)
        form.add_move_line_id = self._receivable(self.invoice_a)
        wizard = form.save()
        line = wizard.line_ids.filtered(lambda line: line.move_line_id.move_id == self.invoice_a)
        self.assertEqual(line.move_name, self.invoice_a.name)
        self.assertEqual(line.partner_id, self.invoice_a.partner_id)
        self.assertEqual(line.date_maturity, self.invoice_a.invoice_date_due)
        self.assertEqual(line.currency_id.compare_amounts(line.residual, 150.0), 0)

    def _receivable(self, invoice):
        return invoice.line_ids.filtered(
            lambda aml: aml.account_id.account_type == "asset_receivable"
        )

    def test_counts_read_as_proper_singular_and_plural(self):
        self.rule.auto_reconcile = False
        one, two, three = self._import_lines(
            self._line("150.00", self.invoice_a.name, "S2"),
            self._line("80.00", self.invoice_b.name, "S3"),
            self._line("70.00", self.invoice_c.name, "S4"),
        )
        action = one.action_confirm_proposal()
        self.assertEqual(action["params"]["message"], "1 proposal confirmed and reconciled.")
        action = (two | three).action_confirm_proposal()
        self.assertEqual(action["params"]["message"], "2 proposals confirmed and reconciled.")

    def test_matching_again_says_what_it_did_in_whole_sentences(self):
        exceptions = self.env["finsync.exception"]
        self.assertEqual(
            exceptions.browse()._rerun_message(1, 1, 0),
            "1 bank line matched again: 1 reconciled. 0 of the 0 exceptions closed.",
        )
        [tx] = self._import_lines(self._line("12.34", "who is this", "S5"))
        exception = self._exception(tx)
        self.assertEqual(
            exception._rerun_message(1, 0, 0),
            "1 bank line matched again: 0 reconciled. The exception is still open.",
        )
        self.assertEqual(
            exception._rerun_message(1, 1, 1),
            "1 bank line matched again: 1 reconciled. The exception is closed.",
        )
