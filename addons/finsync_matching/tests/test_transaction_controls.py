from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.finsync_base.tests.common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestManualMovesWithMatching(FinsyncCommon):
    def test_a_reconciliation_is_not_undone_by_the_plain_button(self):
        event = self._ingest(self._payload(("UNDO-1", "10.00")))
        event._process()
        tx = event.transaction_ids
        tx._transition("reconciled", reason="Matched INV/1")
        with self.assertRaises(UserError):
            tx.with_user(self.accountant_user).with_context(
                finsync_to_state="settled"
            ).action_transition()
        self.assertEqual(tx.state, "reconciled")
