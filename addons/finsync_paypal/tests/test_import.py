import base64
from pathlib import Path

from odoo.tests import tagged

from odoo.addons.finsync_bank.tests.corpus import corpus_file

from .common import PayPalCommon

DATA = Path(__file__).parent / "data"


@tagged("post_install", "-at_install")
class TestPayPalImport(PayPalCommon):
    def _wizard(self, data, filename, **vals):
        return self.env["finsync.paypal.import"].create(
            {
                "backend_id": self.paypal.id,
                "data_file": base64.b64encode(data),
                "filename": filename,
                **vals,
            }
        )

    def _events(self):
        return self.env["finsync.event"].search([("backend_id", "=", self.paypal.id)])

    def test_activity_export_books_the_usd_journal_like_paypal(self):
        data = corpus_file("paypal/oca17__activity_en.csv")
        wizard = self._wizard(data, "activity_en.csv")
        wizard.action_preview()
        self.assertEqual((wizard.state, wizard.line_count, wizard.new_count), ("preview", 76, 76))
        self.assertEqual(wizard.currencies, "AUD, EUR, USD")
        wizard.action_import()
        self.assertEqual(wizard.state, "done", wizard.message)
        self.assertEqual(len(wizard.transaction_ids), 76)
        usd = self.env.ref("base.USD")
        total, lines = self.journal_total(usd)
        # One line per USD row and one per fee, as OCA's import makes 71 lines.
        self.assertEqual(len(lines), 71)
        # The export's own running balance ends at 1.90 USD (and 43.34 EUR).
        self.assertEqual(usd.compare_amounts(total, 1.90), 0)
        eur = self.env.ref("base.EUR")
        self.assertEqual(eur.compare_amounts(self.journal_total(eur)[0], 43.34), 0)
        self.assert_balanced(lines.move_id)
        settlements = self.env["finsync.settlement"].search([("backend_id", "=", self.paypal.id)])
        self.assertEqual(len(settlements), 14, "fourteen withdrawals to the bank")
        self.assertEqual(set(settlements.currency_id.mapped("name")), {"EUR"})
        [event] = self._events()
        self.assertEqual(
            (event.state, event.event_type, event.payload_filename),
            ("done", "report", "activity_en.csv"),
        )
        # The same file again books nothing.
        again = self._wizard(data, "activity_en.csv")
        again.action_import()
        self.assertIn("already imported", again.message)
        self.assertEqual(len(self.journal_total(usd)[1]), 71)

    def test_settlement_report_and_its_chargeback_fee(self):
        wizard = self._wizard(
            corpus_file("paypal/smashpig__stl_chargeback_with_fee.csv"), "STL-1.csv"
        )
        wizard.action_import()
        self.assertEqual(wizard.state, "done", wizard.message)
        chargeback = self.transactions(external_id="5K823")
        self.assertEqual((chargeback.kind, chargeback.amount), ("dispute", -3.0))
        fee = self.transactions(external_id="6U844")
        self.assertEqual((fee.kind, fee.amount), ("fee", -20.0))
        usd = self.env.ref("base.USD")
        self.assertEqual(usd.compare_amounts(self.journal_total(usd)[0], -23.0), 0)

    def test_a_bad_file_imports_nothing_and_stays_in_the_inbox(self):
        wizard = self._wizard((DATA / "activity_bad_net.csv").read_bytes(), "bad.csv")
        wizard.action_import()
        self.assertEqual(wizard.state, "error")
        self.assertIn("bad.csv, line 2, column Net", wizard.message)
        self.assertFalse(self.transactions())
        [event] = self._events()
        self.assertEqual(event.state, "failed")
        self.assertIn("line 2", event.last_error)
        exception = self.env["finsync.exception"].search([("event_id", "=", event.id)])
        self.assertEqual(exception.exception_type, "sync_failed")

    def test_ambiguous_dates_need_the_users_choice(self):
        data = (DATA / "activity_ambiguous_dates.csv").read_bytes()
        wizard = self._wizard(data, "amb.csv")
        wizard.action_preview()
        self.assertEqual(wizard.state, "error")
        self.assertIn("choose the date order", wizard.message)
        wizard.write({"date_order": "dmy", "state": "upload"})
        wizard.action_preview()
        self.assertEqual(wizard.state, "preview")
        wizard.action_import()
        self.assertEqual(wizard.state, "done", wizard.message)
        self.assertEqual(str(self.transactions(external_id="FSACT0001").booking_date), "2026-02-03")
        payout = self.env["finsync.settlement"].search([("backend_id", "=", self.paypal.id)])
        self.assertEqual((payout.amount, payout.currency_id.name), (1000.0, "EUR"))
