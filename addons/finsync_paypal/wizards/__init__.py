from . import finsync_paypal_import
