from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .test_wizards import WizardCommon

# What a client may send to pass itself off as the approval flow.
FORGED = {"finsync_writeoff": True, "finsync_writeoff_guard": True}


@tagged("post_install", "-at_install")
class TestWriteOffRequestControls(WizardCommon):
    """Requests are written by the server only; the requester never decides."""

    def _request(self, reference, amount="120.00", user=None):
        [tx] = self._import_lines(self._line(amount, self.invoice_a.name, reference))
        form = self._match_form(self._exception(tx), user=user, writeoff=True)
        form.writeoff_account_id = self.writeoff_account
        form.writeoff_reason = "Customer deducted a fee"
        form.save().action_confirm()
        request = self.env["finsync.writeoff.request"].search([("transaction_id", "=", tx.id)])
        self.assertEqual(request.state, "requested")
        return tx, request

    def test_manager_cannot_rewrite_the_requester_then_approve_himself(self):
        tx, request = self._request("C1", user=self.manager_user)
        forged = request.with_user(self.manager_user).with_context(**FORGED)
        for vals in (
            {"requester_id": self.manager2_user.id},
            {"create_uid": self.manager2_user.id},
            {"approver_id": self.manager2_user.id},
            {"state": "approved"},
            {"amount": -0.01},
            {"amount_company_currency": -0.01},
        ):
            with self.assertRaises(UserError, msg=str(vals)):
                forged.write(vals)
        self.assertEqual(request.requester_id, self.manager_user)
        with self.assertRaisesRegex(AccessError, "another FinSync manager"):
            forged.action_approve()
        self.assertEqual(request.state, "requested")
        self.assertFalse(request.approver_id)
        self.assertEqual(self.currency.compare_amounts(request.amount, -30.0), 0)
        self.assertFalse(tx.statement_line_id.is_reconciled)

    def test_client_cannot_create_a_request_or_its_items(self):
        tx, request = self._request("C2", user=self.accountant_user)
        item = self.invoice_b.line_ids.filtered("amount_residual")
        for user in (self.accountant_user, self.manager_user):
            requests = self.env["finsync.writeoff.request"].with_user(user).with_context(**FORGED)
            with self.assertRaises(AccessError):
                requests.create(
                    {
                        "statement_line_id": tx.statement_line_id.id,
                        "currency_id": self.currency.id,
                        "amount": -0.01,
                        "amount_company_currency": -0.01,
                        "account_id": self.writeoff_account.id,
                        "reason": "small",
                    }
                )
            lines = self.env["finsync.writeoff.request.line"].with_user(user)
            with self.assertRaises(AccessError):
                lines.with_context(**FORGED).create(
                    {"request_id": request.id, "move_line_id": item.id, "amount": 80.0}
                )
            with self.assertRaises(UserError):
                request.line_ids.with_user(user).with_context(**FORGED).write({"amount": 1.0})
        self.assertEqual(len(request.line_ids), 1)
        self.assertEqual(self.currency.compare_amounts(request.line_ids.amount, 150.0), 0)

    def test_amount_is_the_servers_and_rechecked_at_approval(self):
        tx, request = self._request("C3", user=self.accountant_user)
        self.assertEqual(self.currency.compare_amounts(request.amount, -30.0), 0)
        self.assertEqual(self.currency.compare_amounts(request.amount_company_currency, -30.0), 0)
        # Someone pays 10.00 of the invoice meanwhile: the 30.00 approved would
        # no longer be what the request said.
        [other] = self._import_lines(self._line("10.00", "misc", "C3B"))
        item = self.invoice_a.line_ids.filtered("amount_residual")
        self.env["finsync.matching"]._reconcile_allocations(other.statement_line_id, [(item, 10.0)])
        with self.assertRaisesRegex(UserError, "changed since it was requested"):
            request.with_user(self.manager2_user).action_approve()
        self.assertEqual(request.state, "requested")
        self.assertFalse(tx.statement_line_id.is_reconciled)
        self.assertEqual(self.currency.compare_amounts(self.invoice_a.amount_residual, 140.0), 0)


@tagged("post_install", "-at_install")
class TestRuleWriteOffThreshold(WizardCommon):
    """A matching rule's write-off over the threshold waits for a manager."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule.write({"amount_tolerance": 5.0, "writeoff_account_id": cls.writeoff_account.id})
        cls.env.company.finsync_writeoff_threshold = 1.0

    def test_write_off_at_the_threshold_is_booked(self):
        [tx] = self._import_lines(self._line("149.00", self.invoice_a.name, "T1"))
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(self.invoice_a.payment_state, "paid")
        self.assertFalse(
            self.env["finsync.writeoff.request"].search(
                [("statement_line_id", "=", tx.statement_line_id.id)]
            )
        )

    def test_write_off_over_the_threshold_is_requested_not_booked(self):
        [tx] = self._import_lines(self._line("76.00", self.invoice_b.name, "T2"))
        self.assertFalse(tx.statement_line_id.is_reconciled, "nothing booked before approval")
        self.assertEqual(self.invoice_b.payment_state, "not_paid")
        request = self.env["finsync.writeoff.request"].search(
            [("statement_line_id", "=", tx.statement_line_id.id)]
        )
        self.assertEqual(request.state, "requested")
        self.assertEqual(request.origin, "rule")
        self.assertEqual(request.match_rule_id, self.rule)
        self.assertEqual(request.requester_id, self.env.ref("base.user_root"))
        self.assertEqual(self.currency.compare_amounts(request.amount, -4.0), 0)
        exception = self._exception(tx, "amount_mismatch")
        self.assertEqual(exception.state, "waiting")
        again = self.env["finsync.matching"]._match_statement_lines(tx.statement_line_id)
        self.assertEqual(again, {}, "a line waiting for approval is not matched again")
        self.assertEqual(
            self.env["finsync.writeoff.request"].search_count(
                [("statement_line_id", "=", tx.statement_line_id.id)]
            ),
            1,
        )
        request.with_user(self.manager_user).action_approve()
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(self.invoice_b.payment_state, "paid")
        writeoff = tx.statement_line_id.move_id.line_ids.filtered(
            lambda line: line.account_id == self.writeoff_account
        )
        self.assertEqual(self.currency.compare_amounts(writeoff.balance, 4.0), 0)

    def test_whoever_changed_the_rule_does_not_approve_its_write_off(self):
        self.rule.with_user(self.manager_user).write({"amount_tolerance": 6.0})
        [tx] = self._import_lines(self._line("75.00", self.invoice_b.name, "T3"))
        request = self.env["finsync.writeoff.request"].search(
            [("statement_line_id", "=", tx.statement_line_id.id)]
        )
        with self.assertRaisesRegex(AccessError, "which you changed last"):
            request.with_user(self.manager_user).action_approve()
        request.with_user(self.manager2_user).action_approve()
        self.assertEqual(request.state, "approved")

    def test_confirming_a_proposal_does_not_skip_the_threshold(self):
        self.rule.auto_reconcile = False
        [tx] = self._import_lines(self._line("76.00", self.invoice_b.name, "T4"))
        self.assertTrue(tx.has_proposal)
        with self.assertRaisesRegex(UserError, "over the approval threshold"):
            tx.with_user(self.accountant_user).action_confirm_proposal()
        self.assertEqual(tx.state, "settled")
        self.assertEqual(self.invoice_b.payment_state, "not_paid")
        [small] = self._import_lines(self._line("149.00", self.invoice_a.name, "T5"))
        small.with_user(self.accountant_user).action_confirm_proposal()
        self.assertEqual(self.invoice_a.payment_state, "paid")
