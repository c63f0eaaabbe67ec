import builtins
import errno
import hashlib
import json
import os
import shutil
from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged

from ..components.connector import CONNECTORS, GenericConnector
from ..tools.filestore import write_whole
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
