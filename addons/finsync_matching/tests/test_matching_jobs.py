import datetime
from decimal import Decimal
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.finsync_bank.tests.common import IBAN
from odoo.addons.finsync_testing.tools.generate import StatementSpec, camt053
from odoo.addons.queue_job.job import Job

from ..models import finsync_matching as matching_module
from .test_reconcile import ReconcileCommon


@tagged("post_install", "-at_install")
class TestMatchingJobs(ReconcileCommon):
    """Matching runs after posting, as one job per journal on its own channel."""

    def setUp(self):
        super().setUp()
        # Jobs are queued here, not run at once as in the other matching tests.
        self.env = self.env(context=dict(self.env.context, queue_job__no_delay=False))

    def _matching_jobs(self, journal):
        """The pending matching jobs of ``journal`` (queue_job's trap_jobs does not
        import on this Odoo: the jobs are stored and read)."""
        return (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("identity_key", "=", f"finsync-match-journal-{journal.id}"),
                    ("state", "=", "pending"),
                ]
            )
        )

    def _assert_one_job(self, journal):
        job = self._matching_jobs(journal)
        self.assertEqual(len(job), 1)
        self.assertEqual(
            (job.channel, job.model_name, job.method_name),
            ("root.finsync.matching", "finsync.matching", "_match_journal_job"),
        )
        self.assertEqual(job.args, [journal])
        return job

    def test_an_import_queues_one_matching_job_for_its_journal(self):
        matching = self.env["finsync.matching"]
        paid, unknown = self._import_lines(
            self._line("150.00", self.invoice_a.name, "J1"),
            self._line("42.00", "rent january", "J2"),
        )
        job = self._assert_one_job(self.journal)
        self.assertEqual((paid.state, unknown.state), ("settled", "settled"))
        self.assertEqual(self.invoice_a.payment_state, "not_paid", "nothing matched inline")
        self.assertTrue(all((paid | unknown).statement_line_id.mapped("finsync_match_pending")))
        # A second file before the job runs: the job already queued takes its lines.
        [late] = self._import_lines(self._line("80.00", self.invoice_b.name, "J3"))
        self.assertEqual(self._assert_one_job(self.journal), job)
        Job.load(self.env, job.uuid).perform()
        self.assertEqual(paid.state, "reconciled")
        self.assertEqual(self.invoice_a.payment_state, "paid")
        self.assertEqual(late.state, "reconciled")
        self.assertEqual(self.invoice_b.payment_state, "paid")
        self.assertEqual(unknown.exception_ids.exception_type, "unmatched")
        lines = (paid | unknown | late).statement_line_id
        self.assertFalse(any(lines.mapped("finsync_match_pending")))
        # Run again (a retry), the job finds nothing left to do.
        self.assertIn("0 of 0", matching._match_journal_job(self.journal))
        self.assertEqual(len(unknown.exception_ids), 1)

    def test_a_job_takes_a_bounded_number_of_lines_and_queues_the_rest(self):
        txs = self._import_lines(
            self._line("150.00", self.invoice_a.name, "J5"),
            self._line("80.00", self.invoice_b.name, "J6"),
            self._line("70.00", self.invoice_c.name, "J7"),
        )
        job = self._assert_one_job(self.journal)
        job.state = "done"  # as the job runner leaves it once performed
        with patch.object(matching_module, "MATCHING_JOB_LINES", 2):
            self.env["finsync.matching"]._match_journal_job(self.journal)
        self.assertEqual(txs.mapped("state"), ["reconciled", "reconciled", "settled"])
        rest = self._assert_one_job(self.journal)
        self.assertNotEqual(rest, job)
        Job.load(self.env, rest.uuid).perform()
        self.assertEqual(set(txs.mapped("state")), {"reconciled"})

    def test_a_job_over_several_chunks_sees_what_earlier_chunks_paid(self):
        """The open-item index is built once per job and settled chunk after chunk:
        the rest of an invoice paid in two parts, in the next chunk, is matched
        against what is left, not against the whole invoice."""
        self.rule.allow_partial = True
        txs = self._import_lines(
            self._line("100.00", f"{self.invoice_a.name} part 1", "J8"),
            self._line("80.00", self.invoice_b.name, "J9"),
            self._line("50.00", f"{self.invoice_a.name} rest", "J10"),
        )
        job = self._assert_one_job(self.journal)
        job.state = "done"
        built = []
        open_items = type(self.env["finsync.matching"])._open_items

        def count_builds(matching, company):
            built.append(company)
            return open_items(matching, company)

        with (
            patch.object(matching_module, "MATCHING_CHUNK", 2),
            patch.object(type(self.env["finsync.matching"]), "_open_items", count_builds),
        ):
            self.env["finsync.matching"]._match_journal_job(self.journal)
        self.assertEqual(txs.mapped("state"), ["reconciled"] * 3)
        self.assertEqual(len(built), 1, "one index for the two chunks of the job")
        self.assertEqual(self.invoice_a.payment_state, "paid")
        self.assertEqual(self.invoice_b.payment_state, "paid")
        self.assertEqual(txs[2].invoice_ids, self.invoice_a)

    def test_the_import_says_matching_runs_in_the_background(self):
        spec = StatementSpec(
            account=IBAN,
            currency=self.currency.name,
            opening_balance=Decimal(0),
            start=datetime.date(2026, 1, 1),
            end=datetime.date(2026, 1, 31),
            lines=[self._line("150.00", self.invoice_a.name, "J4")],
        )
        wizard = self._import(("jan.xml", camt053(spec)))
        self._assert_one_job(self.journal)
        self.assertEqual(wizard.event_ids.transaction_ids.state, "settled")
        self.assertIn("matched by a background job", wizard.message)
        self.assertFalse(wizard.matched_count)

    def test_job_descriptions_count_lines_in_words_a_reader_expects(self):
        """The Jobs list says "Match 1 bank line", not "Match 1 bank lines"."""
        one, two, three = self._import_lines(
            self._line("150.00", self.invoice_a.name, "J21"),
            self._line("80.00", self.invoice_b.name, "J22"),
            self._line("70.00", self.invoice_c.name, "J23"),
        ).statement_line_id
        jobs = self.env["finsync.matching"]._enqueue_matching(one | two | three, chunk_size=2)
        self.assertEqual(
            [job.db_record().name for job in jobs],
            ["Match 2 bank lines", "Match 1 bank line"],
        )
