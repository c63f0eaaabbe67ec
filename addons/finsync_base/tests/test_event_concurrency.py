import json
import threading

import psycopg2

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

THREADS = 8
DELIVERIES_PER_THREAD = 50


@tagged("post_install", "-at_install")
class TestEventConcurrency(TransactionCase):
    """The same webhook delivered 400 times by 8 workers with their own cursors."""

    def _env(self, cr):
        # Tests run while the registry is loading, under its lock: hand the
        # loaded registry to the cursor instead of letting Environment look it up.
        cr.transaction = api.Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {})

    def setUp(self):
        super().setUp()
        # Data every thread sees must be committed: use real cursors, clean up after.
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self.backend_id = (
                env["finsync.backend"]
                .create({"name": "Concurrency feed", "company_id": env.company.id})
                .id
            )
            self.currency = env.company.currency_id.name
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "DELETE FROM ir_attachment WHERE res_model = 'finsync.event' AND res_id IN "
                "(SELECT id FROM finsync_event WHERE backend_id = %s)",
                [self.backend_id],
            )
            for table in ("finsync_transaction", "finsync_event"):
                cr.execute(f"DELETE FROM {table} WHERE backend_id = %s", [self.backend_id])
            cr.execute("DELETE FROM finsync_backend WHERE id = %s", [self.backend_id])

    def _deliver(self, payload, results, errors):
        for _delivery in range(DELIVERIES_PER_THREAD):
            # What Odoo's request and queue_job retries do on a lost race.
            for _attempt in range(20):
                try:
                    with self.registry.cursor() as cr:
                        env = self._env(cr)
                        backend = env["finsync.backend"].browse(self.backend_id)
                        event = env["finsync.event"]._ingest(
                            backend,
                            [{"payload": payload, "external_id": "evt_storm_1"}],
                        )
                        event.filtered(lambda e: e.state == "received")._process()
                        results.append(event.id)
                    break
                except psycopg2.errors.SerializationFailure:
                    continue
                except Exception as err:  # noqa: BLE001 - reported to the main thread
                    errors.append(repr(err))
                    return

    @mute_logger("odoo.sql_db")  # the lost races are logged as bad queries, then retried
    def test_same_event_from_8_threads_is_stored_and_processed_once(self):
        payload = json.dumps(
            {
                "transactions": [
                    {
                        "external_id": "pi_storm_1",
                        "amount": "19.99",
                        "currency": self.currency,
                        "booking_date": "2026-05-01",
                    }
                ]
            }
        )
        results, errors = [], []
        threads = [
            threading.Thread(target=self._deliver, args=(payload, results, errors))
            for _index in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), THREADS * DELIVERIES_PER_THREAD)
        self.assertEqual(len(set(results)), 1, "every delivery returns the same event")
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM finsync_event WHERE backend_id = %s", [self.backend_id]
            )
            self.assertEqual(cr.fetchone()[0], 1)
            cr.execute(
                "SELECT count(*), min(state) FROM finsync_transaction WHERE backend_id = %s",
                [self.backend_id],
            )
            self.assertEqual(cr.fetchone(), (1, "settled"))
            cr.execute(
                "SELECT count(*) FROM finsync_transaction_transition t "
                "JOIN finsync_transaction x ON x.id = t.transaction_id WHERE x.backend_id = %s",
                [self.backend_id],
            )
            self.assertEqual(cr.fetchone()[0], 1, "one creation, recorded once")
