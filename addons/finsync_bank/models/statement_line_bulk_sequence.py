"""Entry numbering of the set-based posting: the sequence period of a date, as
Odoo's sequence mixin reads it, and the ``made_sequence_gap`` flags settled
after the insert (see ``statement_line_bulk``).
"""

from odoo import api, models
from odoo.tools import SQL


class FinsyncStatementLineBulkSequence(models.AbstractModel):
    """Sequence periods and gap flags of the names ``_sequence_names`` gives."""

    _inherit = "finsync.statement.line.bulk"

    # ------------------------------------------------------------------
    # Names: Odoo's sequence logic, one query per period
    # ------------------------------------------------------------------
    @api.model
    def _sequence_period(self, journal, day, cache, new_cache):
        probe = self.env["account.move"].new(
            {"journal_id": journal.id, "date": day, "move_type": "entry"}
        )
        format_string, format_values = probe._get_next_sequence_format()
        seq = format_values.pop("seq")
        key = (format_string.format(**format_values, seq=0), journal)
        seq = new_cache.get(key, cache.get(key, seq))
        last = format_string.format(**format_values, seq=seq)
        reset = probe._deduce_sequence_number_reset(last)
        start, end, *_rest = probe._get_sequence_date_range(reset)
        return {
            "format": format_string,
            "values": format_values,
            "seq": seq,
            "key": key,
            "start": start,
            "end": end,
        }

    # ------------------------------------------------------------------
    # After the insert
    # ------------------------------------------------------------------
    @api.model
    def _settle_sequence_gaps(self, journal, names):
        """``made_sequence_gap`` as ``_compute_made_sequence_gap`` and ``_inverse_name`` set it.

        A new number whose predecessor does not exist opens a gap; the move
        right after a new number (if one exists) no longer follows a gap.
        """
        by_prefix = {}
        for move_id, name in names.items():
            by_prefix.setdefault(name["sequence_prefix"], {})[name["sequence_number"]] = move_id
        cr = self.env.cr
        for prefix, numbers in by_prefix.items():
            wanted = sorted({n - 1 for n in numbers if n > 1} - set(numbers))
            existing = set()
            if wanted:
                cr.execute(
                    SQL(
                        """SELECT sequence_number FROM account_move
                            WHERE journal_id = %s AND sequence_prefix = %s
                              AND sequence_number = ANY(%s)""",
                        journal.id,
                        prefix,
                        wanted,
                    )
                )
                existing = {row[0] for row in cr.fetchall()}
            gaps = [
                move_id
                for n, move_id in numbers.items()
                if n - 1 in wanted and n - 1 not in existing
            ]
            if gaps:
                cr.execute(
                    SQL("UPDATE account_move SET made_sequence_gap = TRUE WHERE id = ANY(%s)", gaps)
                )
            following = sorted({n + 1 for n in numbers} - set(numbers))
            cr.execute(
                SQL(
                    """UPDATE account_move SET made_sequence_gap = FALSE,
                              write_uid = %s, write_date = %s
                        WHERE journal_id = %s AND sequence_prefix = %s
                          AND sequence_number = ANY(%s) AND made_sequence_gap""",
                    self.env.uid,
                    self.env.cr.now(),
                    journal.id,
                    prefix,
                    following,
                )
            )
