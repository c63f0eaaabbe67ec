import json
from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged

from ..components.connector import (
    CONNECTORS,
    GenericConnector,
    WebhookRefused,
    WebhookUnavailable,
)
from .common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestWebhookStep(FinsyncCommon, HttpCase):
    """The webhook request step is finsync_base's; only the check is the type's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.robot = new_test_user(
            cls.env,
            login="fs_webhook_robot",
            groups="base.group_user,finsync_base.group_finsync_connector",
            company_id=cls.env.company.id,
            company_ids=[(6, 0, cls.env.company.ids)],
        )

    def setUp(self):
        super().setUp()
        robot = self.robot

        class SignedGeneric(GenericConnector):
            """The generic type, receiving webhooks signed "good" for this test."""

            def verify_webhook(self, headers, body):
                signature = headers.get("X-Test-Signature")
                if signature == "down":
                    raise WebhookUnavailable("source down")
                if signature != "good":
                    raise WebhookRefused("bad signature")

            def webhook_user(self):
                return robot

        patcher = patch.dict(CONNECTORS, {"generic": SignedGeneric})
        patcher.start()
        self.addCleanup(patcher.stop)
        self.body = json.dumps({"id": "evt_1", "type": "test.sent"}).encode()

    def _post(self, body=None, signature="good", url=None):
        return self.url_open(
            url or f"/finsync/webhook/generic/{self.backend.id}",
            data=self.body if body is None else body,
            headers={"Content-Type": "application/json", "X-Test-Signature": signature},
        )

    def _events(self):
        return self.env["finsync.event"].search([("backend_id", "=", self.backend.id)])

    def test_a_verified_delivery_is_stored_once_as_the_types_user(self):
        response = self._post()
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), {"received": True, "duplicate": False})
        event = self._events()
        self.assertEqual((event.external_id, event.event_type), ("evt_1", "test.sent"))
        self.assertEqual((event.state, event.signature_state), ("queued", "valid"))
        self.assertEqual(event.create_uid, self.robot)
        self.assertTrue(event.job_uuid)
        response = self._post()
        self.assertEqual(response.json(), {"received": True, "duplicate": True})
        self.assertEqual(len(self._events()), 1)

    def test_refusals_store_nothing_and_never_change_health(self):
        self.backend.health = "ok"
        with self.assertLogs("odoo.addons.finsync_base", level="WARNING") as logs:
            self.assertEqual(self._post(signature="forged").status_code, 400)
            self.assertEqual(self._post(body=b"not json").status_code, 400)
            self.assertEqual(self._post(body=b'{"type": "x"}').status_code, 400)
            self.assertEqual(self._post(signature="down").status_code, 503)
        output = "\n".join(logs.output)
        self.assertIn("bad signature", output)
        self.assertIn("source down", output)
        self.assertNotIn("evt_1", output, "no payload in the log")
        missing = self.env["finsync.backend"].browse(987654)
        for url in (
            f"/finsync/webhook/generic/{missing.id}",
            f"/finsync/webhook/nothing/{self.backend.id}",
            f"/finsync/webhook/stripe/{self.backend.id}",
        ):
            with self.subTest(url=url):
                self.assertEqual(self._post(url=url).status_code, 404)
        self.backend.active = False
        self.assertEqual(self._post().status_code, 404, "an archived connector")
        self.assertFalse(self._events().with_context(active_test=False))
        self.backend.invalidate_recordset()
        self.assertEqual(self.backend.health, "ok")

    def test_a_type_without_webhooks_is_not_found(self):
        patcher = patch.dict(CONNECTORS, {"generic": GenericConnector})
        patcher.start()
        self.addCleanup(patcher.stop)
        self.assertFalse(GenericConnector.receives_webhooks())
        self.assertEqual(self._post().status_code, 404)
        self.assertFalse(self._events())
