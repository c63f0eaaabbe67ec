"""Remote bank APIs: a session and credentials in, raw payloads out. No Odoo imports."""
