import json

from odoo.addons.finsync_base.tests.common import FinsyncCommon


class GatewayCommon(FinsyncCommon):
    """What the tests of every gateway connector share.

    A subclass creates its connector in ``setUpClass`` and names it ``gateway``;
    the test company's currency is ``currency``, and a matching rule on
    references is active.
    """

    gateway = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.currency = cls.env.company.currency_id
        if "finsync.match.rule" in cls.env:
            cls.env["finsync.match.rule"].create(
                {"name": "References", "company_id": cls.env.company.id}
            )

    def ingest_documents(self, documents, external_id, event_type):
        """Store documents as events of the connector and process them now.

        ``external_id`` and ``event_type`` say, per document, its idempotency key
        (None for pages, keyed by content) and its type.
        """
        events = self.env["finsync.event"]._ingest(
            self.gateway,
            [
                {
                    "payload": json.dumps(doc),
                    "external_id": external_id(doc),
                    "event_type": event_type(doc),
                }
                for doc in documents
            ],
        )
        events._process()
        self.run_matching_jobs()
        return events

    def run_matching_jobs(self):
        """Run the matching jobs of the connector's journals now, as the job runner
        would after the processing job (when finsync_matching is installed)."""
        if "finsync.matching" in self.env:
            for journal in self.gateway.journal_ids:
                self.env["finsync.matching"]._match_journal_job(journal)

    def transactions(self, **domain):
        return self.env["finsync.transaction"].search(
            [("backend_id", "=", self.gateway.id)] + [(k, "=", v) for k, v in domain.items()]
        )

    def journal_total(self, currency=None):
        """Sum of the clearing journal's lines (the gateway balance as booked)."""
        journal = self.gateway._gateway_find_journal(currency or self.currency)
        lines = self.env["account.bank.statement.line"].search([("journal_id", "=", journal.id)])
        return sum(lines.mapped("amount")), lines

    def bank_line(self, amount, date, label, journal=None):
        """A line of the company's bank journal (or ``journal``), paired with its payout
        and run through matching (its job run now)."""
        line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": (journal or self.company_data["default_journal_bank"]).id,
                "date": date,
                "payment_ref": label,
                "amount": amount,
            }
        )
        paired = line._finsync_match_known()
        (line - paired).with_context(queue_job__no_delay=True)._finsync_lines_posted()
        return line

    def assert_balanced(self, moves):
        for move in moves:
            self.assertEqual(move.state, "posted")
            self.assertTrue(
                move.company_currency_id.is_zero(sum(move.line_ids.mapped("balance"))),
                f"{move.name} does not balance",
            )
