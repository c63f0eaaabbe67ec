import datetime
from decimal import Decimal

from odoo.tests import BaseCase, tagged

from ..engine.matcher import BankLine, OpenItem
from ..wizards.candidate_ranking import rank


def item(id_, reference, amount, partner=7, date=None):
    return OpenItem(id_, reference, Decimal(amount), "EUR", partner_id=partner, date=date)


def line(amount, *texts, partner=None):
    return BankLine(1, Decimal(amount), "EUR", texts=texts, partner_id=partner)


@tagged("post_install", "-at_install")
class TestCandidateRanking(BaseCase):
    def test_reference_partner_and_amount_add_up_to_the_best_candidate(self):
        named = item(1, "INV/2026/00042", "150.00")
        same_amount = item(2, "INV/2026/00043", "150.00", partner=8)
        close_amount = item(3, "INV/2026/00044", "140.00")
        ranked = rank(
            line("150.00", "payment inv 2026 42", partner=7), [close_amount, same_amount, named]
        )
        self.assertEqual([c.item.id for c in ranked], [1, 3, 2])
        best = ranked[0]
        self.assertEqual(best.score, 100)
        self.assertEqual(
            best.reasons,
            ["reference INV/2026/00042 in the label", "partner equal", "amount equal"],
        )
        self.assertIn("amount differs by +10.00", ranked[1].explanation)

    def test_proposed_items_come_first_whatever_their_score(self):
        proposed = item(5, "BILL/9", "10.00", partner=None)
        perfect = item(6, "INV/2026/00042", "150.00")
        ranked = rank(line("150.00", "INV/2026/00042", partner=7), [perfect, proposed], [5])
        self.assertEqual([c.item.id for c in ranked], [5, 6])
        self.assertTrue(ranked[0].proposed)
        self.assertEqual(ranked[0].reasons[0], "proposed by matching")

    def test_amount_points_shrink_with_the_difference_and_ties_go_to_the_oldest(self):
        old = item(10, "A-1", "50.00", partner=None, date=datetime.date(2026, 1, 1))
        new = item(11, "A-2", "50.00", partner=None, date=datetime.date(2026, 3, 1))
        far = item(12, "A-3", "400.00", partner=None)
        ranked = rank(line("100.00", "no reference here"), [far, new, old])
        self.assertEqual([c.item.id for c in ranked], [10, 11, 12])
        self.assertEqual(ranked[0].score, 12)  # half the amount: half the 25 points, floored
        self.assertEqual(ranked[2].score, 0)

    def test_a_bill_is_compared_with_money_out(self):
        bill = item(20, "BILL/2026/0003", "-80.00")
        [candidate] = rank(line("-80.00", "bill 2026 3"), [bill])
        self.assertIn("amount equal", candidate.reasons)
        self.assertEqual(candidate.score, 75)
