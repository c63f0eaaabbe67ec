"""FinSync's matching engine: plain data in, decisions out. No Odoo imports here."""
