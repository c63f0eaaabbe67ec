"""Cross-addon scenarios on a database with every FinSync addon and demo data.

Run by setup/test through pytest-odoo (``pytest --odoo-database=DB tests``).
"""

from odoo.tests import TransactionCase, tagged

from odoo.addons.queue_job.job import Job


@tagged("standard", "post_install", "-at_install")
class TestFoundationScenarios(TransactionCase):
    def test_demo_shows_every_state_and_open_exceptions(self):
        backend = self.env.ref("finsync_base.demo_backend_bank")
        states = set(
            self.env["finsync.transaction"]
            .search([("backend_id", "=", backend.id)])
            .mapped("state")
        )
        self.assertEqual(
            states,
            {"initiated", "acknowledged", "settled", "reconciled", "rejected", "reversed"},
        )
        open_types = set(
            self.env["finsync.exception"]
            .search([("backend_id", "=", backend.id), ("is_open", "=", True)])
            .mapped("exception_type")
        )
        self.assertTrue({"unmatched", "sync_failed"} <= open_types)
        self.assertTrue(backend.journal_ids, "the demo feed is linked to the bank journal")

    def test_every_finsync_model_is_guarded(self):
        """Each FinSync model has access lines, and each with a company a company rule."""
        models = self.env["ir.model"].search([("model", "=like", "finsync.%")])
        self.assertTrue(models)
        for model in models:
            if self.env[model.model]._transient or self.env[model.model]._abstract:
                continue
            self.assertTrue(
                self.env["ir.model.access"].search_count([("model_id", "=", model.id)]),
                f"{model.model} has no access rights",
            )
            if "company_id" in self.env[model.model]._fields:
                self.assertTrue(
                    self.env["ir.rule"].search_count(
                        [("model_id", "=", model.id), ("global", "=", True)]
                    ),
                    f"{model.model} has no multi-company rule",
                )

    def test_event_runs_through_the_job_queue_like_the_runner_does(self):
        backend = self.env["finsync.backend"].create({"name": "Scenario feed"})
        currency = self.env.company.currency_id.name
        payload = (
            '{"transactions": [{"external_id": "SC-1", "amount": "250.00", '
            f'"currency": "{currency}", "booking_date": "2026-06-30", "state": "initiated"}}]}}'
        )
        event = self.env["finsync.event"]._ingest(
            backend, [{"payload": payload, "external_id": "scenario-1"}]
        )
        event._enqueue_processing()
        job = Job.load(self.env, event.job_uuid)
        job.perform()
        self.assertEqual(event.state, "done")
        self.assertEqual(event.transaction_ids.state, "initiated")
        self.assertEqual(event.transaction_ids.correlation_id, event.correlation_id)
