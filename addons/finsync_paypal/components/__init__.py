from . import paypal_connector
