"""The fee of a Stripe transaction moved to finsync_gateway's fields.

Runs before this version drops ``stripe_fee_known`` and ``fee_statement_line_id``
(finsync_gateway, upgraded first, has created ``gateway_fee_known`` and
``gateway_fee_line_id``): their values are copied over.
"""

from odoo.tools import SQL
from odoo.tools.sql import column_exists


def migrate(cr, version):
    if not version or not column_exists(cr, "finsync_transaction", "gateway_fee_line_id"):
        return
    if column_exists(cr, "finsync_transaction", "fee_statement_line_id"):
        cr.execute(
            SQL(
                "UPDATE finsync_transaction SET gateway_fee_known = stripe_fee_known, "
                "gateway_fee_line_id = fee_statement_line_id "
                "WHERE stripe_fee_known OR fee_statement_line_id IS NOT NULL"
            )
        )
