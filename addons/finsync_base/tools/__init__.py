"""Pure helpers of FinSync: no Odoo imports, tested without a database."""
