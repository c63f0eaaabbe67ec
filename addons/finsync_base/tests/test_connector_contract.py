from odoo.tests import tagged

from ..components.connector import CONNECTORS, Connector, connector_class
from .common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestConnectorContract(FinsyncCommon):
    def _types(self):
        return [
            value
            for value, _label in self.env["finsync.backend"].fields_get(["backend_type"])[
                "backend_type"
            ]["selection"]
        ]

    def test_every_type_is_one_registered_class(self):
        for backend_type in self._types():
            cls = connector_class(backend_type)
            self.assertIs(CONNECTORS.get(backend_type), cls, backend_type)
            self.assertTrue(issubclass(cls, Connector))
            self.assertEqual(cls.backend_type, backend_type)

    def test_every_job_finsync_queues_lands_on_a_declared_channel(self):
        declared = set(self.env["queue.job.channel"].sudo().search([]).mapped("complete_name"))
        functions = {
            function.name: function.channel
            for function in self.env["queue.job.function"].sudo().search([])
        }
        # queue_job's trap_jobs does not import on this Odoo: the jobs are stored and read.
        uuids = {}
        for backend_type in self._types():
            backend = (
                self.env["finsync.backend"]
                .sudo()
                .create(
                    {
                        "name": f"Channel test {backend_type}",
                        "backend_type": backend_type,
                        "sync_policy": "scheduled",
                    }
                )
            )
            event = self._ingest(
                self._payload((f"CH-{backend_type}", "10.00")),
                external_id=f"channel-{backend_type}",
                backend=backend,
            )
            event._enqueue_processing()
            uuids[event.job_uuid] = backend_type
            uuids[backend._inbox_new_job()] = backend_type
            if backend.can_pull:
                uuids[backend._enqueue_pull().uuid] = backend_type
        jobs = self.env["queue.job"].sudo().search([("uuid", "in", list(uuids))])
        self.assertEqual(len(jobs), len(uuids))
        self.assertGreaterEqual(len(jobs), 2 * len(self._types()))
        for job in jobs:
            backend_type = uuids[job.uuid]
            self.assertIn(job.channel, declared, f"{job.method_name} of {backend_type}")
            self.assertEqual(job.channel, connector_class(backend_type).channel)
            self.assertIn(f"<{job.model_name}>.{job.method_name}", functions, "declared as data")
