from odoo.tests import tagged

from .test_reconcile import ReconcileCommon


@tagged("post_install", "-at_install")
class TestBacktest(ReconcileCommon):
    """A rule tried on lines people reconciled, before it is enabled."""

    def _receivable(self, invoice):
        return invoice.line_ids.filtered(
            lambda aml: aml.account_id.account_type == "asset_receivable"
        )

    def test_backtest_counts_agreements_and_lists_every_disagreement(self):
        # Reconciled by the rule on its own: not part of the back-test.
        [auto] = self._import_lines(self._line("150.00", self.invoice_a.name, "B0"))
        self.assertEqual(auto.match_mode, "auto")
        self.rule.active = False
        invoice_d = self.init_invoice("out_invoice", amounts=[70.0], taxes=[], post=True)
        agreed, differed, unknown = self._import_lines(
            self._line("80.00", f"pay {self.invoice_b.name}", "B1"),
            self._line("70.00", f"pay {self.invoice_c.name}", "B2"),
            self._line("42.00", "bank charges refund", "B3"),
        )
        matching = self.env["finsync.matching"]
        matching._reconcile_allocations(
            agreed.statement_line_id, [(self._receivable(self.invoice_b), None)]
        )
        # The customer quoted the wrong invoice; the accountant knew better.
        matching._reconcile_allocations(
            differed.statement_line_id, [(self._receivable(invoice_d), None)]
        )
        matching._reconcile_allocations(
            unknown.statement_line_id,
            [],
            writeoff_account=self.company_data["default_account_revenue"],
        )
        candidate = self.env["finsync.match.rule"].create(
            {"name": "Candidate", "active": False, "company_id": self.env.company.id}
        )
        backtest = self.env["finsync.match.backtest"].create(
            {"rule_id": candidate.id, "days": 3650}
        )
        action = backtest.action_run()

        # The result opens in a dialog titled after the rule, not an untitled window.
        self.assertEqual(action["name"], "Back-test of Candidate")
        self.assertEqual(backtest.line_count, 3)
        self.assertEqual(backtest.reconcile_count, 2)
        self.assertEqual(backtest.agree_count, 1)
        self.assertEqual(backtest.disagree_count, 1)
        self.assertEqual(backtest.left_count, 1)
        [disagreement] = backtest.disagreement_ids
        self.assertEqual(disagreement.st_line_id, differed.statement_line_id)
        self.assertEqual(disagreement.people_items, invoice_d.name)
        self.assertEqual(disagreement.rule_items, self.invoice_c.name)
        self.assertIn("amount equal", disagreement.explanation)
        # A back-test never touches the ledger.
        self.assertEqual(self.invoice_c.payment_state, "not_paid")
        self.assertEqual(differed.invoice_ids, invoice_d)
