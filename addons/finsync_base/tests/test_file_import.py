import base64
from unittest.mock import patch

from odoo.tests import tagged

from ..components.connector import GenericConnector
from .common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestFileImport(FinsyncCommon):
    """The file-import flow every connector's wizard inherits, through the generic one."""

    def _wizard(self, data, filename):
        return (
            self.env["finsync.generic.import"]
            .with_user(self.accountant_user)
            .create(
                {
                    "backend_id": self.backend.id,
                    "data_file": base64.b64encode(data.encode()),
                    "filename": filename,
                }
            )
        )

    def _events(self):
        return self.env["finsync.event"].search([("backend_id", "=", self.backend.id)])

    def _transactions(self):
        return self.env["finsync.transaction"].search([("backend_id", "=", self.backend.id)])

    def test_preview_says_what_the_file_holds_and_writes_nothing(self):
        wizard = self._wizard(self._payload(("F-1", "10.00"), ("F-2", "-2.50")), "feb.json")
        wizard.action_preview()
        self.assertEqual(wizard.state, "preview", wizard.message)
        self.assertEqual((wizard.line_count, wizard.new_count), (2, 2))
        self.assertFalse(self._events())
        self.assertFalse(self._transactions())

    def test_a_good_file_lands_whole_and_is_kept_once(self):
        data = self._payload(("G-1", "10.00"), ("G-2", "-2.50"))
        wizard = self._wizard(data, "good.json")
        wizard.action_preview()
        wizard.action_import()
        self.assertEqual(wizard.state, "done", wizard.message)
        self.assertEqual(sorted(wizard.transaction_ids.mapped("external_id")), ["G-1", "G-2"])
        event = wizard.event_id
        self.assertEqual(
            (event.state, event.payload_filename, event.attempts), ("done", "good.json", 1)
        )
        self.assertEqual(event._get_raw_payload(), data.encode())
        self.assertEqual(self.backend.health, "ok")
        again = self._wizard(data, "good-again.json")
        again.action_preview()
        self.assertEqual(again.new_count, 0)
        again.action_import()
        self.assertIn("already imported", again.message)
        self.assertEqual(self._events(), event)
        self.assertEqual(len(self._transactions()), 2)

    def test_a_bad_file_leaves_only_its_failed_event_and_exception(self):
        lines = self._payload(("B-1", "10.00"), ("B-2", "3.00")).replace("}, {", "},\n{")
        bad = lines.replace('"3.00"', "3.00.0")
        self.assertIn("\n", bad)
        wizard = self._wizard(bad, "bad.json")
        wizard.action_preview()
        self.assertEqual(wizard.state, "error")
        self.assertIn("bad.json", wizard.message)
        self.assertIn("line 2", wizard.message)
        self.assertFalse(self._events(), "the preview keeps nothing")
        wizard.action_import()
        self.assertEqual(wizard.state, "error")
        self.assertIn("bad.json", wizard.message)
        self.assertIn("line 2", wizard.message)
        self.assertNotIn("\n", wizard.message)
        event = self._events()
        self.assertEqual((event.state, event.payload_filename), ("failed", "bad.json"))
        self.assertEqual(event._get_raw_payload(), bad.encode(), "the file is kept as it came")
        self.assertEqual(event.last_error, wizard.message)
        exception = self.env["finsync.exception"].search([("event_id", "=", event.id)])
        self.assertEqual(exception.exception_type, "sync_failed")
        self.assertIn("bad.json", exception.description)
        self.assertIn("line 2", exception.description)
        self.assertFalse(self._transactions())

    def test_a_file_over_the_connectors_limit_is_refused_before_reading(self):
        wizard = self._wizard(" " * (1024 * 1024 + 1), "huge.json")
        with patch.object(GenericConnector, "max_file_size_mb", 1):
            wizard.action_import()
        self.assertEqual(wizard.state, "error")
        self.assertIn("huge.json", wizard.message)
        self.assertIn("limit", wizard.message)
        self.assertFalse(self._events())
