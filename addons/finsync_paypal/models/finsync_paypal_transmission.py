import datetime

from odoo import api, fields, models
from odoo.tools import SQL

# Rows older than this are forgotten: a transmission that old is refused by its
# time already (the tolerance is capped far below it).
KEEP_DAYS = 7


class FinsyncPaypalTransmission(models.Model):
    """A PayPal transmission id a connector accepted: each is accepted once.

    PayPal's signature covers a CRC32 of the body only, so a captured delivery's
    headers could carry another body of the same CRC32; the used id makes that
    replay fail. Written by the webhook endpoint in the transaction that stores
    the event, read by nobody else.
    """

    _name = "finsync.paypal.transmission"
    _description = "PayPal Webhook Transmission"
    _log_access = False

    backend_id = fields.Many2one("finsync.backend", required=True, ondelete="cascade", index=False)
    transmission_id = fields.Char(required=True)
    received_at = fields.Datetime(required=True, default=fields.Datetime.now)

    _sql_constraints = [
        (
            "transmission_unique",
            "UNIQUE(backend_id, transmission_id)",
            "A PayPal transmission id is accepted once per connector.",
        ),
    ]

    @api.model
    def _claim(self, backend, transmission_id):
        """Record ``transmission_id`` as used by ``backend``; False when it already was.

        One statement: a concurrent delivery of the same id waits for this
        transaction and then finds the row (no unique violation to retry).
        """
        self.env.cr.execute(
            SQL(
                "INSERT INTO finsync_paypal_transmission (backend_id, transmission_id, received_at)"
                " VALUES (%s, %s, %s) ON CONFLICT (backend_id, transmission_id) DO NOTHING"
                " RETURNING id",
                backend.id,
                transmission_id,
                fields.Datetime.now(),
            )
        )
        return bool(self.env.cr.fetchone())

    @api.autovacuum
    def _gc_transmissions(self):
        limit = fields.Datetime.now() - datetime.timedelta(days=KEEP_DAYS)
        self.search([("received_at", "<", limit)]).unlink()
