from odoo.tests import HttpCase, tagged

from odoo.addons.finsync_testing.tools.stripe_simulator import StripeSimulator

from .common import API_KEY, StripeCommon


@tagged("post_install", "-at_install")
class TestStripePayoutTour(StripeCommon, HttpCase):
    def test_accountant_opens_a_payout(self):
        sim = StripeSimulator(api_key=API_KEY)
        sim.add_charge(10000, self.code, invoice="TOUR-INV-1")
        sim.add_charge(5000, self.code, invoice="TOUR-INV-2")
        payout = sim.add_payout(self.code)
        self.deliver(*sim.events())
        settlement = self.env["finsync.settlement"].search([("name", "=", payout["id"])])
        settlement._link_page(
            sim._list({"payout": [payout["id"]], "limit": ["100"], "expand[]": ["data.source"]})
        )
        # Fees: 2.9 % + 0.30 of each charge; the payout is the rest.
        self.assertEqual(settlement.fee_amount, 4.95)
        self.assertEqual(settlement.amount, 145.05)
        line = self.env["account.bank.statement.line"].create(
            {
                "journal_id": self.company_data["default_journal_bank"].id,
                "date": settlement.expected_date,
                "payment_ref": f"STRIPE PAYOUT {payout['id']}",
                "amount": 145.05,
            }
        )
        self.env["finsync.matching"]._match_statement_lines(line)
        self.assertEqual(settlement.state, "reconciled")
        self.start_tour(
            "/odoo/action-finsync_gateway.action_finsync_settlement",
            "finsync_stripe_payout_tour",
            login="fs_accountant",
        )
