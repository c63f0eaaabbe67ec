import logging

from odoo import models

from odoo.addons.finsync_base.models.finsync_event import CONCURRENCY_ERRORS
from odoo.addons.queue_job.exception import RetryableJobError

_logger = logging.getLogger(__name__)


class GatewayBatch:
    """What the gateway events processed together leave to post at the end.

    ``_gateway_apply`` hands each event's transactions here instead of posting
    them (see ``FinsyncEvent._process``); ``post`` then books them all at once.
    Compared by identity, so an environment whose context holds it is found again.
    """

    def __init__(self):
        self.told = []  # (transactions, {external id: vals}) per event, in order

    def post(self, env):
        """Book every told transaction once, then sync the payouts in one go.

        A transaction told by several events is synced with the last telling,
        as ``_gateway_apply`` does within one event (the gateway's objects are
        snapshots).
        """
        transactions = env["finsync.transaction"].union(*(txs for txs, _by_id in self.told))
        transactions = transactions.with_env(env)
        transactions._gateway_post()
        by_id = {}
        for _txs, told in self.told:
            by_id.update(told)
        env["finsync.settlement"]._gateway_sync_payouts(
            transactions.filtered(lambda tx: tx.kind == "payout"), by_id
        )


class FinsyncEvent(models.Model):
    _inherit = "finsync.event"

    def _process(self):
        """Several events at once: their statement lines are booked together at the end.

        Booking in one go lets a storm of webhook events use the set-based
        posting and one matching pass instead of a posting per event. All of it
        happens in a savepoint; when the joint booking fails, the events are
        processed again one by one, each booked as it is processed, so a bad
        event fails alone as it would in its own job. Lost races still
        propagate: the job is retried.
        """
        if len(self) < 2 or "finsync_gateway_batch" in self.env.context:
            return super()._process()
        batch = GatewayBatch()
        try:
            with self.env.cr.savepoint():
                together = self.with_context(finsync_gateway_batch=batch)
                result = super(FinsyncEvent, together)._process()
                batch.post(self.env)
                self.env.flush_all()
            return result
        except (RetryableJobError, *CONCURRENCY_ERRORS):
            raise
        except Exception as err:  # noqa: BLE001 - retried one by one below
            _logger.info(
                "FinSync events %s: booking them together failed (%s), one by one instead",
                self.ids[:10],
                type(err).__name__,
            )
        self.env.invalidate_all()
        return super(FinsyncEvent, self.with_context(finsync_gateway_batch=None))._process()

    def _process_payload(self):
        """An event that fails forgets what it left to book together (its savepoint is gone)."""
        batch = self.env.context.get("finsync_gateway_batch")
        told = len(batch.told) if batch else 0
        try:
            return super()._process_payload()
        except Exception:
            if batch:
                del batch.told[told:]
            raise
