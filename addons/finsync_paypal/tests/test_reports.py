from decimal import Decimal
from pathlib import Path

from odoo.tests import BaseCase, tagged

from odoo.addons.finsync_bank.tests.corpus import corpus_file

from ..adapters.paypal_reports import PayPalReportError, parse_amount, parse_report

DATA = Path(__file__).parent / "data"


def _corpus(name, **kwargs):
    return parse_report(corpus_file(f"paypal/{name}"), name, **kwargs)


@tagged("post_install", "-at_install")
class TestPayPalReportsCorpus(BaseCase):
    """The EXPECTED values of ../shared/corpus/MANIFEST.md, paypal report section."""

    def test_activity_export(self):
        result = _corpus("oca17__activity_en.csv")
        self.assertEqual(result.format, "paypal_activity")
        usd = [row for row in result.rows if row["currency"] == "USD"]
        with_fee = [row for row in usd if row["fee"]]
        # OCA imports 71 USD statement lines: one per USD row, one per fee.
        self.assertEqual(len(usd) + len(with_fee), 71)
        self.assertEqual(len(result.rows), 76)
        first = result.rows[0]
        self.assertEqual(first["external_id"], "TID1")
        self.assertEqual((first["amount"], first["fee"]), (Decimal("84.00"), Decimal("4.25")))
        self.assertEqual(str(first["booking_date"]), "2015-12-29", "day-first, read from the file")
        by_id = {row["external_id"]: row for row in result.rows}
        self.assertEqual(by_id["TID4"]["amount"], Decimal("1653.75"), "thousands separator")
        self.assertEqual(by_id["TID4"]["paypal"]["invoice_id"], "31")
        self.assertEqual(by_id["TID11"]["paypal"]["category"], "withdrawal")
        self.assertEqual(by_id["TID11"]["state"], "acknowledged", "Pending")
        self.assertEqual(by_id["TID12"]["paypal"]["category"], "conversion")
        self.assertEqual(by_id["TID37"]["paypal"]["category"], "hold")
        self.assertEqual(by_id["TID46"]["paypal"]["category"], "release")
        self.assertEqual(by_id["TID46"]["paypal"]["reverses"], "TID36")
        self.assertEqual(by_id["TID7"]["paypal"]["category"], "payment_sent")
        self.assertEqual(by_id["TID7"]["counterparty_account"], "paypal@partner3.com", "the payee")
        self.assertEqual(by_id["TID4"]["counterparty_account"], "paypal@partner2.com", "the payer")
        # The Balance column is what PayPal's balance did: the rows' nets add up to it.
        self.assertEqual(result.net_by_currency()["USD"], Decimal("1.90"))
        self.assertEqual(result.net_by_currency()["EUR"], Decimal("43.34"))

    def test_statement_export(self):
        result = _corpus("oca17__statement_en.csv")
        usd = [row for row in result.rows if row["currency"] == "USD"]
        eur = [row for row in result.rows if row["currency"] == "EUR"]
        self.assertEqual(len(usd) + len([row for row in usd if row["fee"]]), 18)
        self.assertEqual(len(eur) + len([row for row in eur if row["fee"]]), 8)
        self.assertEqual(str(result.rows[0]["booking_date"]), "2018-09-04", "month-first")
        self.assertEqual(result.rows[0]["counterparty_name"], "Bank A")
        self.assertEqual(result.rows[0]["paypal"]["category"], "withdrawal")

    def test_empty_activity_is_refused(self):
        with self.assertRaisesRegex(PayPalReportError, "no transactions"):
            _corpus("oca17__empty_activity.csv")

    def test_settlement_report(self):
        result = _corpus("smashpig__stl.csv")
        self.assertEqual(result.format, "paypal_stl")
        self.assertEqual(result.batch_reference, "20260106")
        rows = {row["external_id"]: row for row in result.rows}
        donation = rows["5678"]
        self.assertEqual(donation["currency"], "AUD")
        self.assertEqual((donation["amount"], donation["fee"]), (Decimal("52"), Decimal("2.25")))
        self.assertEqual(donation["amount"] - donation["fee"], Decimal("49.75"))
        self.assertEqual(int(donation["paypal"]["moment"].timestamp()), 1767686430)
        refund = rows["6899"]
        self.assertEqual((refund["kind"], refund["currency"]), ("refund", "GBP"))
        self.assertEqual(refund["amount"], Decimal("-1.34"))
        self.assertEqual(refund["fee"], Decimal("-0.47"), "0.47 of fee given back")
        self.assertEqual(refund["amount"] - refund["fee"], Decimal("-0.87"))
        self.assertEqual(rows["3MG88942N0662370U"]["paypal"]["category"], "withdrawal")
        self.assertEqual(rows["3MG88942N0662370U"]["paypal"]["bank_reference_id"], "1047428557493")
        # SmashPig's AUD payout row (54.35) is the AUD batch's net. Its GBP row (8.40)
        # cannot be rebuilt from the file's rows (7.47 - 0.87 - 1.00 = 5.60): we book the rows.
        self.assertEqual(result.net_by_currency()["AUD"], Decimal("54.35"))
        self.assertEqual(result.net_by_currency()["GBP"], Decimal("5.60"))
        self.assertEqual(len(result.warnings), 1, "the AUD footer's fee credits disagree")
        self.assertIn("line 9", result.warnings[0])

    def test_settlement_with_currency_conversion(self):
        result = _corpus("smashpig__stl_currency_convert.csv")
        self.assertEqual(len(result.rows), 3)
        donation, brl_leg, usd_leg = result.rows
        self.assertEqual((donation["external_id"], donation["currency"]), ("1DV3", "BRL"))
        self.assertEqual((donation["amount"], donation["fee"]), (Decimal("22"), Decimal("3.60")))
        self.assertEqual(donation["amount"] - donation["fee"], Decimal("18.40"))
        self.assertEqual((brl_leg["amount"], brl_leg["currency"]), (Decimal("-18.40"), "BRL"))
        self.assertEqual((usd_leg["amount"], usd_leg["currency"]), (Decimal("3.27"), "USD"))
        self.assertEqual(
            {brl_leg["paypal"]["category"], usd_leg["paypal"]["category"]}, {"conversion"}
        )
        self.assertEqual(result.net_by_currency(), {"BRL": Decimal("0"), "USD": Decimal("3.27")})

    def test_settlement_chargeback_with_fee(self):
        chargeback, fee = _corpus("smashpig__stl_chargeback_with_fee.csv").rows
        self.assertEqual((chargeback["external_id"], chargeback["kind"]), ("5K823", "dispute"))
        self.assertEqual((chargeback["amount"], chargeback["currency"]), (Decimal("-3"), "USD"))
        self.assertEqual(chargeback["paypal"]["reverses"], "59M83")
        self.assertEqual(str(chargeback["booking_date"]), "2026-01-14")
        # PayPal books the chargeback fee (T0106) as its own row about the chargeback.
        self.assertEqual((fee["kind"], fee["amount"]), ("fee", Decimal("-20")))
        self.assertEqual(fee["paypal"]["reference"], "5K823")
        self.assertEqual(chargeback["amount"] + fee["amount"], Decimal("-23"))

    def test_transaction_detail_reports(self):
        for name in (
            "smashpig__trr_express_checkout_donation.csv",
            "smashpig__trr_express_with_non_data_rows.csv",
        ):
            with self.subTest(name):
                [row] = _corpus(name).rows
                self.assertEqual(row["external_id"], "1V551844CE5526421")
                self.assertEqual(row["currency"], "JPY")
                # Hundredths even for JPY: 15000 is 150 JPY (a 43 JPY fee is PayPal's
                # 3.6% + 40 JPY on 150 JPY, not on 15,000).
                self.assertEqual((row["amount"], row["fee"]), (Decimal("150"), Decimal("43")))
                self.assertEqual(row["amount"] - row["fee"], Decimal("107"))
                self.assertEqual(int(row["paypal"]["moment"].timestamp()), 1488477595)
                self.assertEqual(row["counterparty_name"], "Cindy Lou Who")
                self.assertEqual(row["counterparty_account"], "donor@generous.net")
                self.assertEqual(row["paypal"]["invoice_id"], "46239229.1")

    def test_transaction_detail_refund(self):
        [row] = _corpus("smashpig__trr_express_checkout_refund.csv").rows
        self.assertEqual((row["external_id"], row["kind"]), ("3HD08833MR473623T", "refund"))
        self.assertEqual(row["paypal"]["reverses"], "1V551844CE5526421")
        self.assertEqual((row["amount"], row["fee"]), (Decimal("-150"), Decimal("-43")))
        self.assertEqual(int(row["paypal"]["moment"].timestamp()), 1490200499)


@tagged("post_install", "-at_install")
class TestPayPalReports(BaseCase):
    def _read(self, name, **kwargs):
        return parse_report((DATA / name).read_bytes(), name, **kwargs)

    def test_ambiguous_dates_need_an_order(self):
        with self.assertRaisesRegex(PayPalReportError, "choose the date order"):
            self._read("activity_ambiguous_dates.csv")
        rows = self._read("activity_ambiguous_dates.csv", date_order="dmy").rows
        self.assertEqual(
            [str(r["booking_date"]) for r in rows], ["2026-02-03", "2026-02-04", "2026-02-05"]
        )
        self.assertEqual(rows[0]["amount"], Decimal("1234.56"), "decimal comma, dot thousands")
        self.assertEqual(rows[1]["fee"], Decimal("-1.20"))
        self.assertEqual(rows[1]["paypal"]["reverses"], "FSACT0001")
        month_first = self._read("activity_ambiguous_dates.csv", date_order="mdy").rows
        self.assertEqual(str(month_first[0]["booking_date"]), "2026-03-02")

    def test_wrong_net_names_line_and_column(self):
        with self.assertRaises(PayPalReportError) as caught:
            self._read("activity_bad_net.csv")
        self.assertEqual((caught.exception.line, caught.exception.column), (2, "Net"))
        self.assertIn("activity_bad_net.csv, line 2, column Net", str(caught.exception))

    def test_bad_amount_and_unknown_files(self):
        data = (DATA / "activity_bad_net.csv").read_bytes().replace(b'"100.00"', b'"1O0.00"')
        with self.assertRaisesRegex(PayPalReportError, "line 2, column Gross: '1O0.00'"):
            parse_report(data, "x.csv")
        with self.assertRaisesRegex(PayPalReportError, "not a PayPal activity export"):
            parse_report(b"a,b,c\n1,2,3\n", "other.csv")
        stl = b'"CH","Transaction ID","Transaction Event Code"\n"SB","1","X100"\n'
        with self.assertRaisesRegex(PayPalReportError, "line 2, column Transaction Event Code"):
            parse_report(stl, "STL-1.csv")

    def test_amounts(self):
        cases = {"1,653.75": "1653.75", "-1.653,75": "-1653.75", "12,50": "12.50", "1,234": "1234"}
        for text, value in cases.items():
            self.assertEqual(parse_amount(text), Decimal(value), text)
        with self.assertRaises(ValueError):
            parse_amount("12.5.0,1")
