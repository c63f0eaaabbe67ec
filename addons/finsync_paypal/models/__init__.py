from . import (
    account_bank_statement_line,
    finsync_backend,
    finsync_event,
    finsync_matching,
    finsync_paypal_settlement,
    finsync_transaction,
)
