import builtins
import ctypes
import errno
import hashlib
import json
import os
import shutil
from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged

from ..components.connector import CONNECTORS, GenericConnector
from ..tools import filestore
from ..tools.filestore import write_all, write_whole
from .common import FinsyncCommon


class _FullDiskFile:
    """A file opened for writing on a disk that fills up halfway through the write."""

    def __init__(self, handle):
        self.handle = handle

    # A file object, not a model: no super() to call.
    def write(self, data):  # pylint: disable=method-required-super
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def disk_full_under(directory):
    """Patch ``open`` so that writing any file under ``directory`` (but the
    filestore's garbage-collection checklist) fills the disk: ENOSPC, half written."""
    real_open = builtins.open

    def fake_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        path = os.fspath(file) if isinstance(file, str | os.PathLike) else ""
        writing = "w" in mode or "x" in mode
        if writing and path.startswith(directory) and "/checklist/" not in path:
            return _FullDiskFile(handle)
        return handle

    return patch("builtins.open", fake_open)


@tagged("post_install", "-at_install")
class TestPayloadStorage(FinsyncCommon, HttpCase):
    """A full disk while a webhook's payload is stored: 5xx, nothing half-written."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.robot = new_test_user(
            cls.env,
            login="fs_storage_robot",
            groups="base.group_user,finsync_base.group_finsync_connector",
            company_id=cls.env.company.id,
            company_ids=[(6, 0, cls.env.company.ids)],
        )

    def setUp(self):
        super().setUp()
        robot = self.robot

        class TrustedGeneric(GenericConnector):
            """The generic type, receiving webhooks (every delivery verified)."""

            def verify_webhook(self, headers, body):
                return None

            def webhook_user(self):
                return robot

        patcher = patch.dict(CONNECTORS, {"generic": TrustedGeneric})
        patcher.start()
        self.addCleanup(patcher.stop)
        # A body of its own per run: the filestore is shared between test runs.
        self.body = json.dumps(
            {"id": "evt_disk_full", "type": "test.sent", "nonce": os.urandom(8).hex()}
        ).encode()
        self.filestore = self.env["ir.attachment"]._filestore()
        checksum = hashlib.sha1(self.body).hexdigest()
        self.final_path = os.path.join(self.filestore, checksum[:2], checksum)

    def _post(self):
        return self.url_open(
            f"/finsync/webhook/generic/{self.backend.id}",
            data=self.body,
            headers={"Content-Type": "application/json"},
        )

    def _stored(self):
        events = self.env["finsync.event"].search([("backend_id", "=", self.backend.id)])
        checksum = hashlib.sha1(self.body).hexdigest()
        attachments = self.env["ir.attachment"].search(
            [
                ("res_model", "=", "finsync.event"),
                ("res_field", "=", "payload"),
                ("checksum", "=", checksum),
            ]
        )
        transactions = self.env["finsync.transaction"].search(
            [("backend_id", "=", self.backend.id)]
        )
        return events, attachments, transactions

    def _leftovers(self):
        directory = os.path.dirname(self.final_path)
        name = os.path.basename(self.final_path)
        if not os.path.isdir(directory):
            return []
        return [entry for entry in os.listdir(directory) if entry.startswith(name)]

    def test_a_full_disk_answers_5xx_stores_nothing_and_the_next_delivery_succeeds(self):
        with disk_full_under(self.filestore), self.assertLogs("odoo.http", "ERROR") as logs:
            response = self._post()
        self.assertGreaterEqual(response.status_code, 500, "the source must deliver again")
        self.assertIn("No space left on device", "\n".join(logs.output))
        self.assertNotIn("evt_disk_full", "\n".join(logs.output), "no payload in the log")
        events, attachments, transactions = self._stored()
        self.assertFalse(events, "no event without its payload")
        self.assertFalse(attachments, "no attachment row")
        self.assertFalse(transactions, "no transaction")
        self.assertEqual(self._leftovers(), [], "no file, whole or cut short, in the filestore")

        # The disk has room again: the source's next delivery is stored whole.
        response = self._post()
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), {"received": True, "duplicate": False})
        events, attachments, _transactions = self._stored()
        self.assertEqual(len(events), 1)
        self.assertEqual(len(attachments), 1)
        self.assertEqual(events._get_raw_payload(), self.body)
        self.assertEqual(self._leftovers(), [os.path.basename(self.final_path)])
        with open(self.final_path, "rb") as handle:
            self.assertEqual(handle.read(), self.body)


@tagged("post_install", "-at_install")
class TestWriteWhole(FinsyncCommon):
    """The filestore writer keeps a file whole or absent (no database needed)."""

    def test_a_failed_write_leaves_no_file_and_a_cut_short_one_is_replaced(self):
        directory = os.path.join(self.env["ir.attachment"]._filestore(), "finsync-write-whole")
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, os.urandom(8).hex())
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        with disk_full_under(directory), self.assertRaises(OSError) as caught:
            write_whole(path, b"0123456789")
        self.assertEqual(caught.exception.errno, errno.ENOSPC)
        self.assertEqual(os.listdir(directory), [], "neither the file nor a temporary one")
        with open(path, "wb") as handle:
            handle.write(b"01234")  # what a writer that stopped halfway leaves
        self.assertTrue(write_whole(path, b"0123456789"))
        self.assertFalse(write_whole(path, b"0123456789"), "a whole file is kept")
        with open(path, "rb") as handle:
            self.assertEqual(handle.read(), b"0123456789")


class _RecordingSyncfs:
    """Stands for ``syncfs``: records what the directory holds at each flush, then
    flushes (or fails with ``fail``, an errno, as a disk reporting a lost write)."""

    def __init__(self, directory, fail=None):
        self.directory = directory
        self.fail = fail
        self.seen = []
        self.real = filestore._SYNCFS

    def __call__(self, descriptor):
        names = []
        for root, _dirs, entries in os.walk(self.directory):
            names += [os.path.join(root, entry) for entry in entries]
        self.seen.append(sorted(names))
        if self.fail:
            ctypes.set_errno(self.fail)
            return -1
        return self.real(descriptor)


@tagged("post_install", "-at_install")
class TestWriteAll(FinsyncCommon):
    """A page of payloads is written whole with two disk flushes, not one per file."""

    def setUp(self):
        super().setUp()
        if filestore._SYNCFS is None:
            self.skipTest("no syncfs here: write_all flushes each file as write_whole does")
        self.directory = os.path.join(
            self.env["ir.attachment"]._filestore(), f"finsync-write-all-{os.urandom(4).hex()}"
        )
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.files = {
            os.path.join(self.directory, f"{index:02x}", f"file{index}"): b"payload %d" % index
            for index in range(5)
        }

    def _on_disk(self):
        found = {}
        for root, _dirs, entries in os.walk(self.directory):
            for entry in entries:
                with open(os.path.join(root, entry), "rb") as handle:
                    found[os.path.join(root, entry)] = handle.read()
        return found

    def test_files_are_flushed_whole_before_they_get_their_names(self):
        flush = _RecordingSyncfs(self.directory)
        with patch.object(filestore, "_SYNCFS", flush), patch("os.fsync") as fsync:
            written = write_all(self.files)
        self.assertEqual(sorted(written), sorted(self.files))
        self.assertEqual(len(flush.seen), 2, "two flushes for the whole batch")
        fsync.assert_not_called()
        before, after = flush.seen
        self.assertFalse(set(before) & set(self.files), "no file has its name before the flush")
        self.assertEqual(len(before), 5)
        self.assertTrue(all(name.endswith(".tmp") for name in before))
        self.assertEqual(after, sorted(self.files), "renamed, then flushed again")
        self.assertEqual(self._on_disk(), self.files)

    def test_a_full_disk_leaves_no_file_and_cut_short_ones_are_replaced(self):
        with disk_full_under(self.directory), self.assertRaises(OSError) as caught:
            write_all(self.files)
        self.assertEqual(caught.exception.errno, errno.ENOSPC)
        self.assertEqual(self._on_disk(), {}, "neither the files nor temporary ones")

        cut_short, whole = list(self.files)[:2]
        os.makedirs(os.path.dirname(cut_short), exist_ok=True)
        os.makedirs(os.path.dirname(whole), exist_ok=True)
        with open(cut_short, "wb") as handle:
            handle.write(b"pay")  # what a writer that stopped halfway leaves
        with open(whole, "wb") as handle:
            handle.write(self.files[whole])
        written = write_all(self.files)
        self.assertNotIn(whole, written, "a whole file is kept")
        self.assertIn(cut_short, written)
        self.assertEqual(self._on_disk(), self.files)
        self.assertEqual(write_all(self.files), [], "all whole: nothing written again")

    def test_a_write_the_disk_reports_lost_raises_and_leaves_no_file(self):
        flush = _RecordingSyncfs(self.directory, fail=errno.EIO)
        with patch.object(filestore, "_SYNCFS", flush), self.assertRaises(OSError) as caught:
            write_all(self.files)
        self.assertEqual(caught.exception.errno, errno.EIO)
        self.assertEqual(len(flush.seen), 1, "nothing renamed after a failed flush")
        self.assertEqual(self._on_disk(), {}, "no file, whole or temporary")

    def test_a_page_of_events_is_stored_with_two_flushes_or_not_at_all(self):
        Event = self.env["finsync.event"]
        nonce = os.urandom(8).hex()
        events = [
            {"payload": f'{{"page": "{nonce}", "n": {index}}}', "external_id": f"{nonce}-{index}"}
            for index in range(4)
        ]
        filestore_dir = self.env["ir.attachment"]._filestore()
        # The caller's transaction rolls back (a savepoint here): nothing is stored.
        with disk_full_under(filestore_dir), self.assertRaises(OSError), self.env.cr.savepoint():
            Event._ingest(self.backend, events)
        self.assertFalse(
            Event.search([("backend_id", "=", self.backend.id), ("dedup_key", "like", nonce)]),
            "no event stored without its payload",
        )
        for event in events:
            checksum = hashlib.sha1(event["payload"].encode()).hexdigest()
            self.assertFalse(os.path.exists(os.path.join(filestore_dir, checksum[:2], checksum)))

        flush = _RecordingSyncfs(self.directory)
        with patch.object(filestore, "_SYNCFS", flush), patch("os.fsync") as fsync:
            stored = Event._ingest(self.backend, events)
        self.assertEqual(len(stored), 4)
        self.assertEqual(len(flush.seen), 2, "one page, two flushes")
        fsync.assert_not_called()
        self.assertEqual(
            [event._get_raw_payload() for event in stored],
            [event["payload"].encode() for event in events],
        )
        checklist = os.path.join(filestore_dir, "checklist")
        for event in events:
            checksum = hashlib.sha1(event["payload"].encode()).hexdigest()
            self.assertTrue(
                os.path.exists(os.path.join(checklist, checksum[:2], checksum)),
                "marked for the garbage collector (collected if the transaction rolls back)",
            )
