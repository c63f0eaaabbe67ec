from . import stripe_connector
