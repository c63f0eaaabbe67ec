from unittest.mock import patch

import psycopg2.errors

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from .test_reconcile import ReconcileCommon


class WizardCommon(ReconcileCommon):
    """Bank lines imported for real, exceptions opened by matching, wizards run as users."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.writeoff_account = cls.company_data["default_account_expense"]
        cls.env.company.finsync_writeoff_threshold = 5.0
        cls.manager2_user = new_test_user(
            cls.env,
            login="fs_manager2",
            groups="base.group_user,finsync_base.group_finsync_manager",
            company_id=cls.env.company.id,
            company_ids=[(6, 0, cls.env.company.ids)],
        )

    def _exception(self, tx, exception_type=None):
        exception = tx.exception_ids.filtered("is_open")
        self.assertEqual(len(exception), 1, "matching opened one exception for the line")
        if exception_type:
            self.assertEqual(exception.exception_type, exception_type)
        return exception

    def _match_form(self, exception, user=None, writeoff=False):
        exception = exception.with_user(user or self.accountant_user)
        action = (
            exception.action_open_writeoff_wizard()
            if writeoff
            else exception.action_open_match_wizard()
        )
        self.assertEqual(action["res_model"], "finsync.match.wizard")
        model = self.env["finsync.match.wizard"].with_user(user or self.accountant_user)
        return Form(model.with_context(**action["context"]))

    def _line_wizard(self, model, exception, user=None, **values):
        wizard_model = self.env[model].with_user(user or self.accountant_user)
        return wizard_model.with_context(default_exception_id=exception.id).create(values)

    def _select(self, form, move, amount=None):
        """Tick the wizard line of ``move`` (adding it by search if it is not listed)."""
        item = move.line_ids.filtered(
            lambda line: line.account_id.account_type == "asset_receivable"
        )
        for index in range(len(form.line_ids)):
            with form.line_ids.edit(index) as line:
                if line.move_line_id == item:
                    line.selected = True
                    if amount is not None:
                        line.amount = amount
                    return
        form.add_move_line_id = item
        if amount is not None:
            with form.line_ids.edit(len(form.line_ids) - 1) as line:
                line.amount = amount

    def assertBalanced(self, move):
        self.assertEqual(move.state, "posted")
        self.assertEqual(
            self.currency.compare_amounts(
                sum(move.line_ids.mapped("debit")), sum(move.line_ids.mapped("credit"))
            ),
            0,
        )


@tagged("post_install", "-at_install")
class TestManualMatch(WizardCommon):
    def test_candidates_are_ranked_with_the_proposal_first(self):
        [tx] = self._import_lines(self._line("149.00", self.invoice_a.name, "M1"))
        form = self._match_form(self._exception(tx, "amount_mismatch"))
        first = form.line_ids.edit(0)
        with first as line:
            self.assertEqual(line.move_line_id.move_id, self.invoice_a)
            self.assertTrue(line.proposed)
            self.assertTrue(line.selected, "the exception's candidate is ticked")
            self.assertIn(f"reference {self.invoice_a.name} in the label", line.explanation)
        self.assertEqual(self.currency.compare_amounts(form.difference, -1.0), 0)

    def test_one_transfer_for_two_invoices_chosen_by_hand(self):
        [tx] = self._import_lines(self._line("150.00", "payment march", "M2"))
        exception = self._exception(tx, "unmatched")
        form = self._match_form(exception)
        self._select(form, self.invoice_b)
        self.assertEqual(self.currency.compare_amounts(form.difference, 70.0), 0)
        self._select(form, self.invoice_c)
        self.assertTrue(form.is_balanced)
        form.save().action_confirm()
        self.assertEqual(set((self.invoice_b | self.invoice_c).mapped("payment_state")), {"paid"})
        self.assertEqual(self.invoice_a.payment_state, "not_paid")
        self.assertEqual(tx.state, "reconciled")
        self.assertTrue(tx.statement_line_id.is_reconciled)
        self.assertBalanced(tx.statement_line_id.move_id)
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(exception.reason_id, self.env.ref("finsync_base.reason_matched"))
        self.assertEqual(exception.resolved_by_id, self.accountant_user)
        self.assertIn(self.invoice_b.name, exception.resolution_note)

    def test_split_payment_the_last_invoice_takes_the_rest(self):
        [tx] = self._import_lines(self._line("200.00", "two invoices", "M3"))
        form = self._match_form(self._exception(tx))
        self._select(form, self.invoice_b)
        self._select(form, self.invoice_a)
        with form.line_ids.edit(len(form.line_ids) - 1) as line:
            self.assertEqual(line.currency_id.compare_amounts(line.amount, 120.0), 0)
        self.assertTrue(form.is_balanced)
        form.save().action_confirm()
        self.assertEqual(self.invoice_b.payment_state, "paid")
        self.assertEqual(self.invoice_a.payment_state, "partial")
        self.assertEqual(self.currency.compare_amounts(self.invoice_a.amount_residual, 30.0), 0)
        self.assertBalanced(tx.statement_line_id.move_id)

    def test_a_difference_without_write_off_is_refused(self):
        [tx] = self._import_lines(self._line("150.00", "payment", "M4"))
        form = self._match_form(self._exception(tx))
        self._select(form, self.invoice_b)
        wizard = form.save()
        with self.assertRaisesRegex(UserError, "leave"):
            wizard.action_confirm()
        self.assertFalse(tx.statement_line_id.is_reconciled)

    def test_users_and_reconciled_lines_are_refused(self):
        [tx] = self._import_lines(self._line("80.00", "payment", "M5"))
        exception = self._exception(tx)
        with self.assertRaises(AccessError):
            exception.with_user(self.user_user).action_open_match_wizard()
        form = self._match_form(exception)
        self._select(form, self.invoice_b)
        wizard = form.save()
        # Someone else reconciles the line meanwhile.
        self.env["finsync.matching"]._reconcile_allocations(
            tx.statement_line_id, [(self.invoice_b.line_ids.filtered("amount_residual"), None)]
        )
        with self.assertRaisesRegex(UserError, "reconciled meanwhile"):
            wizard.action_confirm()
        self.assertEqual(self.invoice_b.payment_state, "paid")
        self.assertEqual(len(self.invoice_b.line_ids.matched_credit_ids), 1, "paid once")


@tagged("post_install", "-at_install")
class TestWriteOff(WizardCommon):
    def _write_off(self, tx, user=None, reason="Customer deducted a bank fee"):
        form = self._match_form(self._exception(tx), user=user, writeoff=True)
        self.assertTrue(form.do_writeoff)
        form.writeoff_account_id = self.writeoff_account
        form.writeoff_reason = reason
        return form.save()

    def test_write_off_within_the_threshold_is_booked_at_once(self):
        [tx] = self._import_lines(self._line("149.00", self.invoice_a.name, "W1"))
        exception = self._exception(tx, "amount_mismatch")
        wizard = self._write_off(tx)
        self.assertFalse(wizard.needs_approval)
        wizard.action_confirm()
        self.assertEqual(self.invoice_a.payment_state, "paid")
        move = tx.statement_line_id.move_id
        self.assertBalanced(move)
        writeoff = move.line_ids.filtered(lambda line: line.account_id == self.writeoff_account)
        self.assertEqual(self.currency.compare_amounts(writeoff.balance, 1.0), 0)
        self.assertEqual(exception.reason_id, self.env.ref("finsync_base.reason_write_off"))
        self.assertFalse(
            self.env["finsync.writeoff.request"].search([("transaction_id", "=", tx.id)])
        )

    def test_write_off_over_the_threshold_waits_for_another_manager(self):
        [tx] = self._import_lines(self._line("120.00", self.invoice_a.name, "W2"))
        exception = self._exception(tx, "amount_mismatch")
        wizard = self._write_off(tx, user=self.manager_user)
        self.assertTrue(wizard.needs_approval)
        wizard.action_confirm()
        request = self.env["finsync.writeoff.request"].search([("transaction_id", "=", tx.id)])
        self.assertEqual(request.state, "requested")
        self.assertEqual(request.requester_id, self.manager_user)
        self.assertEqual(self.currency.compare_amounts(request.amount, -30.0), 0)
        self.assertEqual(exception.state, "waiting")
        self.assertFalse(tx.statement_line_id.is_reconciled, "nothing booked before approval")
        self.assertEqual(self.invoice_a.payment_state, "not_paid")

        with self.assertRaisesRegex(AccessError, "another FinSync manager"):
            request.with_user(self.manager_user).action_approve()
        with self.assertRaises(AccessError):
            request.with_user(self.accountant_user).action_approve()
        with self.assertRaises(UserError):
            request.with_user(self.manager_user).write({"state": "approved"})
        with self.assertRaisesRegex(UserError, "waits for approval"):
            self._write_off(tx, user=self.accountant_user).action_confirm()
        self.assertEqual(request.state, "requested")

        request.with_user(self.manager2_user).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertEqual(request.approver_id, self.manager2_user)
        self.assertEqual(self.invoice_a.payment_state, "paid")
        self.assertEqual(tx.state, "reconciled")
        move = tx.statement_line_id.move_id
        self.assertBalanced(move)
        writeoff = move.line_ids.filtered(lambda line: line.account_id == self.writeoff_account)
        self.assertEqual(self.currency.compare_amounts(writeoff.balance, 30.0), 0)
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(exception.reason_id, self.env.ref("finsync_base.reason_write_off"))
        todo = request.activity_ids.filtered(lambda act: act.user_id == self.manager_user)
        self.assertEqual(todo.summary, "Write-off approved")
        with self.assertRaisesRegex(UserError, "already"):
            request.with_user(self.manager2_user).action_approve()

    def test_rejection_tells_the_requester_and_reopens_the_work(self):
        [tx] = self._import_lines(self._line("120.00", self.invoice_a.name, "W3"))
        exception = self._exception(tx)
        self._write_off(tx, user=self.accountant_user).action_confirm()
        request = self.env["finsync.writeoff.request"].search([("transaction_id", "=", tx.id)])
        reject = (
            self.env["finsync.writeoff.reject"]
            .with_user(self.manager_user)
            .create({"request_ids": [(6, 0, request.ids)], "reason": "Ask the customer for it"})
        )
        reject.action_confirm()
        self.assertEqual(request.state, "rejected")
        self.assertEqual(request.rejection_reason, "Ask the customer for it")
        self.assertEqual(exception.state, "in_progress")
        self.assertFalse(tx.statement_line_id.is_reconciled)
        todo = request.activity_ids.filtered(lambda act: act.user_id == self.accountant_user)
        self.assertEqual(todo.summary, "Write-off rejected")
        self.assertIn("Ask the customer", todo.note)

    def test_approval_refused_when_the_line_was_reconciled_meanwhile(self):
        [tx] = self._import_lines(self._line("120.00", self.invoice_a.name, "W4"))
        self._write_off(tx, user=self.accountant_user).action_confirm()
        request = self.env["finsync.writeoff.request"].search([("transaction_id", "=", tx.id)])
        item = self.invoice_a.line_ids.filtered("amount_residual")
        self.env["finsync.matching"]._reconcile_allocations(tx.statement_line_id, [(item, 120.0)])
        with self.assertRaisesRegex(UserError, "reconciled meanwhile"):
            request.with_user(self.manager_user).action_approve()
        self.assertEqual(request.state, "requested")
        self.assertEqual(self.currency.compare_amounts(self.invoice_a.amount_residual, 30.0), 0)

    def test_approval_refused_while_a_matching_run_holds_the_line(self):
        [tx] = self._import_lines(self._line("120.00", self.invoice_a.name, "W4L"))
        self._write_off(tx, user=self.accountant_user).action_confirm()
        request = self.env["finsync.writeoff.request"].search([("transaction_id", "=", tx.id)])
        cr = self.env.cr
        execute = cr.execute

        def locked(query, *args, **kwargs):
            if "NOWAIT" in str(query):
                raise psycopg2.errors.LockNotAvailable("could not obtain lock")
            return execute(query, *args, **kwargs)

        with patch.object(cr, "execute", side_effect=locked):
            with self.assertRaisesRegex(UserError, "Someone else .* is matching"):
                request.with_user(self.manager_user).action_approve()
        self.assertEqual(request.state, "requested")
        self.assertFalse(tx.statement_line_id.is_reconciled)

    def test_threshold_is_a_company_setting(self):
        settings = self.env["res.config.settings"].create({"finsync_writeoff_threshold": 25.0})
        settings.execute()
        self.assertEqual(
            self.currency.compare_amounts(self.env.company.finsync_writeoff_threshold, 25.0), 0
        )
        [tx] = self._import_lines(self._line("130.00", self.invoice_a.name, "W5"))
        wizard = self._write_off(tx)
        self.assertFalse(wizard.needs_approval, "20.00 is under the 25.00 threshold")
        wizard.action_confirm()
        self.assertEqual(self.invoice_a.payment_state, "paid")

    def test_other_companies_neither_see_nor_decide_requests(self):
        [tx] = self._import_lines(self._line("120.00", self.invoice_a.name, "W6"))
        self._write_off(tx, user=self.accountant_user).action_confirm()
        request = self.env["finsync.writeoff.request"].search([("transaction_id", "=", tx.id)])
        other_company = self.env["res.company"].create({"name": "FinSync Other Co"})
        outsider = new_test_user(
            self.env,
            login="fs_other_manager",
            groups="base.group_user,finsync_base.group_finsync_manager",
            company_id=other_company.id,
            company_ids=[(6, 0, other_company.ids)],
        )
        requests = self.env["finsync.writeoff.request"].with_user(outsider)
        self.assertFalse(requests.search([("id", "=", request.id)]))
        with self.assertRaises(AccessError):
            request.with_user(outsider).action_approve()
        self.assertEqual(request.state, "requested")
        self.assertFalse(tx.statement_line_id.is_reconciled)


@tagged("post_install", "-at_install")
class TestLineWizards(WizardCommon):
    def test_mark_duplicate_removes_the_line_and_closes_the_transaction(self):
        first, second = self._import_lines(
            self._line("42.00", "rent january", "D1"), self._line("42.00", "rent january", "D2")
        )
        exception = self._exception(second, "unmatched")
        journal_lines = self.env["account.bank.statement.line"].search_count(
            [("journal_id", "=", self.journal.id)]
        )
        wizard = self._line_wizard("finsync.duplicate.wizard", exception)
        self.assertEqual(wizard.original_line_id, first.statement_line_id)
        duplicate_line = second.statement_line_id
        duplicate_move = duplicate_line.move_id
        wizard.action_confirm()
        self.assertFalse(duplicate_line.exists())
        self.assertFalse(duplicate_move.exists())
        self.assertEqual(
            self.env["account.bank.statement.line"].search_count(
                [("journal_id", "=", self.journal.id)]
            ),
            journal_lines - 1,
        )
        self.assertEqual(second.state, "reversed")
        self.assertIn("Duplicate of bank line", second.transition_ids.sorted("id")[-1].reason)
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(exception.reason_id, self.env.ref("finsync_base.reason_duplicate"))
        self.assertEqual(first.state, "settled")
        self.assertTrue(first.statement_line_id.exists())
        second._post_statement_lines()
        self.assertFalse(second.statement_line_id, "a duplicate is never posted again")

    def test_customer_payment_on_account_stays_open_on_the_receivable(self):
        [tx] = self._import_lines(self._line("300.00", "advance for order 77", "P1"))
        exception = self._exception(tx, "unmatched")
        wizard = self._line_wizard(
            "finsync.payment.wizard", exception, partner_id=self.partner_a.id
        )
        self.assertEqual(wizard.partner_type, "customer")
        self.assertEqual(wizard.booking, "Customer payment on account")
        wizard.action_confirm()
        st_line = tx.statement_line_id
        self.assertTrue(st_line.is_reconciled)
        self.assertBalanced(st_line.move_id)
        receivable = st_line.move_id.line_ids.filtered(
            lambda line: line.account_id == self.partner_a.property_account_receivable_id
        )
        self.assertEqual(receivable.partner_id, self.partner_a)
        self.assertEqual(self.currency.compare_amounts(receivable.amount_residual, -300.0), 0)
        self.assertFalse(receivable.reconciled, "left open for a later invoice")
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(exception.reason_id, self.env.ref("finsync_matching.reason_on_account"))

    def test_vendor_payment_on_account_for_money_out(self):
        [tx] = self._import_lines(self._line("-40.00", "supplier prepayment", "P2"))
        wizard = self._line_wizard(
            "finsync.payment.wizard", self._exception(tx), partner_id=self.partner_b.id
        )
        self.assertEqual(wizard.partner_type, "supplier")
        wizard.action_confirm()
        payable = tx.statement_line_id.move_id.line_ids.filtered(
            lambda line: line.account_id == self.partner_b.property_account_payable_id
        )
        self.assertEqual(self.currency.compare_amounts(payable.balance, 40.0), 0)
        self.assertEqual(payable.partner_id, self.partner_b)
        self.assertBalanced(tx.statement_line_id.move_id)

    def test_customer_refund_paid_out_goes_to_the_receivable(self):
        [tx] = self._import_lines(self._line("-25.00", "refund order 12", "P3"))
        exception = self._exception(tx)
        self.assertTrue(exception.line_to_resolve)
        wizard = self._line_wizard(
            "finsync.payment.wizard",
            exception,
            partner_id=self.partner_a.id,
            partner_type="customer",
        )
        self.assertEqual(wizard.booking, "Customer refund")
        wizard.action_confirm()
        receivable = tx.statement_line_id.move_id.line_ids.filtered(
            lambda line: line.account_id == self.partner_a.property_account_receivable_id
        )
        self.assertEqual(self.currency.compare_amounts(receivable.balance, 25.0), 0)
        self.assertFalse(exception.line_to_resolve, "nothing left to do on the line")

    def test_a_duplicate_must_have_the_same_amount_and_be_unreconciled(self):
        first, second = self._import_lines(
            self._line("42.00", "rent", "D3"), self._line("43.00", "rent", "D4")
        )
        wizard = self._line_wizard(
            "finsync.duplicate.wizard",
            self._exception(second),
            original_line_id=first.statement_line_id.id,
        )
        with self.assertRaisesRegex(UserError, "the amounts differ"):
            wizard.action_confirm()
        self.assertEqual(second.state, "settled")
        self.assertTrue(second.statement_line_id.exists())

    def test_fix_partner_remembers_the_account_and_matches_again(self):
        line = self._line("80.00", "thank you", "F1")
        line.account = "DE89370400440532013000"
        [tx] = self._import_lines(line)
        exception = self._exception(tx, "unmatched")
        wizard = self._line_wizard(
            "finsync.partner.wizard", exception, partner_id=self.partner_a.id
        )
        self.assertTrue(wizard.remember_account)
        wizard.action_confirm()
        self.assertEqual(wizard.state, "done")
        self.assertEqual(tx.statement_line_id.partner_id, self.partner_a)
        bank = self.env["res.partner.bank"].search([("partner_id", "=", self.partner_a.id)])
        self.assertIn("DE89370400440532013000", bank.mapped("sanitized_acc_number"))
        # Partner and amount now point to one invoice: proposed (the rule reconciles only
        # references on its own), and the wizard says so.
        self.assertEqual(tx.proposed_line_ids.move_id, self.invoice_b)
        self.assertIn(self.invoice_b.name, wizard.result)
        self.assertIn("remembered", wizard.result)

    def test_bulk_match_again_after_the_invoice_arrives(self):
        [tx] = self._import_lines(self._line("95.00", "order so 4711, thanks", "B1"))
        exception = self._exception(tx, "unmatched")
        late = self.init_invoice("out_invoice", amounts=[95.0], taxes=[], post=False)
        late.payment_reference = "SO/04711"
        late.action_post()
        action = exception.with_user(self.accountant_user).action_rerun_matching()
        self.assertIn("1 reconciled", action["params"]["message"])
        self.assertEqual(late.payment_state, "paid")
        self.assertEqual(exception.state, "resolved")
        with self.assertRaises(AccessError):
            exception.with_user(self.user_user).action_rerun_matching()
