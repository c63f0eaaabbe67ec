from . import (
    finsync_backend,
    finsync_event,
    finsync_paypal_transmission,
    finsync_settlement,
    finsync_transaction,
)
