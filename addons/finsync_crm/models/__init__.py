from . import (
    finsync_backend,
    finsync_backend_demo,
    finsync_crm_binding,
    finsync_crm_binding_match,
    finsync_crm_binding_sync,
    finsync_exception,
)
from . import finsync_backend_deals, finsync_crm_deal, finsync_crm_writeback
from . import finsync_exception_deals
from . import finsync_crm_binding_bulk
from . import finsync_crm_partner_bulk
