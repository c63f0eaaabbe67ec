import base64
import json
from datetime import date, timedelta

from lxml import etree

from odoo import fields
from odoo.tests import tagged

from .common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestExceptionScreens(FinsyncCommon):
    """The backlog shows each exception's money, date, partner and age, and sorts by them."""

    def _exception(self, transactions=None, **vals):
        return self.env["finsync.exception"].create(
            {
                "name": "No invoice for payment",
                "exception_type": "unmatched",
                "transaction_ids": [(6, 0, transactions.ids)] if transactions else [],
                **vals,
            }
        )

    def test_amount_date_and_partner_come_from_the_transactions(self):
        payload = json.loads(self._payload(("SCR-1", "120.50"), ("SCR-2", "-20.25")))
        payload["transactions"][1]["booking_date"] = "2026-01-10"
        event = self._ingest(json.dumps(payload))
        event._process()
        txs = event.transaction_ids
        partner = self.env["res.partner"].create({"name": "Azure Interior"})
        txs.partner_id = partner
        exc = self._exception(txs)
        self.assertEqual(exc.currency_id, self.env.company.currency_id)
        self.assertEqual(exc.currency_id.compare_amounts(exc.amount, 100.25), 0)
        self.assertEqual(exc.transaction_date, date(2026, 1, 10))
        self.assertEqual(exc.partner_id, partner)
        self.assertEqual(exc.counterparty_name, "Azure Interior")
        # Stored: the list sorts, filters and groups by them.
        found = self.env["finsync.exception"].search(
            [("partner_id", "=", partner.id), ("amount", ">", 100)]
        )
        self.assertEqual(found, exc)
        groups = self.env["finsync.exception"]._read_group(
            [("id", "=", exc.id)], ["partner_id", "transaction_date:month"], ["amount:sum"]
        )
        self.assertEqual(len(groups), 1)
        self.assertEqual(groups[0][0], partner)
        # A transaction changing updates the exception.
        other = self.env["res.partner"].create({"name": "Deco Addict"})
        txs.partner_id = other
        self.assertEqual(exc.partner_id, other)
        empty = self._exception()
        self.assertFalse(empty.amount)
        self.assertFalse(empty.transaction_date)
        self.assertFalse(empty.partner_id)

    def test_age_in_days_is_searchable(self):
        old = self._exception(name="old")
        new = self._exception(name="new")
        # create_date comes from the database clock: open "old" ten days ago there.
        self.env.cr.execute(
            "UPDATE finsync_exception SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(days=10, hours=1), old.id),
        )
        old.invalidate_recordset(["create_date"])
        self.assertEqual(old.age_days, 10)
        self.assertEqual(new.age_days, 0)
        Exception_ = self.env["finsync.exception"]
        scope = [("id", "in", (old | new).ids)]
        self.assertEqual(Exception_.search([*scope, ("age_days", ">=", 7)]), old)
        self.assertEqual(Exception_.search([*scope, ("age_days", "<", 7)]), new)
        self.assertEqual(Exception_.search([*scope, ("age_days", "=", 10)]), old)

    def test_cards_and_list_show_amount_date_partner_and_age(self):
        Exception_ = self.env["finsync.exception"].with_user(self.user_user)
        for view_type in ("kanban", "list"):
            arch = etree.fromstring(Exception_.get_view(view_type=view_type)["arch"])
            shown = {
                node.get("name")
                for node in arch.xpath("//field")
                if node.get("column_invisible") not in ("True", "1")
                and node.get("invisible") not in ("True", "1")
                and node.get("optional") != "hide"
            }
            for name in ("amount", "transaction_date", "partner_id", "age_days"):
                self.assertIn(name, shown, f"{view_type} shows {name}")
            self.assertTrue(arch.xpath("//field[@name='currency_id']"), view_type)
        kanban = Exception_.get_view(view_type="kanban")["arch"]
        self.assertIn("Open for 1 day<", kanban, "no '1 days' on a card")
        self.assertIn('name="counterparty_name"', kanban, "the payer until a partner is known")
        search = etree.fromstring(Exception_.get_view(view_type="search")["arch"])
        grouped = {f.get("context") for f in search.xpath("//filter[@context]")}
        self.assertIn("{'group_by': 'partner_id'}", grouped)

    def test_close_wizard_counts_in_a_proper_sentence(self):
        one = self._exception(name="one")
        two = self._exception(name="two")
        Resolve = self.env["finsync.exception.resolve"].with_user(self.accountant_user)
        wizard = Resolve.new({"exception_ids": [(6, 0, one.ids)]})
        self.assertEqual(wizard.summary, "1 open exception will be closed.")
        wizard = Resolve.new({"exception_ids": [(6, 0, (one | two).ids)]})
        self.assertEqual(wizard.summary, "2 open exceptions will be closed.")
        arch = Resolve.get_view(view_type="form")["arch"]
        self.assertNotIn("(s)", arch)

    def test_file_import_counts_in_proper_sentences(self):
        wizard = (
            self.env["finsync.generic.import"]
            .with_user(self.accountant_user)
            .create(
                {
                    "backend_id": self.backend.id,
                    "data_file": base64.b64encode(self._payload(("ONE-1", "10.00")).encode()),
                    "filename": "one.json",
                }
            )
        )
        wizard.action_preview()
        wizard.action_import()
        self.assertEqual(wizard.state, "done", wizard.message)
        self.assertEqual(wizard.message, "1 transaction read from one.json.")
        events = wizard.event_id
        base = self.env["finsync.file.import"]
        self.assertEqual(base._prepare_done_vals(events, events, [])["message"], "1 file imported.")
        self.assertEqual(
            base._prepare_done_vals(events, events.browse(), [])["message"],
            "0 files imported, 1 already imported.",
        )
