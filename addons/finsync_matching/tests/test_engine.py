import datetime
from decimal import Decimal

from odoo.tests import BaseCase, tagged

from ..engine.matcher import BankLine, OpenItem, OpenItemIndex, Rule, match
from ..engine.references import extract, is_valid_ogm, is_valid_rf, normalize, reference_keys


def item(id_, reference, amount, partner=1, currency="EUR", **kwargs):
    return OpenItem(id_, reference, Decimal(amount), currency, partner_id=partner, **kwargs)


def line(amount, *texts, partner=None, currency="EUR"):
    return BankLine(1, Decimal(amount), currency, texts=texts, partner_id=partner)


@tagged("post_install", "-at_install")
class TestReferences(BaseCase):
    def test_references_are_compared_as_people_write_them(self):
        self.assertEqual(normalize("INV/2026/00042"), "INV-2026-42")
        self.assertEqual(normalize("inv 2026 42"), "INV-2026-42")
        self.assertEqual(normalize("Inv-2026.0042"), "INV-2026-42")
        self.assertIsNone(normalize(" / "))
        self.assertIn("INV-2026-42", extract("Payment inv 2026/042, thank you"))

    def test_creditor_references_and_structured_communications_are_validated(self):
        self.assertTrue(is_valid_rf("RF18 5390 0754 7034"))
        self.assertFalse(is_valid_rf("RF19539007547034"))
        self.assertTrue(is_valid_ogm("090933755493"))
        self.assertFalse(is_valid_ogm("090933755494"))
        found = extract("Ref RF18 5390 0754 7034 and +++090/9337/55493+++")
        self.assertIn("RF18539007547034", found)
        self.assertIn("090933755493", found)
        self.assertNotIn("090933755494", extract("+++090/9337/55494+++"))


@tagged("post_install", "-at_install")
class TestMatcher(BaseCase):
    def setUp(self):
        super().setUp()
        self.items = [
            item(1, "INV/2026/00042", "150.00", partner=7),
            item(2, "INV/2026/00043", "80.00", partner=7),
            item(3, "INV/2026/00044", "70.00", partner=7),
            item(4, "INV/2026/00050", "99.00", partner=8),
            item(5, "INV/2026/00051", "99.00", partner=8),
            item(6, "INV/2026/00060", "10.00", partner=9, currency="USD"),
        ]
        self.index = OpenItemIndex(self.items)
        self.rule = Rule()

    def test_reference_and_equal_amount_reconcile_with_a_reason(self):
        decision = match(line("150.00", "inv 2026 42"), self.index, self.rule)
        self.assertEqual(decision.action, "reconcile")
        self.assertEqual([i.id for i in decision.items], [1])
        self.assertEqual(
            decision.explanation, "reference INV/2026/00042 in the label; amount equal"
        )

    def test_one_payment_for_several_invoices_by_reference(self):
        decision = match(line("150.00", "INV/2026/00043 + INV/2026/00044"), self.index, self.rule)
        self.assertEqual(decision.action, "reconcile")
        self.assertEqual(sorted(i.id for i in decision.items), [2, 3])

    def test_amount_outside_tolerance_is_only_proposed(self):
        decision = match(line("149.00", "INV/2026/00042"), self.index, self.rule)
        self.assertEqual(decision.action, "propose")
        self.assertIn("amount differs by -1.00", decision.explanation)
        fee_rule = Rule(amount_tolerance=Decimal("2.00"))
        decision = match(line("149.00", "INV/2026/00042"), self.index, fee_rule)
        self.assertEqual(decision.action, "reconcile")
        self.assertEqual(decision.difference, Decimal("-1.00"))

    def test_partner_and_amount_alone_are_a_proposal_never_a_guess(self):
        # The simplest explanation wins: one invoice of 150 before two that add up to it.
        decision = match(line("150.00", "transfer", partner=7), self.index, self.rule)
        self.assertEqual(decision.action, "propose")
        self.assertEqual([i.id for i in decision.items], [1])
        decision = match(line("80.00", "transfer", partner=7), self.index, self.rule)
        self.assertEqual(decision.action, "propose")
        self.assertEqual([i.id for i in decision.items], [2])
        decision = match(line("99.00", "transfer", partner=8), self.index, self.rule)
        self.assertEqual(decision.action, "ambiguous", "two invoices of 99: never a guess")
        self.assertEqual(sorted(i.id for i in decision.items), [4, 5])
        decision = match(line("220.00", "transfer", partner=7), self.index, self.rule)
        self.assertEqual(sorted(i.id for i in decision.items), [1, 3], "150 + 70")

    def test_other_currency_and_unrelated_lines_do_not_match(self):
        decision = match(line("10.00", "INV/2026/00060"), self.index, self.rule)
        self.assertEqual(decision.action, "none")
        decision = match(line("10.00", "INV/2026/00060", currency="USD"), self.index, self.rule)
        self.assertEqual(decision.action, "reconcile")
        self.assertEqual(match(line("5.00", "rent"), self.index, self.rule).action, "none")

    def test_date_window(self):
        index = OpenItemIndex([item(1, "INV/1", "5.00", date=datetime.date(2026, 1, 1))])
        late = BankLine(1, Decimal("5.00"), "EUR", ("INV/1",), date=datetime.date(2026, 6, 1))
        self.assertEqual(match(late, index, Rule(date_window_days=30)).action, "none")
        self.assertEqual(match(late, index, Rule()).action, "reconcile")

    def test_rule_that_only_proposes(self):
        decision = match(line("150.00", "INV/2026/00042"), self.index, Rule(auto_reconcile=False))
        self.assertEqual(decision.action, "propose")


@tagged("post_install", "-at_install")
class TestMatcherQuality(BaseCase):
    """Structured references, partial payments, payers found by their account."""

    def test_structured_references_match_however_they_are_spaced(self):
        index = OpenItemIndex(
            [
                item(1, "INV/2026/00001", "40.00", other_references=("RF18 5390 0754 7034",)),
                item(2, "INV/2026/00002", "50.00", other_references=("+++090/9337/55493+++",)),
            ]
        )
        for text, expected in (
            ("rf18539007547034", 1),
            ("RF18 5390 0754 7034 thanks", 1),
            ("+++090/9337/55493+++", 2),
            ("090/9337/55493", 2),
            ("090 9337 55493", 2),
        ):
            amount = "40.00" if expected == 1 else "50.00"
            decision = match(line(amount, text), index, Rule())
            self.assertEqual(decision.action, "reconcile", text)
            self.assertEqual([i.id for i in decision.items], [expected], text)
        # A check digit off is no reference at all.
        self.assertEqual(match(line("50.00", "090/9337/55494"), index, Rule()).action, "none")

    def test_weak_references_are_not_keys(self):
        self.assertEqual(reference_keys("42"), set())
        self.assertEqual(reference_keys("SO"), set())
        self.assertEqual(reference_keys("SO/04711"), {"SO-4711"})
        index = OpenItemIndex([item(1, "INV/2026/00001", "42.00", other_references=("42",))])
        self.assertEqual(match(line("42.00", "order 42"), index, Rule()).action, "none")

    def test_several_payments_for_one_invoice(self):
        index = OpenItemIndex([item(1, "INV/2026/00042", "100.00", partner=7)])
        rule = Rule(allow_partial=True)
        first = match(line("40.00", "inv 2026 42"), index, rule)
        self.assertEqual(first.action, "reconcile")
        self.assertEqual(first.paid(first.items[0]), Decimal("40.00"))
        self.assertIn("partial payment of 40.00 (100.00 open)", first.explanation)
        index.settle(first)
        second = match(line("60.00", "inv 2026 42"), index, rule)
        self.assertEqual(second.action, "reconcile")
        self.assertFalse(second.partial_amounts, "the rest pays the invoice off")
        self.assertEqual(second.explanation, "reference INV/2026/00042 in the label; amount equal")
        index.settle(second)
        third = match(line("60.00", "inv 2026 42"), index, rule)
        self.assertEqual(third.action, "none", "an invoice paid off is never paid again")

    def test_partial_payments_need_the_rule_and_a_single_invoice(self):
        index = OpenItemIndex(
            [item(1, "INV/2026/00042", "100.00"), item(2, "INV/2026/00043", "50.00")]
        )
        decision = match(line("40.00", "INV/2026/00042"), index, Rule())
        self.assertEqual((decision.action, decision.amount_agrees), ("propose", False))
        decision = match(line("40.00", "INV/2026/42 INV/2026/43"), index, Rule(allow_partial=True))
        self.assertEqual(decision.action, "propose", "which invoice the part pays is a guess")
        decision = match(line("-40.00", "INV/2026/00042"), index, Rule(allow_partial=True))
        self.assertEqual(decision.action, "propose", "money out never pays a customer invoice")

    def test_payer_known_by_account_must_agree_before_anything_is_written_off(self):
        index = OpenItemIndex([item(1, "INV/2026/00042", "100.00", partner=7)])
        rule = Rule(allow_partial=True, amount_tolerance=Decimal("2.00"))
        other = BankLine(1, Decimal("40.00"), "EUR", ("INV/2026/42",), 8, partner_source="account")
        decision = match(other, index, rule)
        self.assertEqual(decision.action, "propose")
        self.assertIn("paid by another partner", decision.explanation)
        fee = BankLine(1, Decimal("99.00"), "EUR", ("INV/2026/42",), 8, partner_source="account")
        self.assertEqual(match(fee, index, rule).action, "propose")
        exact = BankLine(1, Decimal("100.00"), "EUR", ("INV/2026/42",), 8, partner_source="account")
        self.assertEqual(match(exact, index, rule).action, "reconcile", "reference and amount")
        same = BankLine(1, Decimal("99.00"), "EUR", ("INV/2026/42",), 7, partner_source="account")
        decision = match(same, index, rule)
        self.assertEqual((decision.action, decision.difference), ("reconcile", Decimal("-1.00")))
        self.assertIn("partner equal (found by the counterparty account)", decision.explanation)

    def test_unique_partner_and_amount_reconciles_when_the_rule_says_so(self):
        index = OpenItemIndex(
            [
                item(1, "INV/2026/00001", "120.00", partner=7),
                item(2, "INV/2026/00002", "99.00", partner=7),
                item(3, "INV/2026/00003", "99.00", partner=7),
            ]
        )
        rule = Rule(auto_partner_amount=True)
        paid = BankLine(1, Decimal("120.00"), "EUR", ("transfer",), 7, partner_source="account")
        decision = match(paid, index, rule)
        self.assertEqual(decision.action, "reconcile")
        self.assertIn("the partner's only open item of this amount", decision.explanation)
        self.assertEqual(match(paid, index, Rule()).action, "propose")
        twins = BankLine(1, Decimal("99.00"), "EUR", ("transfer",), 7, partner_source="account")
        self.assertEqual(match(twins, index, rule).action, "ambiguous")
        both = BankLine(1, Decimal("198.00"), "EUR", ("transfer",), 7, partner_source="account")
        self.assertEqual(match(both, index, rule).action, "propose", "a sum is never sure")

    def test_stages_keep_amounts_away_from_referenced_items(self):
        index = OpenItemIndex([item(1, "INV/2026/00001", "120.00", partner=7)])
        rule = Rule(auto_partner_amount=True)
        by_amount = BankLine(1, Decimal("120.00"), "EUR", ("transfer",), 7, partner_source="name")
        self.assertEqual(match(by_amount, index, rule, ("reference",)).action, "none")
        by_reference = match(line("120.00", "INV/2026/1"), index, rule, ("reference",))
        index.settle(by_reference)
        self.assertEqual(match(by_amount, index, rule, ("partner_amount",)).action, "none")

    def test_a_partner_with_many_open_items_still_pays_one_by_its_amount(self):
        items = [item(i, f"INV/2026/{i:05d}", f"{100 + i}.00", partner=7) for i in range(1, 31)]
        index = OpenItemIndex(items)
        paid = BankLine(1, Decimal("117.00"), "EUR", ("transfer",), 7, partner_source="account")
        decision = match(paid, index, Rule(auto_partner_amount=True))
        self.assertEqual(decision.action, "reconcile")
        self.assertEqual([i.id for i in decision.items], [17])
        two = BankLine(1, Decimal("1.00"), "EUR", ("transfer",), 7, partner_source="account")
        self.assertEqual(match(two, index, Rule()).action, "none", "sums over 30 items: not tried")


@tagged("post_install", "-at_install")
class TestNeverOnAGuess(BaseCase):
    def test_a_reference_not_open_as_written_is_only_a_proposal(self):
        index = OpenItemIndex([item(1, "INV/2026/00566", "250.00", partner=7)])
        rule = Rule(auto_partner_amount=True)
        for label in ("INV/2027/00566", "BILL/2026/00566"):
            decision = match(line("250.00", label), index, rule)
            self.assertEqual(decision.action, "propose", label)
            self.assertEqual([i.id for i in decision.items], [1])
        decision = match(line("250.00", "Payment INV/2027/00566", partner=7), index, rule)
        self.assertEqual(decision.action, "propose")
        self.assertIn(
            "reference INV-2027-566 in the label is not open as written: INV/2026/00566 "
            "differs (year 2027 instead of 2026)",
            decision.explanation,
        )
        # As people write it (case, separators, leading zeros) it still reconciles.
        decision = match(line("250.00", "inv 2026.566"), index, rule)
        self.assertEqual(decision.action, "reconcile")

    def test_remittance_naming_some_invoices_is_completed_by_the_only_set(self):
        items = [
            item(1, "INV/2026/00001", "100.00", partner=7),
            item(2, "INV/2026/00002", "30.00", partner=7),
            item(3, "INV/2026/00003", "20.00", partner=7),
            item(4, "INV/2026/00004", "45.00", partner=7),
            item(5, "INV/2026/00005", "50.00", partner=8),
        ]
        # 150 = 100 named + 30 + 20 (the only set of the partner making up 50).
        decision = match(line("150.00", "INV/2026/00001", partner=7), OpenItemIndex(items), Rule())
        self.assertEqual(decision.action, "reconcile")
        self.assertEqual(sorted(i.id for i in decision.items), [1, 2, 3])
        self.assertIn("completed with INV/2026/00002, INV/2026/00003", decision.explanation)

    def test_two_sets_making_up_the_rest_are_ambiguous(self):
        items = [
            item(1, "INV/2026/00001", "100.00", partner=7),
            item(2, "INV/2026/00002", "30.00", partner=7),
            item(3, "INV/2026/00003", "30.00", partner=7),
        ]
        decision = match(line("130.00", "INV/2026/00001", partner=7), OpenItemIndex(items), Rule())
        self.assertEqual(decision.action, "ambiguous")
        self.assertIn("2 sets of the partner's open items make up the rest", decision.explanation)

    def test_no_set_making_up_the_rest_stays_as_before(self):
        items = [
            item(1, "INV/2026/00001", "100.00", partner=7),
            item(2, "INV/2026/00002", "33.00", partner=7),
        ]
        decision = match(line("130.00", "INV/2026/00001", partner=7), OpenItemIndex(items), Rule())
        self.assertEqual(decision.action, "propose")
        self.assertEqual([i.id for i in decision.items], [1])
        # Without automatic reconciliation the only set is a proposal.
        items.append(item(3, "INV/2026/00003", "30.00", partner=7))
        decision = match(
            line("130.00", "INV/2026/00001", partner=7),
            OpenItemIndex(items),
            Rule(auto_reconcile=False),
        )
        self.assertEqual(decision.action, "propose")
        self.assertEqual(sorted(i.id for i in decision.items), [1, 3])
