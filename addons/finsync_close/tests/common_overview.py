from datetime import date

from odoo import fields

from odoo.addons.finsync_base.tests.common import FinsyncCommon


class OverviewCommon(FinsyncCommon):
    """A bank journal of its own, with helpers writing lines, events and exceptions."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.currency = cls.company.currency_id
        cls.journal = cls.env["account.journal"].create(
            {"name": "Overview Bank", "code": "OVB", "type": "bank", "company_id": cls.company.id}
        )
        cls.figures = cls.env["finsync.figures"]

    @classmethod
    def _line(cls, amount, day, journal=None, label="Overview line"):
        journal = journal or cls.journal
        return (
            cls.env["account.bank.statement.line"]
            .with_company(journal.company_id)
            .create(
                {
                    "journal_id": journal.id,
                    "amount": amount,
                    "date": day if isinstance(day, date) else fields.Date.to_date(day),
                    "payment_ref": label,
                }
            )
        )

    @classmethod
    def _event(cls, backend, received, processed, state="done"):
        # Inbound events are append-only for people; the test writes the row itself.
        cls.env.cr.execute(
            """
            INSERT INTO finsync_event (name, backend_id, company_id, state, received_at,
                                       processed_at, dedup_key, create_date, write_date)
            VALUES ('test', %s, %s, %s, %s, %s, gen_random_uuid()::text, now(), now())
            RETURNING id
            """,
            (backend.id, backend.company_id.id, state, received, processed),
        )
        return cls.env.cr.fetchone()[0]
