from . import (
    finsync_backend,
    finsync_backend_demo,
    finsync_crm_binding,
    finsync_crm_binding_match,
    finsync_crm_binding_sync,
    finsync_exception,
)
