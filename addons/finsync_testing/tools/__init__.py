"""Simulators, generators and benchmark data: no Odoo imports, never used by production code."""
