"""Write-off requests keep what they were computed from, checked at approval.

Requests still waiting get the bank line's amount and each item's open amount
as they are now, so that approving them checks against today's ledger instead
of refusing them all (the new columns would be empty).
"""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            """
            UPDATE finsync_writeoff_request request
               SET requested_line_amount = line.amount
              FROM account_bank_statement_line line
             WHERE line.id = request.statement_line_id
               AND request.state = 'requested'
               AND request.requested_line_amount IS NULL
            """
        )
    )
    cr.execute(
        SQL(
            """
            UPDATE finsync_writeoff_request_line item
               SET requested_residual = aml.amount_residual_currency
              FROM account_move_line aml, finsync_writeoff_request request
             WHERE aml.id = item.move_line_id
               AND request.id = item.request_id
               AND request.state = 'requested'
               AND item.requested_residual IS NULL
            """
        )
    )
