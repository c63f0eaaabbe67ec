import datetime
from decimal import Decimal

from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from odoo.addons.finsync_bank.tests.common import IBAN, BankImportCommon
from odoo.addons.finsync_testing.tools.generate import StatementSpec, ofx, sample_lines


@tagged("post_install", "-at_install")
class TestClearingJournalRefusesStatements(BankImportCommon):
    """A gateway's clearing journal is fed by its connector, never by a bank statement."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        gateway = cls.env["finsync.backend"].create(
            {"name": "Gateway A", "backend_type": "generic", "company_id": cls.env.company.id}
        )
        cls.clearing = gateway._gateway_journal(cls.currency)

    def _file(self, account=IBAN):
        start = datetime.date(2026, 1, 1)
        spec = StatementSpec(
            account=account,
            currency=self.currency.name,
            opening_balance=Decimal("0.00"),
            start=start,
            end=start + datetime.timedelta(days=27),
            lines=sample_lines(2, start=start),
        )
        return ("jan.ofx", ofx(spec))

    def _wizard_as(self, user, *files, journal=None):
        # Created by the user: a wizard is its creator's only.
        env, self.env = self.env, self.env(user=user)
        try:
            return self._wizard(*files, journal=journal)
        finally:
            self.env = env

    def test_clearing_journal_is_not_offered_in_the_import_dialog(self):
        # What the dialog's journal dropdown offers: the field's domain evaluated by the
        # web client's name_search.
        wizard = self._wizard_as(self.accountant_user, self._file())
        field = wizard._fields["journal_id"]
        offered = (
            self.env["account.journal"]
            .with_user(self.accountant_user)
            .name_search("", args=safe_eval(field.domain), limit=None)
        )
        offered_ids = {journal_id for journal_id, _name in offered}
        self.assertNotIn(self.clearing.id, offered_ids)
        self.assertIn(self.journal.id, offered_ids)

    def test_clearing_journal_chosen_as_target_is_refused(self):
        lines = self.env["account.bank.statement.line"].search_count([])
        wizard = self._wizard_as(self.manager_user, self._file(), journal=self.clearing)
        wizard.action_preview()
        self.assertEqual(wizard.state, "error")
        self.assertIn("clearing journal of a payment gateway", wizard.message)
        self.assertIn("jan.ofx", wizard.message)
        wizard.action_import()
        self.assertEqual(wizard.state, "error")
        self.assertEqual(self.env["account.bank.statement.line"].search_count([]), lines)

    def test_clearing_journal_is_never_found_by_its_account_number(self):
        self.clearing.bank_acc_number = "DE89370400440532013000"
        wizard = self._wizard_as(self.accountant_user, self._file("DE89370400440532013000"))
        wizard.action_preview()
        self.assertEqual(wizard.state, "error")
        self.assertIn("no single bank journal", wizard.message)
