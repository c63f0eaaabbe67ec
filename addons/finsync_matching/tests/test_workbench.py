import ast
from types import SimpleNamespace
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.finsync_bank.models import account_bank_statement_line as statement_line_module

from .test_wizards import WizardCommon

# What a client could send along with a call, hoping to be let through.
ATTACKER_CONTEXT = {
    "finsync_writeoff": True,
    "active_test": False,
    "default_exception_id": 1,
    "finsync_undo_reason": "forced",
    "queue_job__no_delay": True,
}


class WorkbenchCommon(WizardCommon):
    """A bookkeeper who is no FinSync accountant, and the workbench as users see it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Reads bank lines as an Odoo accountant, but is no FinSync accountant.
        cls.bookkeeper = new_test_user(
            cls.env,
            login="fs_bookkeeper",
            groups="base.group_user,account.group_account_user,finsync_base.group_finsync_user",
            company_id=cls.env.company.id,
            company_ids=[(6, 0, cls.env.company.ids)],
        )
        cls.workbench_action = cls.env.ref("finsync_matching.action_finsync_workbench")

    def _lines(self, *transactions, user=None):
        lines = self.env["account.bank.statement.line"].browse(
            [tx.statement_line_id.id for tx in transactions]
        )
        return lines.with_user(user or self.accountant_user)

    def _workbench(self, user=None):
        """The lines the workbench lists, as ``user`` sees them."""
        domain = ast.literal_eval(self.workbench_action.domain)
        model = self.env["account.bank.statement.line"].with_user(user or self.accountant_user)
        return model.search(domain)

    def _proposals(self, *specs):
        """Import lines the rule only proposes (``auto_reconcile`` off)."""
        self.rule.auto_reconcile = False
        return self._import_lines(*specs)

    def _receivable(self, invoice):
        return invoice.line_ids.filtered(
            lambda aml: aml.account_id.account_type == "asset_receivable"
        )


@tagged("post_install", "-at_install")
class TestWorkbench(WorkbenchCommon):
    """The bank reconciliation workbench: what a line shows, and each of its actions."""

    def test_a_line_shows_its_proposal_reason_score_and_exception(self):
        proposed, unknown = self._proposals(
            self._line("150.00", self.invoice_a.name, "WB1"),
            self._line("42.00", "rent january", "WB2"),
        )
        line, other = self._lines(proposed, unknown)
        self.assertEqual(line.finsync_transaction_id, proposed)
        self.assertTrue(line.finsync_has_proposal)
        self.assertEqual(line.finsync_proposal, self.invoice_a.name)
        self.assertIn("amount equal", line.finsync_match_explanation)
        self.assertGreater(line.finsync_match_score, 0)
        self.assertEqual(line.finsync_exception_id.exception_type, "proposal")
        self.assertEqual(line.finsync_counterparty, "Customer")
        self.assertFalse(other.finsync_has_proposal)
        self.assertFalse(other.finsync_proposal)
        self.assertEqual(other.finsync_exception_type, "unmatched")
        listed = self._workbench()
        self.assertIn(line, listed)
        self.assertIn(other, listed)
        with_proposal = listed.search(
            [("id", "in", listed.ids), ("finsync_has_proposal", "=", True)]
        )
        self.assertIn(line, with_proposal)
        self.assertNotIn(other, with_proposal)
        without = listed.search([("id", "in", listed.ids), ("finsync_has_proposal", "=", False)])
        self.assertIn(other, without)
        self.assertNotIn(line, without)

    def test_candidates_are_shown_when_nothing_adds_up(self):
        [tx] = self._import_lines(self._line("149.00", self.invoice_a.name, "WB3"))
        line = self._lines(tx)
        self.assertFalse(line.finsync_has_proposal)
        self.assertEqual(line.finsync_proposal, f"Candidates: {self.invoice_a.name}")
        self.assertEqual(line.finsync_exception_type, "amount_mismatch")

    def test_confirm_one_proposal(self):
        [tx] = self._proposals(self._line("150.00", self.invoice_a.name, "WB4"))
        line = self._lines(tx)
        action = line.action_finsync_confirm_proposals()
        self.assertEqual(action["params"]["message"], "1 proposal confirmed and reconciled.")
        self.assertEqual(action["params"]["type"], "success")
        self.assertTrue(line.is_reconciled)
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(tx.match_mode, "confirmed")
        self.assertEqual(self.invoice_a.payment_state, "paid")
        self.assertNotIn(line, self._workbench(), "a reconciled line leaves the workbench")

    def test_confirm_many_skips_lines_without_a_proposal(self):
        first, second, unknown = self._proposals(
            self._line("150.00", self.invoice_a.name, "WB5"),
            self._line("80.00", self.invoice_b.name, "WB6"),
            self._line("42.00", "rent january", "WB7"),
        )
        lines = self._lines(first, second, unknown)
        action = lines.action_finsync_confirm_proposals()
        self.assertEqual(
            action["params"]["message"],
            "2 proposals confirmed and reconciled. 1 line without a proposal skipped.",
        )
        self.assertEqual(
            (first.state, second.state, unknown.state), ("reconciled",) * 2 + ("settled",)
        )
        self.assertEqual(set((self.invoice_a | self.invoice_b).mapped("payment_state")), {"paid"})

    def test_confirm_many_leaves_a_line_that_no_longer_adds_up(self):
        """One savepoint per line: the others are confirmed, the failing one is named."""
        first, second = self._proposals(
            self._line("150.00", self.invoice_a.name, "WB8"),
            self._line("80.00", self.invoice_b.name, "WB9"),
        )
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=self.invoice_a.ids
        ).create({"amount": 50.0}).action_create_payments()
        lines = self._lines(first, second)
        action = lines.action_finsync_confirm_proposals()
        message = action["params"]["message"]
        self.assertIn("1 proposal confirmed and reconciled.", message)
        self.assertIn("Not confirmed: ", message)
        self.assertIn("no longer adds up", message)
        self.assertEqual(action["params"]["type"], "warning")
        self.assertEqual(first.state, "settled")
        self.assertFalse(first.statement_line_id.is_reconciled)
        self.assertEqual(self.invoice_a.payment_state, "partial")
        self.assertEqual(second.state, "reconciled")

    def test_confirm_refused_without_any_proposal(self):
        [tx] = self._import_lines(self._line("42.00", "rent january", "WB10"))
        with self.assertRaisesRegex(UserError, "has a proposal to confirm"):
            self._lines(tx).action_finsync_confirm_proposals()
        self.assertEqual(tx.state, "settled")

    def test_confirm_refused_while_a_write_off_waits_for_approval(self):
        [tx] = self._proposals(self._line("150.00", self.invoice_a.name, "WB11"))
        line = self._lines(tx)
        self.env["finsync.writeoff.request"].with_user(self.manager_user)._request(
            line, [(self._receivable(self.invoice_b), 80.0)], self.writeoff_account, "test"
        )
        action = line.action_finsync_confirm_proposals()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("a write-off waits for approval", action["params"]["message"])
        self.assertFalse(line.is_reconciled)
        for opener in ("action_finsync_open_match_wizard", "action_finsync_open_duplicate_wizard"):
            with self.assertRaisesRegex(UserError, "waits for approval"):
                getattr(line, opener)()

    def test_actions_refused_to_a_user_without_the_accountant_group(self):
        [tx] = self._proposals(self._line("150.00", self.invoice_a.name, "WB12"))
        for user in (self.bookkeeper, self.user_user):
            line = self._lines(tx, user=user).with_context(**ATTACKER_CONTEXT)
            for method in (
                "action_finsync_confirm_proposals",
                "action_finsync_open_match_wizard",
                "action_finsync_open_writeoff_wizard",
                "action_finsync_open_duplicate_wizard",
            ):
                with self.assertRaisesRegex(AccessError, "Only FinSync accountants"):
                    getattr(line, method)()
        self.assertEqual(tx.state, "settled")
        self.assertFalse(tx.statement_line_id.is_reconciled)
        self.assertEqual(self.invoice_a.payment_state, "not_paid")
        self.assertEqual(tx.exception_ids.state, "new")
        # The wizards behind the openers refuse the same user on their own.
        with self.assertRaises(AccessError):
            self.env["finsync.match.wizard"].with_user(self.bookkeeper).with_context(
                default_statement_line_id=tx.statement_line_id.id
            ).create({}).action_confirm()

    def test_actions_refused_on_a_reconciled_line(self):
        [tx] = self._proposals(self._line("150.00", self.invoice_a.name, "WB13"))
        line = self._lines(tx)
        line.action_finsync_confirm_proposals()
        with self.assertRaisesRegex(UserError, "has a proposal to confirm"):
            line.action_finsync_confirm_proposals()
        with self.assertRaisesRegex(UserError, "reconciled already"):
            line.action_finsync_open_match_wizard()
        self.assertEqual(len(self.invoice_a.line_ids.matched_credit_ids), 1, "paid once")

    def test_match_wizard_opened_from_the_workbench(self):
        [tx] = self._import_lines(self._line("150.00", "payment march", "WB14"))
        line = self._lines(tx)
        action = line.action_finsync_open_match_wizard()
        self.assertEqual(action["res_model"], "finsync.match.wizard")
        wizard_model = self.env["finsync.match.wizard"].with_user(self.accountant_user)
        form = Form(wizard_model.with_context(**action["context"]))
        self.assertEqual(form.statement_line_id, line)
        self._select(form, self.invoice_b)
        self._select(form, self.invoice_c)
        form.save().action_confirm()
        self.assertTrue(line.is_reconciled)
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(tx.exception_ids.state, "resolved")

    def test_write_off_from_the_workbench(self):
        [tx] = self._import_lines(self._line("149.00", self.invoice_a.name, "WB15"))
        line = self._lines(tx)
        action = line.action_finsync_open_writeoff_wizard()
        wizard_model = self.env["finsync.match.wizard"].with_user(self.accountant_user)
        form = Form(wizard_model.with_context(**action["context"]))
        self.assertTrue(form.do_writeoff)
        form.writeoff_account_id = self.writeoff_account
        form.writeoff_reason = "Bank fee deducted by the customer"
        form.save().action_confirm()
        self.assertTrue(line.is_reconciled)
        self.assertEqual(self.invoice_a.payment_state, "paid")
        self.assertEqual(tx.exception_ids.reason_id, self.env.ref("finsync_base.reason_write_off"))

    def test_mark_duplicate_from_the_workbench(self):
        first, second = self._import_lines(
            self._line("42.00", "rent january", "WB16"), self._line("42.00", "rent january", "WB17")
        )
        line = self._lines(second)
        action = line.action_finsync_open_duplicate_wizard()
        self.assertEqual(action["res_model"], "finsync.duplicate.wizard")
        wizard = (
            self.env["finsync.duplicate.wizard"]
            .with_user(self.accountant_user)
            .with_context(**action["context"])
            .create({})
        )
        self.assertEqual(wizard.original_line_id, first.statement_line_id)
        wizard.action_confirm()
        self.assertFalse(line.exists())
        self.assertEqual(second.state, "reversed")
        self.assertTrue(first.statement_line_id.exists())

    def test_the_screen_loads_with_its_own_views(self):
        views = (
            self.env["account.bank.statement.line"]
            .with_user(self.accountant_user)
            .get_views(
                [(self.env.ref("finsync_matching.view_finsync_workbench_list").id, "list")],
                {"load_filters": False, "action_id": self.workbench_action.id},
            )
        )
        arch = views["views"]["list"]["arch"]
        self.assertIn('js_class="finsync_workbench"', arch)
        self.assertIn("action_finsync_confirm_proposals", arch)
        menu = self.env.ref("finsync_matching.menu_finsync_workbench")
        self.assertEqual(menu.action, self.workbench_action)


@tagged("post_install", "-at_install")
class TestReconciledOutsideFinsync(WorkbenchCommon):
    """A bank line reconciled, then unreconciled, with Odoo's own journal item tools:
    its transaction and exception follow at commit (``cr.flush()`` runs what a
    commit runs), and the workbench with them."""

    def _proposal_line(self, reference):
        [tx] = self._proposals(self._line("150.00", self.invoice_a.name, reference))
        self.assertEqual(tx.state, "settled")
        exception = self._exception(tx)
        self.env.cr.flush()  # the import's commit
        return tx, exception

    def _reconcile_in_odoo(self, tx):
        """As an accountant would without FinSync: the journal's suspense account
        allows reconciliation, a miscellaneous entry moves the customer's payment
        from the receivable to suspense, and the Reconcile action on journal items
        (``account.move.line.reconcile()``) pairs the bank line's suspense line and
        the invoice's receivable line with it. Returns the entry's suspense line."""
        st_line = tx.statement_line_id
        _liquidity, suspense, _other = st_line._seek_for_lines()
        suspense.account_id.reconcile = True
        receivable = self._receivable(self.invoice_a)
        entry = self.env["account.move"].create(
            {
                "journal_id": self.company_data["default_journal_misc"].id,
                "date": st_line.date,
                "line_ids": [
                    Command.create(
                        {"account_id": suspense.account_id.id, "debit": 150.0, "name": "Pmt"}
                    ),
                    Command.create(
                        {
                            "account_id": receivable.account_id.id,
                            "partner_id": receivable.partner_id.id,
                            "credit": 150.0,
                            "name": "Pmt",
                        }
                    ),
                ],
            }
        )
        entry.action_post()
        self.env.cr.flush()  # that set-up's commit
        moved = entry.line_ids.filtered(lambda aml: aml.account_id == suspense.account_id)
        lines = self.env["account.move.line"].with_user(self.accountant_user)
        (lines.browse((suspense | moved).ids)).reconcile()
        (lines.browse((receivable | (entry.line_ids - moved)).ids)).reconcile()
        # The commit at the end of the accountant's request.
        with patch.object(statement_line_module, "request", SimpleNamespace(env=lines.env)):
            lines.env.cr.flush()
        return moved

    def test_reconciled_in_odoo_reconciles_the_transaction_and_closes_its_exception(self):
        tx, exception = self._proposal_line("OUT1")
        line = tx.statement_line_id
        self.assertIn(line, self._workbench())
        self._reconcile_in_odoo(tx)
        self.assertTrue(line.is_reconciled)
        self.assertEqual(self.invoice_a.payment_state, "paid")
        self.assertEqual(tx.state, "reconciled")
        last = tx.transition_ids.sorted("id")[-1]
        self.assertEqual((last.from_state, last.to_state), ("settled", "reconciled"))
        self.assertIn("outside FinSync", last.reason)
        self.assertIn(self.accountant_user.name, last.reason)
        self.assertFalse(exception.is_open)
        self.assertIn("outside FinSync", exception.resolution_note or "")
        self.assertNotIn(line, self._workbench())
        self.env.cr.flush()  # a second commit finds nothing to do
        self.assertEqual(len(tx.transition_ids.filtered(lambda t: t.to_state == "reconciled")), 1)

    def test_unreconciled_in_odoo_brings_the_transaction_back_to_settled(self):
        tx, _exception = self._proposal_line("OUT2")
        line = tx.statement_line_id
        moved = self._reconcile_in_odoo(tx)
        self.assertEqual(tx.state, "reconciled")
        # The Unreconcile action on the entry's suspense line.
        moved.with_user(self.accountant_user).remove_move_reconcile()
        self.env.cr.flush()
        self.assertFalse(line.is_reconciled)
        self.assertEqual(tx.state, "settled")
        last = tx.transition_ids.sorted("id")[-1]
        self.assertEqual((last.from_state, last.to_state), ("reconciled", "settled"))
        self.assertIn("outside FinSync", last.reason)
        self.assertIn(line, self._workbench())
        self.env.cr.flush()
        self.assertEqual(len(tx.transition_ids.filtered(lambda t: t.to_state == "settled")), 2)

    def test_finsync_own_reconciliation_is_recorded_once(self):
        tx, _exception = self._proposal_line("OUT3")
        tx.statement_line_id.with_user(self.accountant_user).action_finsync_confirm_proposals()
        self.env.cr.flush()
        reasons = tx.transition_ids.filtered(lambda t: t.to_state == "reconciled").mapped("reason")
        self.assertEqual(len(reasons), 1)
        self.assertNotIn("outside FinSync", reasons[0])
        self.assertEqual(tx.match_mode, "confirmed")


@tagged("post_install", "-at_install")
class TestWorkbenchBesideReconcileOca(WorkbenchCommon):
    """OCA's account_reconcile_oca and the workbench on the same bank lines.

    ``setup/test`` runs this class (with ``TestWorkbench``) in a second database
    where account_reconcile_oca is installed; in the main database (Community
    only) the checks that need OCA's module are skipped.
    """

    def _require_oca(self):
        if self.env["ir.module.module"]._get("account_reconcile_oca").state != "installed":
            self.skipTest("account_reconcile_oca is not installed in this database")

    def test_both_screens_load_with_their_own_views(self):
        self._require_oca()
        model = self.env["account.bank.statement.line"].with_user(self.accountant_user)
        ours = model.get_views(
            [(self.env.ref("finsync_matching.view_finsync_workbench_list").id, "list")],
            {"action_id": self.workbench_action.id},
        )
        self.assertIn('js_class="finsync_workbench"', ours["views"]["list"]["arch"])
        oca_action = self.env.ref("account_reconcile_oca.action_bank_statement_line_reconcile")
        oca = model.get_views([(view.view_id.id, view.view_mode) for view in oca_action.view_ids])
        self.assertIn('js_class="reconcile"', oca["views"]["kanban"]["arch"])
        self.assertEqual(
            self.workbench_action.view_ids.view_id,
            self.env.ref("finsync_matching.view_finsync_workbench_list"),
            "OCA's views do not replace the workbench's",
        )

    def test_a_proposal_confirmed_here_is_reconciled_there_and_undone_there(self):
        self._require_oca()
        self.rule.auto_reconcile = False
        [tx] = self._import_lines(self._line("150.00", self.invoice_a.name, "OCA1"))
        line = tx.statement_line_id.with_user(self.accountant_user)
        line.action_finsync_confirm_proposals()
        self.assertTrue(line.is_reconciled)
        self.assertEqual(self.invoice_a.payment_state, "paid")
        # OCA's screen reads the reconciled line (its widget's data computes) ...
        self.assertTrue(line.sudo().reconcile_data_info)
        # ... and its Unreconcile button gives the line back to FinSync, settled.
        line.sudo().unreconcile_bank_line()
        self.assertFalse(line.is_reconciled)
        self.assertEqual(tx.state, "settled")
        self.assertIn(line, self._workbench())

    def test_a_line_reconciled_in_oca_leaves_the_workbench(self):
        self._require_oca()
        self.rule.auto_reconcile = False
        [tx] = self._import_lines(self._line("150.00", self.invoice_a.name, "OCA2"))
        line = tx.statement_line_id
        self.assertIn(line, self._workbench())
        with Form(
            line, view="account_reconcile_oca.bank_statement_line_form_reconcile_view"
        ) as form:
            form.add_account_move_line_id = self._receivable(self.invoice_a)
            self.assertTrue(form.can_reconcile)
        exception = self._exception(tx)
        self.env.cr.flush()  # the import's commit
        line.reconcile_bank_line()
        self.env.cr.flush()  # the widget's commit
        self.assertTrue(line.is_reconciled)
        self.assertEqual(self.invoice_a.payment_state, "paid")
        self.assertNotIn(line, self._workbench())
        self.assertEqual(tx.state, "reconciled")
        self.assertIn("outside FinSync", tx.transition_ids.sorted("id")[-1].reason)
        self.assertFalse(exception.is_open)
        with self.assertRaisesRegex(UserError, "has a proposal to confirm"):
            line.with_user(self.accountant_user).action_finsync_confirm_proposals()
        self.assertEqual(len(self.invoice_a.line_ids.matched_credit_ids), 1, "paid once")

    def test_keep_mode_reconcile_and_reverse_follow_the_line(self):
        self._require_oca()
        self.rule.auto_reconcile = False
        [tx] = self._import_lines(self._line("150.00", self.invoice_a.name, "OCA3"))
        line = tx.statement_line_id
        line.journal_id.reconcile_mode = "keep"
        line._seek_for_lines()[1].account_id.reconcile = True
        self.env.cr.flush()  # the import's commit
        with Form(
            line, view="account_reconcile_oca.bank_statement_line_form_reconcile_view"
        ) as form:
            form.add_account_move_line_id = self._receivable(self.invoice_a)
        line.reconcile_bank_line()
        self.env.cr.flush()
        self.assertTrue(line.is_reconciled)
        self.assertEqual(tx.state, "reconciled")
        # OCA's "keep" unreconcile reverses the reconciling entry.
        line.unreconcile_bank_line()
        self.env.cr.flush()
        self.assertFalse(line.is_reconciled)
        self.assertEqual(tx.state, "settled")
        self.assertIn(line, self._workbench())
