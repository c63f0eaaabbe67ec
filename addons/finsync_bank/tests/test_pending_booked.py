"""An entry first reported pending (camt.052 intraday) and then booked (camt.053)."""

from odoo.tests import tagged

from .common import BankImportCommon
from .test_parser_camt import balance, document, entry


def _entry(amount, reference, status="BOOK", booked="2026-01-05"):
    return entry(amount, head=f"<AcctSvcrRef>{reference}</AcctSvcrRef>", booked=booked).replace(
        "<Sts>BOOK</Sts>", f"<Sts>{status}</Sts>"
    )


@tagged("post_install", "-at_install")
class TestPendingThenBooked(BankImportCommon):
    def _transactions(self):
        return self.env["finsync.transaction"].search(
            [("bank_journal_id", "=", self.journal.id)], order="id"
        )

    def _file(self, name, data):
        # The generators write EUR; the test company keeps its own currency.
        return (
            name,
            data.replace(b'"EUR"', f'"{self.currency.name}"'.encode()).replace(
                b">EUR<", f">{self.currency.name}<".encode()
            ),
        )

    def _intraday(self):
        # Only pending entries: no booked balance moves yet.
        data = document(
            _entry("25.00", "REF-P1", status="PDNG", booked="2026-01-06")
            + _entry("40.00", "REF-P2", status="PDNG"),
            balances=balance("ITBD", "100.00"),
            message="camt.052.001.02",
        )
        return self._file("intraday.xml", data)

    def _end_of_day(self):
        # REF-P1 booked a day earlier than announced (another id), REF-P2 as announced,
        # REF-N1 new.
        data = document(
            _entry("25.00", "REF-P1", booked="2026-01-05")
            + _entry("40.00", "REF-P2")
            + _entry("10.00", "REF-N1"),
            balances=balance("OPBD", "100.00") + balance("CLBD", "175.00", date="2026-01-06"),
        )
        return self._file("statement.xml", data)

    def test_pending_entries_are_settled_and_posted_once_booked(self):
        self._import(self._intraday())
        pending = self._transactions()
        self.assertEqual(pending.mapped("state"), ["acknowledged", "acknowledged"])
        self.assertFalse(pending.statement_line_id)

        wizard = self._import(self._end_of_day())
        transactions = self._transactions()
        # Nothing doubled: the two pending entries are the booked ones, plus one new.
        self.assertEqual(len(transactions), 3)
        self.assertEqual(transactions[:2], pending)
        self.assertEqual(transactions.mapped("state"), ["settled"] * 3)
        lines = transactions.statement_line_id
        self.assertEqual(len(lines), 3)
        self.assertEqual(sorted(lines.mapped("amount")), [10.0, 25.0, 40.0])
        statement = lines.statement_id
        self.assertEqual(len(statement), 1)
        self.assertTrue(statement.is_complete)
        self.assertEqual(
            self.currency.compare_amounts(statement.balance_end_real, 175.0), 0, statement
        )
        # The booked date replaces the announced one.
        self.assertEqual(str(pending[0].booking_date), "2026-01-05")
        transition = pending[0].transition_ids.filtered(lambda t: t.to_state == "settled")
        self.assertEqual(transition.from_state, "acknowledged")
        self.assertIn("statement.xml", transition.reason)
        self.assertIn("3 new", wizard.message)

        # The same end-of-day file again changes nothing.
        self._import(self._end_of_day())
        self.assertEqual(self._transactions(), transactions)
        self.assertEqual(len(self._transactions().statement_line_id), 3)

    def test_a_booked_entry_of_another_amount_is_not_the_pending_one(self):
        self._import(self._intraday())
        data = document(
            _entry("26.00", "REF-P1"),
            balances=balance("OPBD", "100.00") + balance("CLBD", "126.00", date="2026-01-06"),
        )
        self._import(self._file("statement.xml", data))
        transactions = self._transactions()
        self.assertEqual(len(transactions), 3)
        self.assertEqual(transactions.mapped("state"), ["acknowledged", "acknowledged", "settled"])
