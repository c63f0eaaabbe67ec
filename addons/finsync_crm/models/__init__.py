from . import finsync_backend, finsync_backend_demo, finsync_crm_binding, finsync_exception
