import json

import psycopg2

from odoo import models
from odoo.exceptions import UserError

from odoo.addons.queue_job.exception import RetryableJobError

from ..adapters import stripe_mapper


class FinsyncEvent(models.Model):
    _inherit = "finsync.event"

    def _process_payload_stripe(self):
        """A webhook event or a pulled page of balance transactions: transactions and entries.

        A delivery that loses a unique-key race to a concurrent one (the same
        charge told by two events at once) is retried by its job; it then
        finds the transaction and changes only what it adds.
        """
        try:
            document = json.loads(self._get_raw_payload())
        except ValueError as err:
            raise UserError(
                self.env._("Event %(name)s: the payload is not JSON.", name=self.name)
            ) from err
        try:
            if self.event_type in ("balance_transactions", "payout_transactions"):
                vals_list = [
                    stripe_mapper.map_balance_transaction(bt, f"data[{index}]")
                    for index, bt in enumerate(document.get("data") or [])
                ]
            else:
                vals_list = stripe_mapper.map_event(document)
        except (stripe_mapper.StripeMappingError, KeyError, TypeError) as err:
            raise UserError(
                self.env._("Event %(name)s: %(problem)s", name=self.name, problem=str(err))
            ) from err
        try:
            with self.env.cr.savepoint():
                return self.env["finsync.transaction"]._gateway_apply(self, vals_list, "stripe")
        except psycopg2.errors.UniqueViolation as err:
            raise RetryableJobError(
                self.env._("Event %(name)s raced another delivery", name=self.name), seconds=2
            ) from err
