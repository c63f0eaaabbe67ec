"""Retention: old payloads move to compressed archives, stay readable, and the audit
trail (transactions, their history, exceptions, outbox logs) is never touched."""

import base64
import datetime
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import BaseCase, HttpCase, tagged
from odoo.tools import mute_logger

from ..tools.payload_archive import ArchiveError, Entry, pack, unpack
from .common import FinsyncCommon
from .test_record_controls import FORGED_CONTEXT

AUDIT_MODELS = (
    "finsync.transaction",
    "finsync.transaction.transition",
    "finsync.exception",
    "finsync.outbox.event",
    "finsync.outbox.delivery",
    "finsync.outbox.attempt",
)


@tagged("post_install", "-at_install")
class TestPayloadArchiveFormat(BaseCase):
    def test_each_payload_reads_back_alone_across_frames(self):
        payloads = [
            f'{{"id": "evt_{i}", "amount": {i * 7}}}'.encode() * (i % 5 + 1) for i in range(300)
        ]
        payloads[17] = b""
        blob, entries = pack(payloads, frame_size=1024)
        self.assertGreater(len({entry.frame_offset for entry in entries}), 5, "several frames")
        self.assertLess(len(blob), sum(map(len, payloads)) / 3)
        sizes = [len(payload) for payload in payloads]
        self.assertEqual(unpack(blob, entries, sizes), payloads)
        # One payload alone, from the middle.
        self.assertEqual(unpack(blob, [entries[150]], [sizes[150]]), [payloads[150]])

    def test_a_damaged_archive_is_an_error_not_other_bytes(self):
        payloads = [b"payload %d" % i for i in range(10)]
        blob, entries = pack(payloads)
        damaged = blob[:20] + bytes([blob[20] ^ 0xFF]) + blob[21:]
        with self.assertRaises(ArchiveError):
            unpack(damaged, entries, [len(p) for p in payloads])
        with self.assertRaises(ArchiveError):
            unpack(blob, [Entry(entries[0].frame_offset, entries[0].frame_size, 5)], [1000])


class RetentionCommon(FinsyncCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.finsync_payload_retention_days = 90
        Event = cls.env["finsync.event"]
        cls.old = Event._ingest(
            cls.backend,
            [
                {
                    "payload": cls._payload(("OLD-1", "100.00"), ("OLD-2", "-25.50")),
                    "external_id": "old1",
                },
                {"payload": cls._payload(("OLD-3", "7.00")), "external_id": "old2"},
                # Fails to process: an open exception refers to it.
                {"payload": '{"transactions": [{"external_id": "BAD"}]}', "external_id": "bad"},
            ],
        )
        cls.old._process()
        cls.bad = cls.old.filtered(lambda e: e.external_id == "bad")
        cls.recent = Event._ingest(
            cls.backend, [{"payload": cls._payload(("NEW-1", "3.00")), "external_id": "new1"}]
        )
        cls.recent._process()
        cls.pending = Event._ingest(
            cls.backend, [{"payload": cls._payload(("PEND-1", "4.00")), "external_id": "pend1"}]
        )
        old_date = fields.Datetime.now() - datetime.timedelta(days=120)
        cls.env.flush_all()
        cls.env.cr.execute(
            "UPDATE finsync_event SET received_at = %s WHERE id = ANY(%s)",
            [old_date, (cls.old | cls.pending).ids],
        )
        cls.env.invalidate_all()

    def _payloads(self, events):
        return {event.id: event.with_context(bin_size=False).payload for event in events.sudo()}

    def _attachments(self, events):
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "finsync.event"),
                    ("res_field", "=", "payload"),
                    ("res_id", "in", events.ids),
                ]
            )
        )

    def _archive_all(self):
        Event = self.env["finsync.event"]
        with patch.object(type(self.env["ir.cron"]), "_notify_progress") as progress:
            done = Event._cron_archive_payloads()
        progress.assert_called_once_with(done=done, remaining=0)
        self.env.invalidate_all()
        return done


@tagged("post_install", "-at_install")
class TestRetention(RetentionCommon):
    def test_old_payloads_move_to_one_archive_and_read_the_same(self):
        before = self._payloads(self.old | self.recent | self.pending)
        texts = {event.id: event.payload_text for event in self.old}
        self.assertEqual(self._archive_all(), 3)
        archive = self.old.archive_id
        self.assertEqual(len(archive), 1)
        self.assertEqual((archive.event_count, archive.company_id), (3, self.env.company))
        self.assertLess(archive.archive_bytes, archive.payload_bytes)
        self.assertFalse(self._attachments(self.old), "the per-event attachments are gone")
        self.assertFalse((self.recent | self.pending).archive_id, "young or pending: kept")
        self.assertEqual(len(self._attachments(self.recent | self.pending)), 2)
        # Every reader gets the same bytes: the field, its text, processing's accessor.
        self.assertEqual(self._payloads(self.old | self.recent | self.pending), before)
        for event in self.old:
            self.assertEqual(event.payload_text, texts[event.id])
            self.assertEqual(event._get_raw_payload(), base64.b64decode(before[event.id]))
        # The form asks for the size only.
        sized = self.old[0].with_user(self.accountant_user).with_context(bin_size=True)
        self.assertRegex(sized.payload.decode(), r"^\d+(\.\d+)? (bytes|Kb)$")
        # A second run finds nothing more to do.
        self.assertEqual(self._archive_all(), 0)
        self.assertEqual(len(self.env["finsync.event.archive"].search([])), 1)

    def test_replaying_an_archived_event_gives_the_same_result(self):
        event = self.old.filtered(lambda e: e.external_id == "old1")
        fnames = ["external_id", "amount", "currency_id", "booking_date", "state", "remittance"]
        before = event.transaction_ids.sorted("external_id").read(fnames)
        self._archive_all()
        self.assertTrue(event.archive_id)
        event.with_user(self.manager_user).with_context(finsync_process_now=True).action_replay()
        self.assertEqual((event.state, event.replay_count), ("done", 1))
        self.assertEqual(event.transaction_ids.sorted("external_id").read(fnames), before)

    def test_the_audit_trail_is_left_as_it_was(self):
        exception = self.env["finsync.exception"].search([("event_id", "=", self.bad.id)])
        self.assertTrue(exception.is_open)
        snapshot = {
            model: self.env[model].sudo().search([]).read(["write_date", "display_name"])
            for model in AUDIT_MODELS
        }
        self.assertTrue(snapshot["finsync.transaction.transition"])
        self._archive_all()
        self.assertTrue(self.bad.archive_id)
        for model in AUDIT_MODELS:
            self.assertEqual(
                self.env[model].sudo().search([]).read(["write_date", "display_name"]),
                snapshot[model],
                model,
            )
        # The open exception's payload is still there for whoever works it.
        bad = exception.with_user(self.accountant_user).event_id
        self.assertIn('"BAD"', bad.payload_text)

    def test_retention_is_per_company_and_zero_keeps_everything(self):
        self.env.company.finsync_payload_retention_days = 0
        self.assertEqual(self._archive_all(), 0)
        self.env.company.finsync_payload_retention_days = 200
        self.assertEqual(self._archive_all(), 0, "120 days old is young for 200 days")
        self.env.company.finsync_payload_retention_days = 30
        self.assertEqual(self._archive_all(), 3)
        with self.assertRaises(ValidationError):
            self.env.company.finsync_payload_retention_days = -1
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.finsync_payload_retention_days, 30)

    def test_batches_resume_and_land_whole_or_not_at_all(self):
        Event = self.env["finsync.event"]
        before = self._payloads(self.old)
        attachments = self._attachments(self.old)
        # A failure after the archive was written: the batch leaves nothing behind.
        with (
            patch.object(
                type(Event), "_drop_payload_attachments", side_effect=OSError("disk gone")
            ),
            self.assertRaises(OSError),
            self.env.cr.savepoint(),
        ):
            Event._archive_payload_batch()
        self.env.invalidate_all()
        self.assertFalse(self.env["finsync.event.archive"].search([]))
        self.assertFalse(self.old.archive_id)
        self.assertEqual(self._attachments(self.old), attachments)
        # Batches of two: the first run leaves one, the next takes it.
        self.assertEqual(Event._archive_payload_batch(batch_size=2), 2)
        self.assertEqual(Event._payloads_due(count=True), 1)
        self.assertEqual(Event._archive_payload_batch(batch_size=2), 1)
        self.env.invalidate_all()
        self.assertEqual(len(self.old.archive_id), 2)
        self.assertEqual(self._payloads(self.old), before)

    @mute_logger("odoo.addons.finsync_base.models.finsync_event_retention")
    def test_a_payload_whose_file_is_missing_is_left_in_place(self):
        Attachment = self.env["ir.attachment"].sudo()
        target = self._attachments(self.old[0])
        fname = target.store_fname
        if not fname:
            self.skipTest("attachments are stored in the database")
        original = type(Attachment)._file_read

        def file_read(attachment, name):
            return b"" if name == fname else original(attachment, name)

        with patch.object(type(Attachment), "_file_read", file_read):
            self.assertEqual(self.env["finsync.event"]._archive_payload_batch(), 2)
        self.env.invalidate_all()
        self.assertFalse(self.old[0].archive_id)
        self.assertTrue(self._attachments(self.old[0]))


@tagged("post_install", "-at_install")
class TestRetentionControls(RetentionCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["finsync.event"]._archive_payload_batch()
        cls.archive = cls.old.archive_id
        cls.blob = cls.archive._blob()

    def _unchanged(self):
        self.env.invalidate_all()
        self.assertEqual(self.archive._blob(), self.blob)
        self.assertEqual(self.old.archive_id, self.archive)
        self.assertIn("OLD-1", self.old[0].sudo().payload_text + self.old[1].sudo().payload_text)

    def test_people_cannot_change_or_delete_archives(self):
        for user in (self.accountant_user, self.manager_user):
            archive = self.archive.with_user(user).with_context(**FORGED_CONTEXT)
            for vals in (
                {"data": base64.b64encode(b"forged")},
                {"name": "forged", "event_count": 0},
            ):
                with self.subTest(user=user.login), self.assertRaises(AccessError):
                    archive.write(vals)
            with self.assertRaises(AccessError):
                archive.unlink()
            with self.assertRaises(AccessError):
                self.env["finsync.event.archive"].with_user(user).create(
                    {"name": "forged", "company_id": self.env.company.id}
                )
        # Not even the superuser, through the ORM.
        with self.assertRaises(UserError):
            self.archive.sudo().write({"name": "forged"})
        with self.assertRaises(UserError):
            self.archive.sudo().unlink()
        self._unchanged()

    def test_people_cannot_repoint_or_rewrite_archived_payloads(self):
        other = self.recent
        for user in (self.accountant_user, self.manager_user):
            event = self.old[0].with_user(user).with_context(**FORGED_CONTEXT)
            for vals in (
                {"archive_id": False},
                {"archive_offset": 0, "archive_frame": 0},
                {"payload": base64.b64encode(b"forged")},
            ):
                with self.subTest(user=user.login, vals=list(vals)), self.assertRaises(AccessError):
                    event.write(vals)
            with self.assertRaises(AccessError):
                other.with_user(user).write({"archive_id": self.archive.id})
        self._unchanged()

    def test_the_archive_file_cannot_be_replaced_or_removed(self):
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", "finsync.event.archive"),
                    ("res_field", "=", "data"),
                    ("res_id", "=", self.archive.id),
                ]
            )
        )
        self.assertEqual(len(attachment), 1)
        for user in (self.accountant_user, self.manager_user):
            mine = attachment.with_user(user).with_context(**FORGED_CONTEXT)
            with self.assertRaises(AccessError):
                mine.write({"raw": b"forged"})
            with self.assertRaises(AccessError):
                mine.unlink()
        with self.assertRaises(AccessError):
            attachment.with_user(self.user_user).read(["raw"])
        self._unchanged()


@tagged("post_install", "-at_install")
class TestArchivedPayloadDownload(RetentionCommon, HttpCase):
    def test_archived_payload_downloads_for_accountants_only(self):
        self.env["finsync.event"]._archive_payload_batch()
        event = self.old.filtered(lambda e: e.external_id == "old2")
        self.assertTrue(event.archive_id)
        url = f"/web/content/finsync.event/{event.id}/payload?download=true"
        self.authenticate(self.user_user.login, self.user_user.login)
        response = self.url_open(url)
        self.assertNotEqual(response.status_code, 200)
        self.assertNotIn(b"OLD-3", response.content)
        self.authenticate(self.accountant_user.login, self.accountant_user.login)
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        self.assertIn(b"OLD-3", response.content)
