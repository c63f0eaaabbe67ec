import datetime
from decimal import Decimal
from unittest.mock import patch

import psycopg2.errors

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.finsync_bank.tests.common import IBAN
from odoo.addons.finsync_testing.tools.generate import StatementSpec, camt053
from odoo.addons.queue_job.exception import RetryableJobError

from .test_reconcile import ReconcileCommon


@tagged("post_install", "-at_install")
class TestProposalsAndAllocations(ReconcileCommon):
    """Proposals an accountant confirms, and reconciling chosen items by hand."""

    def _receivable(self, invoice):
        return invoice.line_ids.filtered(
            lambda aml: aml.account_id.account_type == "asset_receivable"
        )

    def test_a_rule_that_only_proposes_waits_for_confirmation(self):
        self.rule.auto_reconcile = False
        [tx] = self._import_lines(self._line("150.00", self.invoice_a.name, "P1"))
        self.assertEqual(tx.state, "settled")
        self.assertEqual(self.invoice_a.payment_state, "not_paid")
        self.assertTrue(tx.has_proposal)
        self.assertEqual(tx.proposed_line_ids, self._receivable(self.invoice_a))
        self.assertEqual(tx.exception_ids.exception_type, "proposal")
        proposals = self.env["finsync.transaction"].search([("has_proposal", "=", True)])
        self.assertIn(tx, proposals)

        tx.action_confirm_proposal()
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(self.invoice_a.payment_state, "paid")
        self.assertFalse(tx.has_proposal)
        self.assertEqual(tx.exception_ids.state, "resolved")
        self.assertIn("Proposal confirmed by", tx.match_explanation)
        self.assertNotIn(tx, self.env["finsync.transaction"].search([("has_proposal", "=", True)]))

    def test_only_accountants_confirm_proposals_or_match_again(self):
        self.rule.auto_reconcile = False
        [tx] = self._import_lines(self._line("150.00", self.invoice_a.name, "P1U"))
        self.assertTrue(tx.has_proposal)
        # Refused up front with the reason, not by whichever write fails first.
        with self.assertRaisesRegex(AccessError, "Only FinSync accountants"):
            tx.with_user(self.user_user).action_confirm_proposal()
        with self.assertRaisesRegex(AccessError, "Only FinSync accountants"):
            tx.with_user(self.user_user).action_match()
        self.assertEqual(tx.state, "settled")
        self.assertEqual(self.invoice_a.payment_state, "not_paid")

    def test_a_proposal_that_no_longer_adds_up_is_refused(self):
        self.rule.auto_reconcile = False
        [tx] = self._import_lines(self._line("150.00", self.invoice_a.name, "P2"))
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=self.invoice_a.ids
        ).create({"amount": 50.0}).action_create_payments()
        self.assertEqual(self.invoice_a.payment_state, "partial")
        with self.assertRaisesRegex(UserError, "no longer adds up"):
            tx.action_confirm_proposal()
        self.assertEqual(tx.state, "settled")

    def test_partial_allocation_leaves_the_rest_to_pay(self):
        [tx] = self._import_lines(self._line("100.00", "unknown payer", "P3"))
        self.assertEqual(tx.exception_ids.exception_type, "unmatched")
        self.env["finsync.matching"]._reconcile_allocations(
            tx.statement_line_id, [(self._receivable(self.invoice_a), 100.0)]
        )
        self.assertEqual(tx.state, "reconciled")
        self.assertEqual(self.invoice_a.payment_state, "partial")
        self.assertEqual(self.currency.compare_amounts(self.invoice_a.amount_residual, 50.0), 0)
        self.assertTrue(tx.statement_line_id.is_reconciled)
        self.assertEqual(tx.exception_ids.state, "resolved")
        move = tx.statement_line_id.move_id
        self.assertTrue(
            self.currency.is_zero(sum(move.line_ids.mapped("balance"))), "the entry balances"
        )

    def test_an_allocation_below_a_cent_is_refused(self):
        [tx] = self._import_lines(self._line("100.00", "unknown payer", "P4C"))
        st_line = tx.statement_line_id
        lines_before = st_line.move_id.line_ids
        writeoff = self.company_data["default_account_revenue"]
        with self.assertRaisesRegex(UserError, "cannot be allocated"):
            self.env["finsync.matching"]._reconcile_allocations(
                st_line, [(self._receivable(self.invoice_b), 0.004)], writeoff_account=writeoff
            )
        self.assertEqual(st_line.move_id.line_ids, lines_before)
        self.assertEqual(self.invoice_b.payment_state, "not_paid")
        self.assertEqual(tx.state, "settled")

    def test_allocations_that_do_not_add_up_write_nothing(self):
        [tx] = self._import_lines(self._line("100.00", "unknown payer", "P4"))
        st_line = tx.statement_line_id
        lines_before = st_line.move_id.line_ids
        matching = self.env["finsync.matching"]
        with self.assertRaisesRegex(UserError, "80.00 left to pay"):
            matching._reconcile_allocations(st_line, [(self._receivable(self.invoice_b), 90.0)])
        with self.assertRaisesRegex(UserError, "unallocated"):
            matching._reconcile_allocations(st_line, [(self._receivable(self.invoice_b), None)])
        self.assertEqual(st_line.move_id.line_ids, lines_before)
        self.assertFalse(st_line.is_reconciled)
        self.assertEqual(tx.state, "settled")
        # With a write-off account the remaining 20.00 is booked there.
        writeoff = self.company_data["default_account_revenue"]
        matching._reconcile_allocations(
            st_line, [(self._receivable(self.invoice_b), None)], writeoff_account=writeoff
        )
        self.assertEqual(self.invoice_b.payment_state, "paid")
        booked = st_line.move_id.line_ids.filtered(lambda aml: aml.account_id == writeoff)
        self.assertEqual(self.currency.compare_amounts(booked.balance, -20.0), 0)
        with self.assertRaisesRegex(UserError, "reconciled already"):
            matching._reconcile_allocations(st_line, [(self._receivable(self.invoice_c), None)])

    def test_undoing_asks_a_reason_and_keeps_it(self):
        [tx] = self._import_lines(self._line("150.00", self.invoice_a.name, "P5"))
        self.assertEqual(tx.state, "reconciled")
        wizard = (
            self.env["finsync.unreconcile"]
            .with_context(active_model="finsync.transaction", active_ids=tx.ids)
            .create({"reason": "Paid by the sister company, not this customer"})
        )
        self.assertEqual(wizard.transaction_ids, tx)
        wizard.action_undo()
        self.assertEqual(tx.state, "settled")
        self.assertEqual(self.invoice_a.payment_state, "not_paid")
        self.assertFalse(tx.statement_line_id.is_reconciled)
        self.assertFalse(tx.invoice_ids)
        last = tx.transition_ids.sorted("id")[-1]
        self.assertEqual((last.from_state, last.to_state), ("reconciled", "settled"))
        self.assertIn("Paid by the sister company", last.reason)
        self.assertIn("Paid by the sister company", tx.message_ids[:1].body)
        with self.assertRaisesRegex(UserError, "not reconciled, nothing to undo"):
            wizard.action_undo()

    def test_the_import_says_what_matching_did(self):
        spec = StatementSpec(
            account=IBAN,
            currency=self.currency.name,
            opening_balance=Decimal(0),
            start=datetime.date(2026, 1, 1),
            end=datetime.date(2026, 1, 31),
            lines=[
                self._line("150.00", self.invoice_a.name, "P6"),
                self._line("12.34", "who is this", "P7"),
            ],
        )
        wizard = self._import(("feb.xml", camt053(spec)))
        self.assertEqual(wizard.state, "done", wizard.message)
        self.assertEqual(wizard.matched_count, 1)
        self.assertEqual(wizard.match_exception_ids.exception_type, "unmatched")
        self.assertIn("1 reconciled automatically, 1 to review", wizard.message)
        action = wizard.action_view_match_exceptions()
        self.assertEqual(
            self.env["finsync.exception"].search(action["domain"]), wizard.match_exception_ids
        )

    def test_the_reimport_counts_only_the_lines_it_imported(self):
        def spec(*lines):
            return StatementSpec(
                account=IBAN,
                currency=self.currency.name,
                opening_balance=Decimal(0),
                start=datetime.date(2026, 1, 1),
                end=datetime.date(2026, 1, 31),
                lines=list(lines),
            )

        first_lines = [
            self._line("150.00", self.invoice_a.name, "P9"),
            self._line("80.00", self.invoice_b.name, "P10"),
        ]
        first = self._import(("mar.xml", camt053(spec(*first_lines))))
        self.assertEqual(first.matched_count, 2, first.message)
        # The same file again: nothing new, nothing reconciled by this import.
        again = self._import(("mar-copy.xml", camt053(spec(*first_lines))))
        self.assertEqual(again.matched_count, 0, again.message)
        self.assertNotIn("reconciled automatically", again.message)
        # A longer file: only its new line counts.
        longer = self._import(
            (
                "mar-full.xml",
                camt053(spec(*first_lines, self._line("70.00", self.invoice_c.name, "P11"))),
            )
        )
        self.assertEqual(longer.matched_count, 1, longer.message)
        self.assertIn("1 new, 2 already imported.", longer.message)
        self.assertIn("1 reconciled automatically, 0 to review", longer.message)

    def test_the_bank_entry_says_what_it_was_matched_with(self):
        [tx] = self._import_lines(self._line("150.00", self.invoice_a.name, "P8"))
        move = tx.statement_line_id.move_id
        self.assertEqual(move.finsync_transaction_id, tx)
        self.assertIn("Reconciled (Automatic, References)", move.finsync_match_explanation)
        self.assertIn("amount equal", move.finsync_match_explanation)

    def test_lines_someone_else_is_matching_are_refused_clearly(self):
        [tx] = self._import_lines(self._line("12.00", "who is this", "P9"))
        cr = self.env.cr
        execute = cr.execute

        def locked(query, *args, **kwargs):
            if "NOWAIT" in str(query):
                raise psycopg2.errors.LockNotAvailable("could not obtain lock")
            return execute(query, *args, **kwargs)

        matching = self.env["finsync.matching"]
        with patch.object(cr, "execute", side_effect=locked):
            with self.assertRaisesRegex(UserError, "Someone else .* is matching"):
                matching._match_statement_lines(tx.statement_line_id)
            with self.assertRaises(RetryableJobError):
                matching.with_context(job_uuid="job-1")._match_statement_lines(tx.statement_line_id)
        self.assertEqual(tx.state, "settled")
