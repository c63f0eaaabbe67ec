from datetime import timedelta

import psycopg2
from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestExceptionQueue(FinsyncCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.policy = cls.env.ref("finsync_base.sla_unmatched")
        cls.policy.write({"sla_hours": 24, "default_user_id": cls.user_user.id})
        cls.reason = cls.env.ref("finsync_base.reason_matched")

    def _exception(self, **vals):
        return self.env["finsync.exception"].create(
            {"name": "No invoice for payment", "exception_type": "unmatched", **vals}
        )

    @freeze_time("2026-03-02 08:00:00")
    def test_policy_sets_owner_severity_and_due_date(self):
        exc = self._exception()
        self.assertEqual(exc.user_id, self.user_user)
        self.assertEqual(exc.severity, "medium")
        self.assertEqual(exc.due_date, fields.Datetime.to_datetime("2026-03-03 08:00:00"))
        # A company policy wins over the company-wide one.
        self.env["finsync.exception.sla"].create(
            {
                "exception_type": "unmatched",
                "company_id": self.env.company.id,
                "sla_hours": 2,
                "default_severity": "high",
            }
        )
        exc2 = self._exception()
        self.assertEqual(exc2.severity, "high")
        self.assertEqual(exc2.due_date, fields.Datetime.to_datetime("2026-03-02 10:00:00"))

    def test_large_amounts_start_one_severity_higher(self):
        self.policy.raise_severity_amount = 1000.0
        event = self._ingest(
            self._payload(("BIG-1", "2500.00"), ("SMALL-1", "999.99"), ("OUT-1", "-1000.00"))
        )
        event._process()
        txs = event.transaction_ids
        exceptions = self.env["finsync.exception"]._open_for_records(
            "unmatched",
            txs,
            lambda tx: {"name": tx.external_id, "transaction_ids": [(6, 0, tx.ids)]},
        )
        severity = {exc.name: exc.severity for exc in exceptions}
        self.assertEqual(severity, {"BIG-1": "high", "SMALL-1": "medium", "OUT-1": "high"})
        self.assertEqual(self._exception().severity, "medium", "no transaction, no raise")

    @mute_logger("odoo.sql_db")
    def test_one_policy_per_type_and_company(self):
        with self.assertRaises(psycopg2.errors.UniqueViolation), self.cr.savepoint():
            self.env["finsync.exception.sla"].create(
                {"exception_type": "unmatched", "sla_hours": 5}
            )

    def test_closing_requires_a_reason_and_reopening_keeps_history(self):
        exc = self._exception()
        with self.assertRaises(UserError):  # refused: closing goes through _close
            exc.write({"state": "resolved"})
        exc.with_user(self.accountant_user)._close(self.reason, note="Matched INV/7")
        self.assertEqual(exc.state, "resolved")
        self.assertFalse(exc.is_open)
        self.assertEqual(exc.resolved_by_id, self.accountant_user)
        messages_before = len(exc.message_ids)
        exc.with_user(self.accountant_user).action_reopen()
        self.assertEqual(exc.state, "new")
        self.assertFalse(exc.reason_id)
        self.assertGreater(len(exc.message_ids), messages_before)
        self.assertTrue(
            any("Matched INV/7" in (m.body or "") for m in exc.message_ids),
            "the first resolution stays in the history",
        )

    def test_resolve_wizard_closes_many_with_one_reason(self):
        excs = self._exception() | self._exception(name="Second")
        wizard_action = excs.with_user(self.accountant_user).action_open_resolve_wizard()
        form = Form(
            self.env["finsync.exception.resolve"]
            .with_user(self.accountant_user)
            .with_context(**wizard_action["context"])
        )
        self.assertEqual(form.open_count, 2)
        form.reason_id = self.reason
        form.note = "Both paid by one transfer"
        form.save().action_confirm()
        self.assertEqual(set(excs.mapped("state")), {"resolved"})
        self.assertEqual(excs.reason_id, self.reason)

    def test_users_cannot_resolve_or_work_others_exceptions(self):
        exc = self._exception(user_id=self.accountant_user.id)
        with self.assertRaises(AccessError):
            exc.with_user(self.user_user)._close(self.reason)
        with self.assertRaises(AccessError):
            exc.with_user(self.user_user).action_assign_to_me()
        mine = self._exception()
        mine.with_user(self.user_user).action_start()
        self.assertEqual(mine.state, "in_progress")

    def test_bulk_assign(self):
        excs = self._exception() | self._exception(name="Other")
        wizard = (
            self.env["finsync.exception.assign"]
            .with_user(self.accountant_user)
            .with_context(active_ids=excs.ids)
            .create({"user_id": self.manager_user.id, "note": "Please look at these"})
        )
        wizard.action_assign()
        self.assertEqual(excs.user_id, self.manager_user)

    def test_assign_to_me_starts_work(self):
        exc = self._exception(user_id=False)
        exc.with_user(self.accountant_user).action_assign_to_me()
        self.assertEqual(exc.user_id, self.accountant_user)
        self.assertEqual(exc.state, "in_progress")

    def test_cron_escalates_overdue_once(self):
        self.policy.escalation_user_id = self.manager_user
        with freeze_time("2026-03-01 08:00:00"):
            late = self._exception()
            on_time = self._exception(name="Fresh", due_date="2026-04-01 00:00:00")
        with freeze_time("2026-03-05 08:00:00"):
            self.assertTrue(late.is_overdue)
            self.assertIn(late, self.env["finsync.exception"].search([("is_overdue", "=", True)]))
            escalated = self.env["finsync.exception"]._cron_escalate_overdue()
            self.assertEqual(escalated, late)
            self.assertEqual(late.severity, "high")
            self.assertTrue(late.escalated)
            self.assertEqual(late.activity_ids.user_id, self.manager_user)
            self.assertFalse(on_time.escalated)
            self.assertFalse(self.env["finsync.exception"]._cron_escalate_overdue() & late)
            self.assertEqual(late.severity, "high", "escalated once, not every hour")

    def test_overdue_search_excludes_closed(self):
        exc = self._exception(due_date=fields.Datetime.now() - timedelta(days=1))
        exc._close(self.reason)
        self.assertNotIn(exc, self.env["finsync.exception"].search([("is_overdue", "=", True)]))
        with self.assertRaises(UserError):
            self.env["finsync.exception"].search([("is_overdue", ">", 1)])

    def test_kanban_under_the_open_filter_shows_open_columns_only(self):
        self._exception()
        groups = self.env["finsync.exception"].read_group(
            [("is_open", "=", True)], ["state"], ["state"]
        )
        self.assertEqual([g["state"] for g in groups], ["new", "in_progress", "waiting"])
        groups = self.env["finsync.exception"].read_group([], ["state"], ["state"])
        self.assertIn("resolved", [g["state"] for g in groups])
