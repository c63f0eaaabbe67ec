from odoo.tests import tagged

from odoo.addons.finsync_base.tests.common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestMatchingJobs(FinsyncCommon):
    def test_matching_jobs_run_on_the_declared_matching_channel(self):
        line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.company_data["default_journal_bank"].id,
                "amount": 10.0,
                "payment_ref": "INV/0001",
                "date": "2026-01-15",
            }
        )
        [delayed] = self.env["finsync.matching"]._enqueue_matching(line)
        job = self.env["queue.job"].sudo().search([("uuid", "=", delayed.uuid)])
        self.assertEqual(job.channel, "root.finsync.matching")
        channels = self.env["queue.job.channel"].sudo().search([]).mapped("complete_name")
        self.assertIn(job.channel, channels)
        function = (
            self.env["queue.job.function"]
            .sudo()
            .search([("name", "=", "<finsync.matching>._match_job")])
        )
        self.assertEqual(function.channel, "root.finsync.matching")
