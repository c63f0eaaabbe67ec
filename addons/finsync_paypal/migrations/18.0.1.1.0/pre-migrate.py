"""PayPal's payouts, accounts and webhook settings moved to finsync_gateway.

Runs before this version's fields replace the old ones (whose columns Odoo then
drops): PayPal payouts (``finsync.paypal.settlement``) are copied into
``finsync.settlement`` with their transactions' links, the accounts, grace days,
webhook size limit and refusal counter into finsync_gateway's fields, and the
existing clearing journals of PayPal connectors are flagged.
"""

from odoo.tools import SQL
from odoo.tools.sql import column_exists, table_exists


def migrate(cr, version):
    if not version or not column_exists(cr, "finsync_backend", "gateway_fee_account_id"):
        return
    if column_exists(cr, "finsync_backend", "paypal_fee_account_id"):
        cr.execute(
            SQL(
                "UPDATE finsync_backend SET "
                "gateway_fee_account_id = COALESCE(gateway_fee_account_id, paypal_fee_account_id), "
                "gateway_dispute_account_id = "
                "COALESCE(gateway_dispute_account_id, paypal_dispute_account_id), "
                "gateway_transit_account_id = "
                "COALESCE(gateway_transit_account_id, paypal_transit_account_id), "
                "settlement_grace_days = COALESCE(paypal_settlement_grace_days, 5), "
                "webhook_max_kb = COALESCE(paypal_webhook_max_kb, 512), "
                "webhook_rejected_count = COALESCE(webhook_rejected_count, 0) "
                "+ COALESCE(paypal_webhook_rejected_count, 0) "
                "WHERE backend_type = 'paypal'"
            )
        )
    cr.execute(
        SQL(
            "UPDATE account_journal SET finsync_gateway_clearing = TRUE "
            "WHERE type = 'bank' AND id IN "
            "(SELECT r.account_journal_id FROM account_journal_finsync_backend_rel r "
            "JOIN finsync_backend b ON b.id = r.finsync_backend_id WHERE b.backend_type = 'paypal')"
        )
    )
    if not table_exists(cr, "finsync_paypal_settlement"):
        return
    cr.execute(
        SQL(
            """
            INSERT INTO finsync_settlement (
                name, backend_id, company_id, currency_id, payout_transaction_id, payout_date,
                expected_date, bank_reference, amount, transaction_count, gross_amount,
                fee_amount, net_amount, difference, state, bank_line_id, days_late,
                aging_bucket, composition_loaded, create_uid, create_date, write_uid, write_date
            )
            SELECT name, backend_id, company_id, currency_id, payout_transaction_id, payout_date,
                expected_date, bank_reference, amount, transaction_count, gross_amount,
                fee_amount, net_amount, amount - net_amount, state, bank_line_id, days_late,
                aging_bucket, FALSE, create_uid, create_date, write_uid, write_date
            FROM finsync_paypal_settlement
            ON CONFLICT (backend_id, name) DO NOTHING
            """
        )
    )
    if column_exists(cr, "finsync_transaction", "paypal_settlement_id"):
        cr.execute(
            SQL(
                """
                UPDATE finsync_transaction t SET settlement_id = s.id
                FROM finsync_paypal_settlement ps
                JOIN finsync_settlement s ON s.backend_id = ps.backend_id AND s.name = ps.name
                WHERE t.paypal_settlement_id = ps.id AND t.settlement_id IS NULL
                """
            )
        )
