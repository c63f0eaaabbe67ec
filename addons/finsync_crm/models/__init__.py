from . import finsync_backend, finsync_crm_binding, finsync_exception
