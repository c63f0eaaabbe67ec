from odoo import api, models

from odoo.addons.finsync_base.models.job_retry import retry_later
from odoo.addons.queue_job.job import identity_exact

from ..adapters.stripe_api import StripeApiError, StripeTransientError
from ..adapters.stripe_mapper import map_balance_transaction
from ..components.stripe_connector import STRIPE_CHANNEL


class FinsyncSettlement(models.Model):
    """Stripe payouts: created from payout balance transactions, and what each paid out
    read from Stripe (a payout pays out exactly its balance transactions)."""

    _inherit = "finsync.settlement"

    # ------------------------------------------------------------------
    # From Stripe
    # ------------------------------------------------------------------
    @api.model
    def _gateway_sync_payouts(self, payouts, by_id):
        mine = payouts.filtered(lambda tx: tx.backend_id.backend_type == "stripe")
        return super()._gateway_sync_payouts(payouts - mine, by_id) | self._stripe_sync_payouts(
            mine, by_id
        )

    @api.model
    def _stripe_sync_payouts(self, payouts, by_id):
        """Create or update the settlement of each Stripe payout transaction (one per payout)."""
        if not payouts:
            return self.browse()
        payout_ids = {
            vals["stripe"]["payout"] or tx.external_id.split(":")[0]
            for tx in payouts
            for vals in [by_id[tx.external_id]]
        }
        existing = {
            (s.backend_id.id, s.name): s
            for s in self.search(
                [("backend_id", "in", payouts.backend_id.ids), ("name", "in", list(payout_ids))]
            )
        }
        to_create = []
        for tx in payouts:
            stripe = by_id[tx.external_id]["stripe"]
            payout_id = stripe["payout"] or tx.external_id.split(":")[0]
            settlement = existing.get((tx.backend_id.id, payout_id))
            failed = tx.external_id.endswith(":failed") or tx.state == "rejected"
            if not settlement:
                if tx.external_id.endswith(":failed"):
                    continue  # the payout itself will bring its settlement
                to_create.append(self._stripe_prepare_settlement(tx, stripe, payout_id))
                continue
            updates = {}
            if stripe["arrival_date"]:
                updates["expected_date"] = stripe["arrival_date"]
            if stripe["payout_status"]:
                updates["gateway_status"] = stripe["payout_status"]
            if failed and settlement.state == "in_transit":
                updates["state"] = "failed"
            if not settlement.payout_transaction_id and not tx.external_id.endswith(":failed"):
                updates["payout_transaction_id"] = tx.id
            if updates:
                settlement.write(updates)
        created = self.create(to_create)
        for settlement in created:
            settlement.payout_transaction_id.settlement_id = settlement
        if not self.env.context.get("finsync_stripe_reads_payouts"):
            # A pull reads the payouts' transactions itself; a webhook asks a job to.
            created.filtered(lambda s: s.backend_id._get_secret("api_key"))._enqueue_composition()
        (created | self.browse([s.id for s in existing.values()])).filtered(
            lambda s: s.state == "paid"
        )._reconcile_bank_line()
        return created

    @api.model
    def _stripe_prepare_settlement(self, tx, stripe, payout_id):
        return {
            "name": payout_id,
            "backend_id": tx.backend_id.id,
            "company_id": tx.company_id.id,
            "currency_id": tx.currency_id.id,
            "payout_transaction_id": tx.id,
            "payout_date": tx.booking_date,
            "expected_date": stripe["arrival_date"] or tx.value_date or tx.booking_date,
            "gateway_status": stripe["payout_status"],
            "amount": -tx.amount,
            "state": "failed" if tx.state == "rejected" else "in_transit",
        }

    def _load_composition(self, client):
        """Read each payout's balance transactions from Stripe and link them.

        The pages are stored and processed like pulled ones (creating what was
        not known yet); then the settlement checks that its transactions add up.
        """
        for settlement in self:
            for page in client.balance_transaction_pages(payout=settlement.name):
                settlement._link_page(page)
            settlement.composition_loaded = True
        self._check_totals()

    def _enqueue_composition(self):
        for settlement in self:
            settlement.with_delay(
                channel=STRIPE_CHANNEL,
                description=self.env._(
                    "Read the transactions of payout %(name)s", name=settlement.name
                ),
                identity_key=identity_exact,
                max_retries=settlement.backend_id.max_attempts,
            )._load_composition_job()

    def _load_composition_job(self):
        """Job: read from Stripe what each payout paid out (connectors with an API key).

        Throttling and outages are retried with backoff (``job_retry``); a refusal
        or the last failed attempt opens a ``sync_failed``
        exception on the connector, as a refused pull does.
        """
        todo = self.filtered(lambda s: not s.composition_loaded)
        for backend in todo.backend_id:
            connector = backend._connector()
            try:
                client = connector.client()
                todo.filtered(lambda s, b=backend: s.backend_id == b)._load_composition(client)
            except StripeTransientError as err:
                # Again after a backoff; after the last attempt, an exception says so.
                return backend._pull_gave_up(retry_later(self.env, err), err)
            except StripeApiError as err:
                return backend._pull_failed(connector, str(err))
        return self.env._("%(count)s payouts read", count=len(todo))

    def _link_page(self, page):
        """Store a page of this payout's balance transactions and link them to it."""
        self.ensure_one()
        if not page.get("data"):
            self.composition_loaded = True
            return
        self.backend_id._connector().store_page(page, "payout_transactions")
        external_ids = [map_balance_transaction(bt)["external_id"] for bt in page["data"]]
        self.env["finsync.transaction"].search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("external_id", "in", external_ids),
                ("kind", "!=", "payout"),
            ]
        ).write({"settlement_id": self.id})
        self.composition_loaded = True
