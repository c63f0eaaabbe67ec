import json

from odoo.tests import tagged

from odoo.addons.finsync_testing.tools.stripe_simulator import StripeSimulator
from odoo.addons.queue_job.job import Job

from .common import API_KEY, StripeCommon


@tagged("post_install", "-at_install")
class TestStripeMatchingJob(StripeCommon):
    """A webhook's processing posts the charge; matching runs after it, in a job."""

    def test_a_webhook_queues_one_matching_job_for_the_clearing_journal(self):
        sim = StripeSimulator(api_key=API_KEY)
        invoice = self.init_invoice("out_invoice", amounts=[120.0], taxes=[], post=True)
        paid = sim.add_charge(12000, self.code, invoice=invoice.name)
        sim.add_charge(5000, self.code, invoice="NO-SUCH-INVOICE")
        events = self.env["finsync.event"]._ingest(
            self.stripe,
            [
                {
                    "payload": json.dumps(event),
                    "external_id": event["id"],
                    "event_type": event["type"],
                }
                for event in sim.events()
            ],
        )
        events._process()
        self.assertEqual(set(events.mapped("state")), {"done"}, events.mapped("last_error"))
        journal = self.stripe.journal_ids
        self.assertEqual(len(journal), 1)
        # queue_job's trap_jobs does not import on this Odoo: the jobs are stored and read.
        job = (
            self.env["queue.job"]
            .sudo()
            .search([("identity_key", "=", f"finsync-match-journal-{journal.id}")])
        )
        self.assertEqual(len(job), 1)
        self.assertEqual(
            (job.channel, job.method_name, job.args, job.state),
            ("root.finsync.matching", "_match_journal_job", [journal], "pending"),
        )
        charge = self.transactions(external_id=paid["id"])
        self.assertEqual(charge.state, "settled", "not matched in the webhook's job")
        self.assertEqual(invoice.payment_state, "not_paid")
        Job.load(self.env, job.uuid).perform()
        self.assertEqual(charge.state, "reconciled")
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
