"""finsync.settlement moved to finsync_gateway; Stripe's accounts became the gateway's.

Runs before this version's fields replace the old ones (whose columns Odoo then
drops): the accounts are copied to finsync_gateway's fields, and the existing
clearing journals of Stripe connectors are flagged as gateway clearing journals.
"""

from odoo.tools import SQL
from odoo.tools.sql import column_exists


def migrate(cr, version):
    if not version or not column_exists(cr, "finsync_backend", "gateway_fee_account_id"):
        return
    if column_exists(cr, "finsync_backend", "stripe_fee_account_id"):
        cr.execute(
            SQL(
                "UPDATE finsync_backend SET "
                "gateway_fee_account_id = COALESCE(gateway_fee_account_id, stripe_fee_account_id), "
                "gateway_dispute_account_id = "
                "COALESCE(gateway_dispute_account_id, stripe_dispute_account_id), "
                "gateway_transit_account_id = "
                "COALESCE(gateway_transit_account_id, stripe_transit_account_id) "
                "WHERE backend_type = 'stripe'"
            )
        )
    cr.execute(
        SQL(
            "UPDATE account_journal SET finsync_gateway_clearing = TRUE "
            "WHERE type = 'bank' AND id IN "
            "(SELECT r.account_journal_id FROM account_journal_finsync_backend_rel r "
            "JOIN finsync_backend b ON b.id = r.finsync_backend_id WHERE b.backend_type = 'stripe')"
        )
    )
