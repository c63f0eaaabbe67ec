from unittest.mock import patch

from odoo import Command
from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.base.tests.common import DISABLED_MAIL_CONTEXT

from ..models.invoice_bulk import FinsyncInvoiceBulk
from .invoice_snapshot import InvoiceSnapshotMixin


@tagged("post_install", "-at_install")
class TestInvoiceBulk(InvoiceSnapshotMixin, AccountTestInvoicingCommon):
    """The set-based drafts leave the rows ``account.move.create`` leaves."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.untaxed_product = cls._create_product(name="untaxed", lst_price=10.0, taxes_id=[])
        cls.term_30 = cls.env.ref("account.account_payment_term_30days")
        cls.partner_c = cls.env["res.partner"].create(
            {"name": "partner_c", "property_payment_term_id": cls.term_30.id}
        )
        cls.contact_c = cls.env["res.partner"].create(
            {"name": "contact of c", "parent_id": cls.partner_c.id}
        )
        # With the chatter, as a connector creates invoices (the common class turns it off).
        cls.env = cls.env(
            context={
                key: value
                for key, value in cls.env.context.items()
                if key not in DISABLED_MAIL_CONTEXT
            }
        )

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _vals(self, partner, lines, fiscal_position=None, term=None):
        """Values as the CRM connector prepares them (``_crm_document_vals``)."""
        company = self.env.company
        return {
            "move_type": "out_invoice",
            "company_id": company.id,
            "partner_id": partner.id,
            "currency_id": company.currency_id.id,
            "invoice_origin": "Opportunity",
            "fiscal_position_id": fiscal_position.id if fiscal_position else False,
            "invoice_payment_term_id": (term or partner.property_payment_term_id).id,
            "invoice_line_ids": [
                Command.create(
                    {
                        "product_id": product.id,
                        "name": f"{product.name} line",
                        "quantity": quantity,
                        "price_unit": price,
                        "discount": discount,
                    }
                )
                for product, quantity, price, discount in lines
            ],
        }

    def _cases(self):
        """One line; two products (two taxes on one); a discount; no taxes; a fiscal
        position mapping a tax and an account; the partner's payment term, on a contact."""
        return [
            self._vals(self.partner_a, [(self.product_a, 1, 100.0, 0.0)]),
            self._vals(
                self.partner_a,
                [(self.product_a, 3, 10.33, 0.0), (self.product_b, 2, 99.99, 0.0)],
            ),
            self._vals(self.partner_a, [(self.product_a, 1.5, 3.335, 12.5)]),
            self._vals(
                self.partner_a,
                [(self.untaxed_product, 2, 5.0, 0.0), (self.product_a, 7, 0.33, 10.0)],
            ),
            self._vals(self.partner_a, [(self.untaxed_product, 4, 7.5, 0.0)]),
            self._vals(
                self.partner_a,
                [(self.product_a, 2, 40.0, 5.0), (self.product_b, 1, 17.0, 0.0)],
                fiscal_position=self.fiscal_pos_a,
            ),
            self._vals(self.partner_c, [(self.product_a, 1, 1234.56, 2.5)]),
            self._vals(self.contact_c, [(self.product_b, 3, 19.99, 0.0)]),
        ]

    def _create_orm(self, vals_list):
        """Odoo's outcome, one ``create`` per invoice.

        In one ``create`` of many drafts Odoo leaves some invoices due today and
        others due at their payment term's date, by the order its recomputes
        happen to run in; each invoice created alone (and every posted invoice)
        is due at its payment term's date, which is what the fast path writes.
        """
        Move = self.env["account.move"].with_context(default_move_type="out_invoice")
        return Move.union(*(Move.create([vals]) for vals in vals_list))

    def _create_fast(self, vals_list):
        inserted = []
        original = FinsyncInvoiceBulk._insert_invoices

        def spy(bulk, fast_vals, batch):
            inserted.extend(fast_vals)
            return original(bulk, fast_vals, batch)

        with patch.object(FinsyncInvoiceBulk, "_insert_invoices", spy):
            moves = self.env["finsync.invoice.bulk"]._create_drafts(vals_list)
        return moves, inserted

    # ------------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------------
    def test_bulk_drafts_equal_orm_drafts_column_by_column(self):
        cases = self._cases()
        orm_moves = self._create_orm(cases)
        fast_moves, inserted = self._create_fast(cases)
        self.assertEqual(len(inserted), len(cases), "every case takes the set-based path")
        self._assert_same(orm_moves, fast_moves)
        # Sanity of the comparison itself: the cases cover what they claim.
        lines = fast_moves.line_ids
        self.assertIn(self.tax_sale_b, lines.tax_line_id, "the fiscal position mapped a tax")
        self.assertTrue(lines.filtered(lambda line: line.discount))
        self.assertTrue(
            lines.filtered(lambda line: line.display_type == "product" and not line.tax_ids)
        )
        self.assertIn(self.term_30, fast_moves.invoice_payment_term_id)
        self.assertTrue(fast_moves.message_ids, "the creation messages are there")

    def test_without_chatter_context_keys_as_the_orm(self):
        cases = self._cases()[:2]
        for key in ("tracking_disable", "mail_create_nolog", "mail_create_nosubscribe"):
            with self.subTest(key=key):
                env = self.env(context=dict(self.env.context, **{key: True}))
                with patch.object(self, "env", env):
                    orm_moves = self._create_orm(cases)
                    fast_moves, inserted = self._create_fast(cases)
                self.assertEqual(len(inserted), len(cases))
                self._assert_same(orm_moves, fast_moves)

    def test_uncertain_invoices_go_through_the_orm(self):
        """Instalments, a foreign currency, price-included taxes: ``account.move.create``."""
        eur = self.setup_other_currency("EUR")
        included = self.tax_sale_a.copy(
            {"name": "included", "price_include_override": "tax_included"}
        )
        included_product = self._create_product(
            name="included", taxes_id=[Command.set(included.ids)]
        )
        foreign = self._vals(self.partner_a, [(self.product_a, 1, 100.0, 0.0)])
        foreign["currency_id"] = eur.id
        cases = [
            self._vals(self.partner_b, [(self.product_a, 1, 100.0, 0.0)]),
            foreign,
            self._vals(self.partner_a, [(included_product, 1, 115.0, 0.0)]),
            self._vals(self.partner_a, [(self.product_a, 1, 50.0, 0.0)]),
        ]
        orm_moves = self._create_orm(cases)
        fast_moves, inserted = self._create_fast(cases)
        self.assertEqual(inserted, cases[3:], "only the plain invoice is written set-based")
        self._assert_same(orm_moves, fast_moves)
        self.assertEqual(len(fast_moves[0].line_ids.filtered("date_maturity")), 2)

    def test_foreign_override_sends_every_invoice_through_the_orm(self):
        cases = self._cases()[:2]
        with patch(
            "odoo.addons.finsync_base.models.invoice_bulk.foreign_overrides",
            return_value={"other_module": ["account.move.create"]},
        ):
            fast_moves, inserted = self._create_fast(cases)
        self.assertFalse(inserted)
        self._assert_same(self._create_orm(cases), fast_moves)

    def test_bulk_drafts_post_with_odoo_amounts_and_tax_totals(self):
        cases = self._cases()
        orm_moves = self._create_orm(cases)
        fast_moves, _inserted = self._create_fast(cases)
        (orm_moves | fast_moves).write({"invoice_date": "2026-01-15"})
        (orm_moves | fast_moves).action_post()
        for orm, fast in zip(orm_moves, fast_moves, strict=True):
            self.assertEqual(fast.state, "posted")
            for name in (
                "amount_untaxed",
                "amount_tax",
                "amount_total",
                "amount_residual",
                "invoice_date_due",
                "payment_state",
            ):
                self.assertEqual(fast[name], orm[name], name)
            self.assertEqual(fast.tax_totals, orm.tax_totals)
            self.assertEqual(
                sorted(fast.line_ids.mapped(lambda line: (line.account_id.id, line.balance))),
                sorted(orm.line_ids.mapped(lambda line: (line.account_id.id, line.balance))),
            )
