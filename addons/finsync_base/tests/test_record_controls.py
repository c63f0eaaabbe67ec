"""The records' controls hold for any caller: an ordinary user, through the ORM,
with the context keys an attacker would send."""

import base64
import logging

import psycopg2

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.queue_job.exception import RetryableJobError

from .common import FinsyncCommon

# Context keys a client may send, hoping one of them is trusted.
FORGED_CONTEXT = {
    "finsync_transition": True,
    "finsync_transaction_protected": True,
    "finsync_exception_protected": True,
    "finsync_process_now": True,
}


@tagged("post_install", "-at_install")
class TestTransactionControls(FinsyncCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        event = cls.env["finsync.event"]._ingest(
            cls.backend, [{"payload": cls._payload(("CTRL-1", "100.00")), "external_id": "c1"}]
        )
        event._process()
        cls.tx = event.transaction_ids
        cls.partner = cls.env["res.partner"].create({"name": "Azure Interior"})
        cls.other_backend = cls.env["finsync.backend"].create(
            {"name": "Other feed", "company_id": cls.env.company.id}
        )

    def _as(self, user):
        return self.tx.with_user(user).with_context(**FORGED_CONTEXT)

    def test_accountant_cannot_write_the_state_with_any_context(self):
        self.assertEqual(self.tx.state, "settled")
        with self.assertRaises(AccessError):
            self._as(self.accountant_user).write({"state": "rejected"})
        self.assertEqual(self.tx.state, "settled")
        self.assertEqual(len(self.tx.transition_ids), 1, "no history row either")

    def test_money_identity_and_lineage_cannot_be_written(self):
        other_currency = self.setup_other_currency("EUR")
        attempts = {
            "amount": 1.0,
            "fee_amount": 5.0,
            "net_amount": 1.0,
            "amount_company_currency": 1.0,
            "currency_id": other_currency.id,
            "external_id": "FORGED",
            "backend_id": self.other_backend.id,
            "company_id": self.env.company.id,
            "event_id": False,
            "correlation_id": "forged",
            "booking_date": "2020-01-01",
            "kind": "fee",
            "remittance": "INV/FORGED",
            "counterparty_account": "FR7630006000011234567890189",
        }
        before = self.tx.read(list(attempts))[0]
        for user in (self.accountant_user, self.manager_user):
            for fname, value in attempts.items():
                with self.subTest(user=user.login, field=fname), self.assertRaises(AccessError):
                    self._as(user).write({fname: value})
        self.tx.invalidate_recordset()
        self.assertEqual(self.tx.read(list(attempts))[0], before)
        # What accountants do link stays writable.
        self._as(self.accountant_user).write({"partner_id": self.partner.id})
        self.assertEqual(self.tx.partner_id, self.partner)

    def test_people_cannot_create_transactions(self):
        vals = {
            "backend_id": self.backend.id,
            "company_id": self.env.company.id,
            "external_id": "HAND-1",
            "currency_id": self.env.company.currency_id.id,
            "amount": 5000.0,
            "booking_date": "2026-01-15",
            "state": "settled",
        }
        for user in (self.accountant_user, self.manager_user):
            with self.assertRaises(AccessError):
                self.env["finsync.transaction"].with_user(user).with_context(
                    **FORGED_CONTEXT
                ).create(vals)
        # A FinSync user may not bring data in through the private path either.
        with self.assertRaises(AccessError):
            self.env["finsync.transaction"].with_user(self.user_user)._create_from_source([vals])
        self.assertFalse(self.env["finsync.transaction"].search([("external_id", "=", "HAND-1")]))

    def test_history_is_append_only(self):
        Transition = self.env["finsync.transaction.transition"]
        with self.assertRaises(AccessError):
            Transition.with_user(self.accountant_user).create(
                {"transaction_id": self.tx.id, "to_state": "reconciled"}
            )
        with self.assertRaises(AccessError):
            self._as(self.accountant_user).write(
                {"transition_ids": [fields.Command.create({"to_state": "reconciled"})]}
            )
        with self.assertRaises(AccessError):
            self.tx.transition_ids.with_user(self.manager_user).write({"reason": "rewritten"})
        self.assertEqual(len(self.tx.transition_ids), 1)

    def test_button_moves_only_along_the_form_moves_with_history(self):
        tx = self._as(self.accountant_user)
        # Legal in the state machine, but reconciled comes from the ledger only.
        with self.assertRaises(UserError):
            tx.with_context(finsync_to_state="reconciled").action_transition()
        with self.assertRaises(UserError):
            tx.with_context(finsync_to_state="rejected").action_transition()
        with self.assertRaises(UserError):
            tx.with_context(finsync_to_state="initiated").action_transition()
        with self.assertRaises(AccessError):
            self._as(self.user_user).with_context(finsync_to_state="reversed").action_transition()
        self.assertEqual(self.tx.state, "settled")
        tx.with_context(
            finsync_to_state="reversed", finsync_reason="Bank recall"
        ).action_transition()
        self.assertEqual(self.tx.state, "reversed")
        last = self.tx.transition_ids.sorted("id")[-1]
        self.assertEqual(
            (last.from_state, last.to_state, last.user_id, last.reason),
            ("settled", "reversed", self.accountant_user, "Bank recall"),
        )


@tagged("post_install", "-at_install")
class TestEventInboxControls(FinsyncCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.event = cls.env["finsync.event"]._ingest(
            cls.backend, [{"payload": cls._payload(("EV-1", "10.00")), "external_id": "e1"}]
        )

    def test_people_cannot_overwrite_an_event(self):
        forged = base64.b64encode(self._payload(("EV-1", "9999.00")).encode())
        hash_before = self.event.payload_hash
        for user in (self.accountant_user, self.manager_user):
            event = self.event.with_user(user).with_context(**FORGED_CONTEXT)
            for vals in (
                {"payload": forged},
                {"state": "queued", "signature_state": "valid"},
                {"last_error": False, "attempts": 0},
            ):
                with self.subTest(user=user.login, vals=list(vals)), self.assertRaises(AccessError):
                    event.write(vals)
        self.event.invalidate_recordset()
        self.assertEqual(self.event.state, "received")
        self.assertIn("10.00", self.event.payload_text)
        self.assertEqual(self.event.payload_hash, hash_before)

    def test_people_cannot_forge_an_event(self):
        vals = {
            "name": "forged",
            "backend_id": self.backend.id,
            "company_id": self.env.company.id,
            "dedup_key": "forged-1",
            "signature_state": "valid",
            "state": "queued",
            "payload": base64.b64encode(self._payload(("FORGED-1", "9999.00")).encode()),
        }
        for user in (self.user_user, self.accountant_user, self.manager_user):
            with self.assertRaises(AccessError):
                self.env["finsync.event"].with_user(user).with_context(**FORGED_CONTEXT).create(
                    vals
                )
        with self.assertRaises(AccessError):
            self.event.with_user(self.manager_user).unlink()
        self.assertFalse(self.env["finsync.event"].search([("dedup_key", "=", "forged-1")]))

    def test_only_who_may_ingest_stores_events(self):
        with self.assertRaises(AccessError):
            self._ingest(self._payload(("U-1", "1.00")), env=self.env(user=self.user_user))
        # Accountants import files (and connectors' technical users are accountants).
        event = self._ingest(
            self._payload(("A-1", "1.00")), env=self.env(user=self.accountant_user)
        )
        self.assertEqual(event.create_uid, self.accountant_user)
        event.with_user(self.accountant_user)._process()
        self.assertEqual(event.state, "done")
        self.assertEqual(event.transaction_ids.create_uid, self.accountant_user)

    def test_replay_reruns_the_stored_payload(self):
        self.event._process()
        with self.assertRaises(AccessError):
            self.event.with_user(self.accountant_user).action_replay()
        self.event.with_user(self.manager_user).with_context(
            finsync_process_now=True
        ).action_replay()
        self.assertEqual((self.event.state, self.event.replay_count), ("done", 1))
        self.assertEqual(len(self.event.transaction_ids), 1)


@tagged("post_install", "-at_install")
class TestPayloadAttachments(FinsyncCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.event = cls.env["finsync.event"]._ingest(
            cls.backend,
            [{"payload": cls._payload(("RAW-4711", "12.00")), "external_id": "raw1"}],
        )
        cls.attachment = (
            cls.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "finsync.event"),
                    ("res_field", "=", "payload"),
                    ("res_id", "=", cls.event.id),
                ]
            )
        )

    def test_user_cannot_read_a_payload_through_its_attachment(self):
        self.assertEqual(len(self.attachment), 1)
        Attachment = self.env["ir.attachment"].with_user(self.user_user)
        domain = [("res_model", "=", "finsync.event"), ("res_field", "=", "payload")]
        self.assertEqual(Attachment.search_read(domain, ["raw", "datas"]), [])
        self.assertEqual(Attachment.search_read([("id", "=", self.attachment.id)], ["raw"]), [])
        for fnames in (["raw"], ["datas"], ["name"]):
            with self.subTest(fields=fnames), self.assertRaises(AccessError):
                self.attachment.with_user(self.user_user).read(fnames)
        # Accountants read it, as they read the field.
        raw = self.attachment.with_user(self.accountant_user).raw
        self.assertIn(b"RAW-4711", raw)
        found = self.env["ir.attachment"].with_user(self.accountant_user).search(domain)
        self.assertIn(self.attachment, found)
        # Nor is the payload replaced through its attachment.
        for user in (self.accountant_user, self.manager_user):
            with self.assertRaises(AccessError):
                self.attachment.with_user(user).write({"raw": b"forged"})
        self.assertIn(b"RAW-4711", self.attachment.raw)

    def test_user_cannot_download_a_payload(self):
        self.authenticate(self.user_user.login, self.user_user.login)
        response = self.url_open(f"/web/content/{self.attachment.id}?download=true")
        self.assertNotEqual(response.status_code, 200)
        self.assertNotIn(b"RAW-4711", response.content)
        self.authenticate(self.accountant_user.login, self.accountant_user.login)
        response = self.url_open(f"/web/content/{self.attachment.id}?download=true")
        self.assertEqual(response.status_code, 200)
        self.assertIn(b"RAW-4711", response.content)


@tagged("post_install", "-at_install")
class TestExceptionControls(FinsyncCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reason = cls.env.ref("finsync_base.reason_matched")

    def _exception(self):
        return self.env["finsync.exception"].create(
            {"name": "No invoice for payment", "exception_type": "unmatched", "user_id": False}
        )

    def test_closing_fields_are_written_only_by_close(self):
        exc = self._exception()
        attempts = [
            {"state": "resolved", "reason_id": self.reason.id},
            {"state": "ignored", "reason_id": self.reason.id},
            {"reason_id": self.reason.id},
            {"resolved_by_id": self.accountant_user.id},
            {"resolved_date": fields.Datetime.now()},
            {"is_open": False},
            {"dedup_key": "forged"},
            {"occurrence_count": 0},
        ]
        for user in (self.user_user, self.accountant_user, self.manager_user):
            for vals in attempts:
                with self.subTest(user=user.login, vals=list(vals)), self.assertRaises(AccessError):
                    exc.with_user(user).with_context(**FORGED_CONTEXT).write(vals)
        self.assertEqual(exc.state, "new")
        self.assertFalse(exc.reason_id or exc.resolved_by_id or exc.resolved_date)
        with self.assertRaises(AccessError):
            self.env["finsync.exception"].with_user(self.accountant_user).create(
                {
                    "name": "Born closed",
                    "exception_type": "unmatched",
                    "state": "resolved",
                    "reason_id": self.reason.id,
                }
            )
        # Closing through _close names who closed it.
        exc.with_user(self.accountant_user)._close(self.reason)
        self.assertEqual(exc.resolved_by_id, self.accountant_user)
        with self.assertRaises(AccessError):
            exc.with_user(self.accountant_user).write({"state": "new"})
        exc.with_user(self.accountant_user).action_reopen()
        self.assertEqual(exc.state, "new")
        self.assertFalse(exc.resolved_by_id)

    def test_open_states_move_through_the_actions(self):
        exc = self._exception()
        exc.with_user(self.user_user).action_start()
        self.assertEqual(exc.state, "in_progress")
        exc.with_user(self.user_user).action_wait()
        self.assertEqual(exc.state, "waiting")
        exc.with_user(self.accountant_user)._close(self.reason)
        exc.with_user(self.accountant_user).action_start()
        self.assertEqual(exc.state, "resolved", "starting does not reopen a closed exception")

    @mute_logger("odoo.sql_db")
    def test_the_database_keeps_one_open_exception_per_key(self):
        [exc] = self.env["finsync.exception"]._open_for_records(
            "sync_failed", self.backend, lambda backend: {"name": "Feed down"}
        )
        copy_row = """
            INSERT INTO finsync_exception
                (name, exception_type, severity, state, company_id, dedup_key, occurrence_count)
            SELECT name, exception_type, severity, 'new', company_id, dedup_key, 1
              FROM finsync_exception WHERE id = %s
        """
        self.env.flush_all()
        with self.assertRaises(psycopg2.errors.UniqueViolation), self.env.cr.savepoint():
            self.env.cr.execute(copy_row, [exc.id])
        # Once closed, the same problem may open a new exception.
        exc._close(self.reason)
        self.env.flush_all()
        self.env.cr.execute(copy_row, [exc.id])


@tagged("post_install", "-at_install")
class TestExceptionRace(TransactionCase):
    """Two jobs open the same exception, each with its own cursor."""

    def _env(self, cr):
        cr.transaction = api.Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {})

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self.backend_id = (
                env["finsync.backend"]
                .create({"name": "Race feed", "company_id": env.company.id})
                .id
            )
        self.key = f"sync_failed:finsync.backend:{self.backend_id}"
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            for table, model_column in (("mail_message", "model"), ("mail_followers", "res_model")):
                cr.execute(
                    f"DELETE FROM {table} WHERE {model_column} = 'finsync.exception' AND res_id IN "
                    "(SELECT id FROM finsync_exception WHERE dedup_key = %s)",
                    [self.key],
                )
            cr.execute("DELETE FROM finsync_exception WHERE dedup_key = %s", [self.key])
            cr.execute("DELETE FROM finsync_backend WHERE id = %s", [self.backend_id])

    def _open(self, cr):
        env = self._env(cr)
        return env["finsync.exception"]._open_for_records(
            "sync_failed",
            env["finsync.backend"].browse(self.backend_id),
            lambda backend: {"name": "Feed down", "backend_id": backend.id},
        )

    @mute_logger("odoo.sql_db")  # the lost race is logged as a bad query
    def test_a_job_racing_another_counts_a_recurrence_instead_of_a_second_exception(self):
        late = self.registry.cursor()
        try:
            late.execute("SELECT 1")  # the second job's snapshot starts here...
            with self.registry.cursor() as first:  # ...then the first opens the exception
                self._open(first)
            with self.assertRaises(RetryableJobError):
                self._open(late)
            late.rollback()
        finally:
            late.close()
        # Run again (queue_job retries), the second job counts a recurrence.
        with self.registry.cursor() as retry:
            self.assertEqual(self._open(retry).occurrence_count, 2)
        with self.registry.cursor() as cr:
            cr.execute("SELECT count(*) FROM finsync_exception WHERE dedup_key = %s", [self.key])
            self.assertEqual(cr.fetchone()[0], 1)


@tagged("post_install", "-at_install")
class TestBulkInsertLogging(FinsyncCommon):
    def test_a_failed_bulk_insert_logs_no_value(self):
        secret_label = "Salary J. Doe SECRET-4711"
        account = "BE71096123456769"
        vals = {
            "backend_id": self.backend.id,
            "company_id": self.env.company.id,
            "external_id": "BULK-LOG-1",
            "kind": "bank_credit",
            "state": "settled",
            "currency_id": self.env.company.currency_id.id,
            "amount": 10.0,
            "booking_date": "2026-01-15",
            "remittance": secret_label,
            "counterparty_account": account,
            "partner_id": 2_000_000_000,  # no such partner: the INSERT fails
        }
        with (
            self.assertNoLogs("odoo.sql_db", level=logging.ERROR),
            self.assertLogs("odoo.addons.finsync_base", level=logging.WARNING) as logged,
            self.assertRaises(UserError) as caught,
            self.env.cr.savepoint(),
        ):
            self.env["finsync.transaction"]._create_bulk([vals])
        message = str(caught.exception)
        self.assertIn("Transactions 1 to 1 of 1", message)
        self.assertIn("FOREIGN_KEY_VIOLATION", message)
        for text in [message, *logged.output]:
            self.assertNotIn("SECRET-4711", text)
            self.assertNotIn(account, text)
