from . import finsync_backend, finsync_crm_deal
