from . import finsync_close_reason_wizard
