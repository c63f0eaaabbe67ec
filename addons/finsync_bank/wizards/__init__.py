from . import finsync_bank_import
