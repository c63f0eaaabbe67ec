"""The fee of a PayPal transaction moved to finsync_gateway's fields.

Runs before this version drops ``paypal_fee_known`` and ``paypal_fee_line_id``
(finsync_gateway, upgraded first, has created ``gateway_fee_known`` and
``gateway_fee_line_id``): their values are copied over.
"""

from odoo.tools import SQL
from odoo.tools.sql import column_exists


def migrate(cr, version):
    if not version or not column_exists(cr, "finsync_transaction", "gateway_fee_line_id"):
        return
    if column_exists(cr, "finsync_transaction", "paypal_fee_line_id"):
        cr.execute(
            SQL(
                "UPDATE finsync_transaction SET gateway_fee_known = paypal_fee_known, "
                "gateway_fee_line_id = paypal_fee_line_id "
                "WHERE paypal_fee_known OR paypal_fee_line_id IS NOT NULL"
            )
        )
