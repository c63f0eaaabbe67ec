from . import (
    account_bank_statement_line,
    account_journal,
    finsync_backend,
    finsync_bank_import,
    finsync_event,
    finsync_settlement,
    finsync_transaction,
)
