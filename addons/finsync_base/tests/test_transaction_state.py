from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..tools.canonical import parse_canonical
from .common import FinsyncCommon


@tagged("post_install", "-at_install")
class TestTransactionStateMachine(FinsyncCommon):
    def _transaction(self, state="initiated", ext="TX-1"):
        event = self._ingest(self._payload((ext, "100.00", state)))
        event._process()
        return event.transaction_ids

    def test_legal_path_is_tracked_with_who_when_why(self):
        tx = self._transaction()
        self.assertEqual(tx.state, "initiated")
        tx.with_user(self.accountant_user)._transition("acknowledged", reason="Bank accepted")
        tx.with_user(self.accountant_user)._transition("settled", reason="Booked")
        tx._transition("reconciled", reason="Matched INV/1")
        tx._transition("settled", reason="Undo: wrong invoice")
        history = tx.transition_ids.sorted("id")
        self.assertEqual(
            [(h.from_state, h.to_state) for h in history],
            [
                (False, "initiated"),
                ("initiated", "acknowledged"),
                ("acknowledged", "settled"),
                ("settled", "reconciled"),
                ("reconciled", "settled"),
            ],
        )
        self.assertEqual(history[1].user_id, self.accountant_user)
        self.assertEqual(history[1].reason, "Bank accepted")
        self.assertTrue(all(h.date for h in history))
        self.assertEqual(history[0].event_id, tx.event_id)

    def test_illegal_transition_names_both_states_and_changes_nothing(self):
        tx = self._transaction(state="rejected")
        with self.assertRaises(UserError) as caught:
            tx._transition("settled")
        message = str(caught.exception)
        self.assertIn("Rejected", message)
        self.assertIn("Settled", message)
        self.assertEqual(tx.state, "rejected")
        self.assertEqual(len(tx.transition_ids), 1)

    def test_batch_transition_is_all_or_nothing(self):
        event = self._ingest(self._payload(("A", "1.00", "initiated"), ("B", "2.00", "settled")))
        event._process()
        txs = event.transaction_ids
        with self.assertRaises(UserError):
            txs._transition("acknowledged")
        self.assertEqual(sorted(txs.mapped("state")), ["initiated", "settled"])

    def test_state_cannot_be_written_directly(self):
        tx = self._transaction()
        with self.assertRaises(UserError):
            tx.write({"state": "reconciled"})
        self.assertEqual(tx.state, "initiated")

    def test_ui_button_moves_state(self):
        tx = self._transaction()
        tx.with_user(self.accountant_user).with_context(
            finsync_to_state="settled"
        ).action_transition()
        self.assertEqual(tx.state, "settled")
        self.assertEqual(tx.transition_ids.sorted("id")[-1].user_id, self.accountant_user)

    def test_out_of_order_updates_end_in_the_same_state(self):
        in_order = [("OO-1", "10.00", s) for s in ("initiated", "acknowledged", "settled")]
        shuffled = [in_order[2], in_order[0], in_order[1]]
        for index, row in enumerate(shuffled):
            self._ingest(self._payload(row), external_id=f"delivery-{index}")._process()
        tx = self.env["finsync.transaction"].search(
            [("backend_id", "=", self.backend.id), ("external_id", "=", "OO-1")]
        )
        self.assertEqual(len(tx), 1)
        self.assertEqual(tx.state, "settled")

    def test_one_id_told_twice_in_a_batch_is_merged_in_order(self):
        """A page telling a payment initiated, then accepted: one transaction, both steps."""
        rows = [
            ("TW-1", "-40.00", "initiated"),
            ("TW-2", "15.00", "settled"),
            ("TW-1", "-40.00", "acknowledged"),
            ("TW-2", "15.00", "initiated"),  # stale: TW-2 settled already
            ("TW-1", "-40.00", "settled"),
        ]
        vals_list = []
        for index, row in enumerate(rows):
            (vals,) = parse_canonical(self._payload(row))
            vals_list.append(dict(vals, reason=f"telling {index}"))
        event = self._ingest(self._payload(("TW-0", "1.00")))
        Transaction = self.env["finsync.transaction"]
        created = Transaction._upsert_canonical(event, vals_list)
        self.assertEqual(sorted(created.mapped("external_id")), ["TW-1", "TW-2"])
        first, second = created.sorted("external_id")
        self.assertEqual((first.state, second.state), ("settled", "settled"))
        history = first.transition_ids.sorted("id")
        self.assertEqual(history.mapped("to_state"), ["initiated", "acknowledged", "settled"])
        self.assertEqual(history[1:].mapped("reason"), ["telling 2", "telling 4"])
        self.assertEqual(second.transition_ids.mapped("to_state"), ["settled"])
        # A later batch telling a known id twice moves it from where it is.
        again = [dict(vals_list[1], state="reconciled"), dict(vals_list[1], state="reversed")]
        self.assertFalse(Transaction._upsert_canonical(event, again))
        self.assertEqual(second.state, "reversed")
        self.assertEqual(
            second.transition_ids.sorted("id").mapped("to_state"),
            ["settled", "reconciled", "reversed"],
        )

    def test_amounts_are_exact_and_net_of_fee(self):
        payload = self._payload(("FEE-1", "100.10"))
        payload = payload.replace('"amount": "100.10"', '"amount": "100.10", "fee": "2.95"')
        event = self._ingest(payload)
        event._process()
        tx = event.transaction_ids
        self.assertEqual(tx.currency_id.compare_amounts(tx.net_amount, 97.15), 0)
        self.assertEqual(tx.currency_id.compare_amounts(tx.amount_company_currency, 100.10), 0)
        self.assertEqual(tx.counterparty_account_masked, "****6769")


@tagged("post_install", "-at_install")
class TestBulkCreate(FinsyncCommon):
    def test_bulk_rows_equal_orm_rows(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        self.env["res.currency.rate"].create(
            {"name": "2026-01-01", "rate": 0.5, "currency_id": eur.id}
        )
        base = {
            "backend_id": self.backend.id,
            "company_id": self.env.company.id,
            "kind": "bank_credit",
            "state": "settled",
            "currency_id": eur.id,
            "amount": 100.005,
            "fee_amount": 1.1,
            "booking_date": "2026-01-15",
            "counterparty_name": "Deco Addict",
            "counterparty_account": "BE71096123456769",
            "remittance": "INV/2026/00007",
            "value_date": False,
        }
        orm = self.env["finsync.transaction"]._create_from_source([dict(base, external_id="ORM-1")])
        bulk = self.env["finsync.transaction"]._create_bulk([dict(base, external_id="BULK-1")])
        compared = [
            "kind",
            "state",
            "amount",
            "fee_amount",
            "net_amount",
            "amount_company_currency",
            "counterparty_account_masked",
            "booking_date",
            "value_date",
            "remittance",
            "company_id",
        ]
        self.assertEqual(orm.read(compared)[0] | {"id": 0}, bulk.read(compared)[0] | {"id": 0})
        self.assertEqual(bulk.name, f"{self.backend.name}/BULK-1")
        self.assertEqual(bulk.transition_ids.to_state, "settled")
        self.assertEqual(bulk.transition_ids.user_id, self.env.user)
        company_currency = self.env.company.currency_id
        self.assertEqual(
            company_currency.compare_amounts(bulk.amount_company_currency, bulk.amount / 0.5), 0
        )

    def test_bulk_refuses_unknown_fields_and_checks_rights(self):
        with self.assertRaises(UserError):
            self.env["finsync.transaction"]._create_bulk([{"name": "x"}])
        with self.assertRaises(AccessError):
            self.env["finsync.transaction"].with_user(self.user_user)._create_bulk(
                [{"backend_id": self.backend.id}]
            )
