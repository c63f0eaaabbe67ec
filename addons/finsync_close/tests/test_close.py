from psycopg2 import IntegrityError

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.finsync_base.components.outbox import (
    OutboxConsumer,
    register_consumer,
    unregister_consumer,
)
from odoo.addons.finsync_base.tests.common import FinsyncCommon

NOV_FROM, NOV_TO = fields.Date.to_date("2026-11-01"), fields.Date.to_date("2026-11-30")


class CloseCommon(FinsyncCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.bank_journal = cls.company_data["default_journal_bank"]
        cls.env["finsync.close.setting"].create(
            {"company_id": cls.company.id, "user_id": cls.accountant_user.id}
        )

    def new_close(self, date_from=NOV_FROM, date_to=NOV_TO, env=None):
        env = env or self.env
        return env["finsync.close"].create(
            {"company_id": self.company.id, "date_from": date_from, "date_to": date_to}
        )

    def item(self, close, code):
        return close.item_ids.filtered(lambda i: i.code == code)

    def refreshed(self, close):
        close.action_refresh()
        return close

    def sign_all(self, close, user=None):
        close.item_ids.with_user(user or self.accountant_user).action_sign()

    def post_suspense(self, amount, date="2026-11-15"):
        move = self.env["account.move"].create(
            {
                "date": date,
                "journal_id": self.company_data["default_journal_misc"].id,
                "line_ids": [
                    Command.create(
                        {"account_id": self.bank_journal.suspense_account_id.id, "debit": amount}
                    ),
                    Command.create(
                        {
                            "account_id": self.company_data["default_account_revenue"].id,
                            "credit": amount,
                        }
                    ),
                ],
            }
        )
        move.action_post()
        return move


@tagged("post_install", "-at_install")
class TestCloseChecks(CloseCommon):
    def test_clean_period_passes_every_check(self):
        close = self.refreshed(self.new_close())
        auto = close.item_ids.filtered(lambda i: i.code != "manual")
        self.assertEqual(len(auto), 10)
        failing = auto.filtered(lambda i: not i.passed)
        self.assertFalse(failing, failing.mapped("name"))
        self.assertEqual(close.state, "not_ready", "nothing signed yet")
        self.assertEqual(close.readiness, 0.0)

    def test_bank_lines_without_statement_and_unreconciled(self):
        line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.bank_journal.id,
                "date": "2026-11-10",
                "payment_ref": "loose",
                "amount": 120.0,
            }
        )
        close = self.refreshed(self.new_close())
        statements = self.item(close, "bank_statements")
        self.assertFalse(statements.passed)
        # the loose line and the journal with no statement reaching period end
        self.assertEqual(statements.evidence_count, 2)
        self.assertEqual(statements.evidence_amount, 120.0)
        unreconciled = self.item(close, "bank_unreconciled")
        self.assertEqual(unreconciled.evidence_count, 1)
        action = unreconciled.action_open_evidence()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), line)

    def _statement(self, date, amount, start, end):
        return self.env["account.bank.statement"].create(
            {
                "name": f"ST {date}",
                "balance_start": start,
                "balance_end_real": end,
                "line_ids": [
                    Command.create(
                        {
                            "journal_id": self.bank_journal.id,
                            "date": date,
                            "payment_ref": f"line {date}",
                            "amount": amount,
                        }
                    )
                ],
            }
        )

    def test_statements_continuous_to_period_end_pass(self):
        self._statement("2026-11-10", 100.0, 0.0, 100.0)
        self._statement("2026-11-30", 50.0, 100.0, 150.0)
        close = self.refreshed(self.new_close())
        self.assertTrue(self.item(close, "bank_statements").passed)

    def test_statement_break_and_short_statement_fail(self):
        self._statement("2026-11-10", 100.0, 0.0, 100.0)
        self._statement("2026-11-20", 50.0, 90.0, 140.0)  # starts at 90, not 100
        close = self.refreshed(self.new_close())
        item = self.item(close, "bank_statements")
        self.assertFalse(item.passed)
        # the break (10) and the last statement ending before the 30th
        self.assertEqual(item.evidence_count, 2)
        self.assertEqual(item.evidence_amount, 10.0)

    def test_payouts_of_the_period_reconciled(self):
        Settlement = self.env["finsync.settlement"].sudo()
        base = {"backend_id": self.backend.id, "company_id": self.company.id}
        base["currency_id"] = self.company.currency_id.id
        Settlement.create({**base, "name": "po_nov", "payout_date": "2026-11-15", "amount": 500})
        Settlement.create({**base, "name": "po_dec", "payout_date": "2026-12-02", "amount": 70})
        close = self.refreshed(self.new_close())
        item = self.item(close, "payouts")
        self.assertEqual((item.evidence_count, item.evidence_amount), (1, 500.0))
        Settlement.search([("name", "=", "po_nov")]).write({"state": "reconciled"})
        close.action_refresh()
        self.assertTrue(item.passed)

    def test_suspense_balance_fails_unless_explained(self):
        self.post_suspense(75.0)
        close = self.refreshed(self.new_close())
        item = self.item(close, "suspense")
        self.assertEqual((item.passed, item.evidence_count, item.evidence_amount), (False, 1, 75.0))
        acc = self.accountant_user
        with self.assertRaises(UserError):
            item.with_user(acc).action_sign()
        item.with_user(acc).write({"explanation": "Bank fee booked on 2 December"})
        item.with_user(acc).action_sign()
        self.assertEqual(item.state, "signed")
        # a failing item that is not explainable cannot be signed with a note
        self.init_invoice("out_invoice", invoice_date="2026-11-05", amounts=[10.0])
        close.action_refresh()
        drafts = self.item(close, "draft_moves")
        with self.assertRaises(UserError):
            drafts.with_user(acc).action_sign()

    def test_suspense_at_zero_passes(self):
        self.post_suspense(75.0)
        self.post_suspense(-75.0, date="2026-11-20")
        close = self.refreshed(self.new_close())
        self.assertTrue(self.item(close, "suspense").passed)

    def test_exceptions_above_threshold(self):
        Exception_ = self.env["finsync.exception"]
        Exception_.create({"name": "low one", "exception_type": "unmatched", "severity": "low"})
        close = self.refreshed(self.new_close())
        self.assertTrue(self.item(close, "exceptions").passed, "low is under the threshold")
        Exception_.create({"name": "high one", "exception_type": "unmatched", "severity": "high"})
        close.action_refresh()
        self.assertEqual(self.item(close, "exceptions").evidence_count, 1)
        self.env["finsync.close.setting"].search([("company_id", "=", self.company.id)]).write(
            {"severity_threshold": "low"}
        )
        close.action_refresh()
        self.assertEqual(self.item(close, "exceptions").evidence_count, 2)

    def test_failed_events_dead_letters_and_jobs(self):
        company = self.company
        self.env["finsync.event"].sudo().create(
            {"name": "bad", "backend_id": self.backend.id, "company_id": company.id,
             "state": "failed", "dedup_key": "close-test-bad"}
        )  # fmt: skip
        event = self.env["finsync.outbox.event"].sudo().create(
            {"uuid": "e-1", "event_type": "invoice.posted", "company_id": company.id,
             "occurred_at": fields.Datetime.now(), "res_model": "res.partner", "res_id": 1}
        )  # fmt: skip
        self.env["finsync.outbox.delivery"].sudo().create(
            {"event_id": event.id, "company_id": company.id, "target_key": "consumer:x",
             "subject_key": "res.partner:1", "state": "dead"}
        )  # fmt: skip
        Job = self.env["queue.job"]
        Job.sudo().with_context(_job_edit_sentinel=Job.EDIT_SENTINEL).create(
            {"uuid": "job-1", "state": "failed", "channel": "root.finsync.bank",
             "company_id": company.id, "model_name": "finsync.event", "method_name": "_process",
             "user_id": self.env.user.id, "name": "failed job"}
        )  # fmt: skip
        close = self.refreshed(self.new_close())
        for code in ("failed_events", "dead_letters", "failed_jobs"):
            self.assertEqual(self.item(close, code).evidence_count, 1, code)

    def test_connectors_synced_past_period_end(self):
        self.backend.sudo().write({"sync_policy": "scheduled"})
        self.backend.sudo().write({"last_sync_date": "2026-11-30 22:00:00"})
        close = self.refreshed(self.new_close())
        self.assertEqual(self.item(close, "connectors").evidence_count, 1)
        self.backend.sudo().write({"last_sync_date": "2026-12-01 06:00:00"})
        close.action_refresh()
        self.assertTrue(self.item(close, "connectors").passed)

    def test_draft_entries_in_the_period(self):
        invoice = self.init_invoice("out_invoice", invoice_date="2026-11-05", amounts=[100.0])
        self.init_invoice("out_invoice", invoice_date="2026-12-05", amounts=[100.0])
        close = self.refreshed(self.new_close())
        item = self.item(close, "draft_moves")
        self.assertEqual(item.evidence_count, 1)
        self.assertEqual(item.evidence_amount, invoice.amount_total_signed)
        invoice.action_post()
        close.action_refresh()
        self.assertTrue(item.passed)


@tagged("post_install", "-at_install")
class TestCloseSignOff(CloseCommon):
    def test_manual_items_from_templates_and_signoff_ownership(self):
        self.env["finsync.close.template"].create(
            {"name": "Accruals booked", "user_id": self.manager_user.id, "due_days": 3}
        )
        close = self.refreshed(self.new_close())
        manual = self.item(close, "manual")
        self.assertEqual(manual.user_id, self.manager_user)
        self.assertEqual(str(manual.due_date), "2026-12-03")
        with self.assertRaises(AccessError):
            manual.with_user(self.accountant_user).action_sign()
        self.assertEqual(manual.state, "todo")
        (close.item_ids - manual).with_user(self.accountant_user).action_sign()
        self.assertEqual(close.state, "not_ready")
        manual.with_user(self.manager_user).action_sign()
        self.assertEqual(close.state, "ready")
        self.assertEqual(close.readiness, 100.0)

    def test_signed_item_reopens_when_its_numbers_change(self):
        close = self.refreshed(self.new_close())
        self.sign_all(close)
        self.assertEqual(close.state, "ready")
        drafts = self.item(close, "draft_moves")
        self.init_invoice("out_invoice", invoice_date="2026-11-05", amounts=[10.0])
        close.action_refresh()
        self.assertEqual(drafts.state, "todo")
        self.assertFalse(drafts.signed_by_id)
        self.assertEqual(close.state, "not_ready")
        self.assertIn("reopened", close.message_ids[0].body)

    def test_signed_explained_suspense_reopens_when_amount_changes(self):
        self.post_suspense(75.0)
        close = self.refreshed(self.new_close())
        item = self.item(close, "suspense")
        item.with_user(self.accountant_user).write({"explanation": "fee"})
        item.with_user(self.accountant_user).action_sign()
        self.post_suspense(5.0)
        close.action_refresh()
        self.assertEqual(item.state, "todo")

    def test_people_cannot_write_evidence_or_signoff(self):
        close = self.refreshed(self.new_close())
        item = self.item(close, "draft_moves").with_user(self.accountant_user)
        for vals in ({"state": "signed"}, {"evidence_count": 0}, {"signed_count": 3}):
            with self.assertRaises(AccessError):
                item.with_context(finsync_close_protected=True).write(vals)
        with self.assertRaises(AccessError):
            item.write({"user_id": self.accountant_user.id})  # assigning is for managers
        self.assertEqual(item.state, "todo")


@tagged("post_install", "-at_install")
class TestCloseLocking(CloseCommon):
    def test_closing_refused_when_not_ready(self):
        close = self.refreshed(self.new_close())
        with self.assertRaises(UserError):
            close.with_user(self.accountant_user).action_close()
        self.assertEqual(close.state, "not_ready")
        self.assertFalse(self.company.fiscalyear_lock_date)

    def test_ready_close_sets_lock_dates_and_reopen_restores_them(self):
        self.company.sale_lock_date = "2026-10-31"
        close = self.refreshed(self.new_close(env=self.env(user=self.accountant_user)))
        self.sign_all(close)
        close.with_user(self.accountant_user).action_close()
        self.assertEqual(close.state, "closed")
        self.assertEqual(self.company.fiscalyear_lock_date, NOV_TO)
        self.assertEqual(self.company.tax_lock_date, NOV_TO)
        self.assertEqual(str(self.company.sale_lock_date), "2026-10-31", "not configured")
        events = self.env["finsync.outbox.event"].search(
            [("event_type", "=", "period.close_ready"), ("res_id", "=", close.id)]
        )
        self.assertFalse(events, "nobody listens here: nothing stored")
        self.assertEqual(close.log_ids.sorted("id").mapped("action"), ["create", "close"])
        wizard = (
            self.env["finsync.close.reason.wizard"]
            .with_user(self.manager_user)
            .create({"close_id": close.id, "mode": "reopen", "reason": "Late invoice"})
        )
        wizard.action_confirm()
        self.assertEqual(close.state, "reopened")
        self.assertFalse(self.company.fiscalyear_lock_date)
        self.assertFalse(self.company.tax_lock_date)
        self.assertEqual(close.log_ids.sorted("id")[-1].reason, "Late invoice")

    def test_reopen_refused_when_lock_date_moved_since(self):
        close = self.refreshed(self.new_close())
        self.sign_all(close)
        close.action_close()
        self.company.fiscalyear_lock_date = "2026-12-31"
        with self.assertRaises(UserError):
            close.with_user(self.manager_user)._reopen("oops")
        self.assertEqual(close.state, "closed")
        self.assertEqual(str(self.company.fiscalyear_lock_date), "2026-12-31")

    def test_manager_override_with_reason(self):
        self.init_invoice("out_invoice", invoice_date="2026-11-05", amounts=[10.0])
        close = self.refreshed(self.new_close())
        wizard = (
            self.env["finsync.close.reason.wizard"]
            .with_user(self.manager_user)
            .create({"close_id": close.id, "mode": "override", "reason": "Auditor agreed"})
        )
        wizard.action_confirm()
        self.assertEqual(close.state, "closed")
        self.assertEqual(close.override_reason, "Auditor agreed")
        self.assertEqual(close.log_ids.sorted("id")[-1].action, "override")
        self.assertIn("Auditor agreed", close.message_ids[0].body)
        self.assertEqual(self.company.fiscalyear_lock_date, NOV_TO)

    def test_accountant_refused_override_reopen_and_state_writes(self):
        self.init_invoice("out_invoice", invoice_date="2026-11-05", amounts=[10.0])
        close = self.refreshed(self.new_close())
        acc_close = close.with_user(self.accountant_user)
        with self.assertRaises(AccessError):
            acc_close.action_open_override_wizard()
        with self.assertRaises(AccessError):
            acc_close._close(override_reason="I say so")
        with self.assertRaises(AccessError):
            self.env["finsync.close.reason.wizard"].with_user(self.accountant_user).create(
                {"close_id": close.id, "mode": "override", "reason": "x"}
            )
        forged = {"finsync_close_protected": True, "tracking_disable": True}
        for vals in (
            {"state": "closed"},
            {"lock_snapshot": {"fiscalyear_lock_date": [None, "2026-11-30"]}},
            {"ready_emitted": True},
        ):
            with self.assertRaises(AccessError):
                acc_close.with_context(**forged).write(vals)
        self.assertEqual(close.state, "not_ready")
        self.assertFalse(self.company.fiscalyear_lock_date)
        close._close(override_reason="manager in test")
        with self.assertRaises(AccessError):
            close.with_user(self.accountant_user)._reopen("want to edit")
        with self.assertRaises(AccessError):
            close.with_user(self.accountant_user).write({"state": "reopened"})
        with self.assertRaises(UserError):
            close.with_user(self.accountant_user).write({"date_to": "2026-11-29"})
        with self.assertRaises(UserError):
            close.with_user(self.manager_user).unlink()
        self.assertEqual(close.state, "closed")
        self.assertEqual(close.date_to, NOV_TO)

    def test_history_is_append_only(self):
        close = self.refreshed(self.new_close())
        log = close.log_ids.with_user(self.manager_user)
        with self.assertRaises(AccessError):
            log.write({"reason": "rewritten"})
        with self.assertRaises(AccessError):
            log.unlink()
        with self.assertRaises(AccessError):
            self.env["finsync.close.log"].with_user(self.manager_user).create(
                {"close_id": close.id, "action": "close"}
            )

    def test_one_close_per_company_and_period(self):
        self.new_close()
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.cr.savepoint():
            self.new_close()
        with self.assertRaises(ValidationError):
            self.new_close(date_from=fields.Date.to_date("2026-11-15"))


@tagged("post_install", "-at_install")
class TestCloseOutboxAndReport(CloseCommon):
    def setUp(self):
        super().setUp()

        @register_consumer("test_close_ready")
        class CloseReady(OutboxConsumer):
            event_types = ("period.close_ready",)

            def deliver(self, event, delivery):
                return None

        self.addCleanup(unregister_consumer, "test_close_ready")

    def events(self, close):
        return self.env["finsync.outbox.event"].search(
            [("event_type", "=", "period.close_ready"), ("res_id", "=", close.id),
             ("res_model", "=", "finsync.close")]
        )  # fmt: skip

    def test_close_ready_emitted_once(self):
        close = self.refreshed(self.new_close())
        self.assertFalse(self.events(close))
        self.sign_all(close)
        self.assertEqual(close.state, "ready")
        self.assertEqual(len(self.events(close)), 1)
        self.assertEqual(self.events(close).payload["data"]["date_to"], "2026-11-30")
        close.action_refresh()
        close.action_close()
        close._reopen("check again")
        close.action_refresh()
        self.assertEqual(close.state, "ready")
        self.assertEqual(len(self.events(close)), 1, "nothing twice")

    def test_report_renders_checklist_and_signoffs(self):
        close = self.refreshed(self.new_close())
        self.sign_all(close)
        close.action_close()
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("finsync_close.report_finsync_close", close.ids)[0]
            .decode()
        )
        self.assertIn("Evidence totals", html)
        self.assertIn("No draft journal entry in the period", html)
        self.assertIn(self.accountant_user.name, html)


@tagged("post_install", "-at_install")
class TestCloseMultiCompany(CloseCommon):
    def test_other_company_close_and_records_are_invisible(self):
        other = self.setup_other_company()["company"]
        other_close = (
            self.env["finsync.close"]
            .sudo()
            .create({"company_id": other.id, "date_from": NOV_FROM, "date_to": NOV_TO})
        )
        self.env["finsync.exception"].sudo().create(
            {"name": "other", "exception_type": "unmatched", "severity": "critical",
             "company_id": other.id}
        )  # fmt: skip
        Close = self.env["finsync.close"].with_user(self.accountant_user)
        self.assertFalse(Close.search([("id", "=", other_close.id)]))
        with self.assertRaises(AccessError):
            Close.browse(other_close.id).action_refresh()
        close = self.refreshed(self.new_close())
        self.assertTrue(self.item(close, "exceptions").passed, "other company's exception")


@tagged("post_install", "-at_install")
class TestCloseTour(HttpCase):
    def test_month_closed_end_to_end(self):
        company = self.env["res.company"].create({"name": "Tour Close Co"})
        user = new_test_user(
            self.env,
            login="tour_closer",
            name="Clara Closer",
            groups="base.group_user,finsync_base.group_finsync_accountant",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
        )
        env = self.env(context=dict(self.env.context, allowed_company_ids=company.ids))
        env["finsync.close.setting"].create({"company_id": company.id, "user_id": user.id})
        env["finsync.close.template"].create(
            {"name": "Accruals booked", "company_id": company.id, "user_id": user.id}
        )
        close = env["finsync.close"].create(
            {"company_id": company.id, "date_from": NOV_FROM, "date_to": NOV_TO}
        )
        close._refresh()
        close.item_ids.filtered(lambda i: i.code != "manual").with_user(user).action_sign()
        self.start_tour("/odoo", "finsync_close_tour", login="tour_closer")
        self.assertEqual(close.state, "closed")
        self.assertEqual(company.fiscalyear_lock_date, NOV_TO)
