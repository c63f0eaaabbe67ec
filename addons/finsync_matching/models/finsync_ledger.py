from odoo import api, models
from odoo.tools import SQL


class FinsyncLedger(models.AbstractModel):
    """Matching's entries also record on the transaction how it was matched."""

    _inherit = "finsync.ledger"

    @api.model
    def _mark_reconciled(self, entries):
        """Before the move to reconciled, each matching entry (one with a ``mode``:
        auto, confirmed or manual) records its rule, score, reason, invoices and
        partner on its transaction; after it, the transaction's matching
        exceptions close. Set-based: one UPDATE from a VALUES list and one INSERT
        of the invoice links for all of them (no tracked or stored computed field
        depends on these columns; the cache is invalidated and dependents told)."""
        rows = self._match_rows([entry for entry in entries if entry.get("mode")])
        if rows:
            self._write_match_rows(rows)
        transactions = super()._mark_reconciled(entries)
        transactions.mapped("exception_ids")  # one query for all, not one per transaction
        matching = self.env["finsync.matching"]
        for tx, *_vals, explanation, _partner, _moves in rows:
            if tx.exception_ids:
                matching._close_matching_exceptions(tx, explanation)
        return transactions

    @api.model
    def _match_rows(self, entries):
        """``(transaction, rule, mode, score, explanation, partner id, move ids)`` per
        entry whose statement line has a settled transaction."""
        default = self.env._("Reconciled by %(user)s", user=self.env.user.name)
        # The items' partners and their companies in one query each, not one per entry.
        self.env["account.move.line"].union(
            *(item for entry in entries for item, _amount in entry["allocations"])
        ).partner_id.mapped("commercial_partner_id")
        rows = []
        for entry in entries:
            transaction = self._entry_transaction(entry)
            if not transaction:
                continue
            items = self.env["account.move.line"].union(*(i for i, _a in entry["allocations"]))
            partner = entry.get("partner") or items.partner_id[:1]
            rows.append(
                (
                    transaction,
                    entry.get("rule"),
                    entry.get("mode") or "manual",
                    entry.get("score") or 0,
                    entry.get("explanation") or default,
                    partner.commercial_partner_id.id or None,
                    items.move_id.ids,
                )
            )
        return rows

    @api.model
    def _write_match_rows(self, rows):
        transactions = self.env["finsync.transaction"].union(*(row[0] for row in rows))
        self.env.flush_all()
        values = SQL(", ").join(
            SQL(
                "(%s, %s::int, %s, %s::int, %s, %s::int)",
                tx.id,
                rule.id if rule else None,
                mode,
                score,
                explanation,
                partner_id,
            )
            for tx, rule, mode, score, explanation, partner_id, _moves in rows
        )
        self.env.cr.execute(
            SQL(
                """
                UPDATE finsync_transaction tx
                   SET match_rule_id = v.rule_id, match_mode = v.mode, match_score = v.score,
                       match_explanation = v.explanation, partner_id = v.partner_id,
                       write_uid = %s, write_date = now() at time zone 'UTC'
                  FROM (VALUES %s) AS v(id, rule_id, mode, score, explanation, partner_id)
                 WHERE tx.id = v.id
                """,
                self.env.uid,
                values,
            )
        )
        links = {"invoice_ids": [], "proposed_line_ids": [], "candidate_line_ids": []}
        for tx, *_vals, move_ids in rows:
            links["invoice_ids"] += [(tx.id, move_id) for move_id in move_ids]
        for fname, pairs in links.items():
            field = transactions._fields[fname]
            self.env.cr.execute(
                SQL(
                    "DELETE FROM %s WHERE %s = ANY(%s)",
                    SQL.identifier(field.relation),
                    SQL.identifier(field.column1),
                    transactions.ids,
                )
            )
            if pairs:
                self.env.cr.execute(
                    SQL(
                        "INSERT INTO %s (%s, %s) VALUES %s",
                        SQL.identifier(field.relation),
                        SQL.identifier(field.column1),
                        SQL.identifier(field.column2),
                        SQL(", ").join(SQL("(%s, %s)", a, b) for a, b in pairs),
                    )
                )
        fnames = [
            "match_rule_id",
            "match_mode",
            "match_score",
            "match_explanation",
            "partner_id",
            *links,
        ]
        transactions.invalidate_recordset(fnames)
        transactions.modified(fnames)
