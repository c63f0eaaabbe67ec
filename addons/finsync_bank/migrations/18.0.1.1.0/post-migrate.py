"""Statement lines' ids depend on the line only (``parsers.base.assign_unique_ids``).

A line with a bank reference was ``<account>:<reference>`` when its reference was
unique in its file; it is now ``<account>:<reference>:<date>:<amount>``. The ids
stored (transactions and their statement lines) are rewritten to the new form so
that a file imported again (or its end-of-day version) finds its lines. Hash ids
(lines without a usable reference) keep their form.
"""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        r"""
        UPDATE finsync_transaction t
           SET external_id = t.external_id || ':'
               || COALESCE(to_char(COALESCE(t.booking_date, t.value_date), 'YYYY-MM-DD'), '')
               || ':' || trim_scale(t.amount)::text
          FROM finsync_backend b
         WHERE b.id = t.backend_id
           AND b.backend_type = 'bank_file'
           AND t.external_id !~ '^[0-9a-f]{24}-[0-9]+$'
        """
    )
    # Statement lines carry their transaction's id.
    cr.execute(
        """
        UPDATE account_bank_statement_line l
           SET finsync_import_id = t.external_id
          FROM finsync_transaction t
          JOIN finsync_backend b ON b.id = t.backend_id
         WHERE t.statement_line_id = l.id
           AND b.backend_type = 'bank_file'
           AND l.finsync_import_id IS DISTINCT FROM t.external_id
           AND l.finsync_import_id IS NOT NULL
        """
    )
