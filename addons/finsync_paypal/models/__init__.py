from . import (
    finsync_backend,
    finsync_event,
    finsync_settlement,
    finsync_transaction,
)
