"""The checklist's automatic checks: each reads the books for one company and period.

A check returns its evidence: how many records stand in the way (``count``),
their amount in the company currency (``amount``) and the records themselves as
a model and a domain (what the item's *Evidence* button opens). A check passes
when its count is zero. Every check is one or a few set-based queries
(``_read_group`` or SQL), never a loop over records.
"""

import json
from datetime import datetime, time, timedelta

from odoo import api, models
from odoo.tools import SQL

# code: (sequence, label) of the automatic items, in checklist order.
AUTO_CHECKS = {
    "bank_statements": (10, "Bank statements complete to period end, balances continuous"),
    "bank_unreconciled": (20, "Bank lines up to period end reconciled"),
    "payouts": (30, "Gateway payouts of the period reconciled"),
    "suspense": (40, "Suspense and money-in-transit accounts at zero at period end"),
    "exceptions": (50, "No open exception at or above the severity threshold"),
    "failed_events": (60, "No failed or dead inbound event"),
    "dead_letters": (70, "No dead outbound delivery (dead letter)"),
    "failed_jobs": (80, "No failed FinSync job"),
    "connectors": (90, "Every syncing connector synced past period end"),
    "draft_moves": (100, "No draft journal entry in the period"),
}
# Severities from the lowest; an exception at or above the threshold blocks.
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def evidence(count=0, amount=0.0, model=None, domain=None):
    # The domain is stored as JSON: its dates become ISO strings, as a client sends them.
    domain = json.loads(json.dumps(domain or [], default=str))
    return {"count": count, "amount": amount, "model": model, "domain": domain}


class FinsyncCloseCheck(models.AbstractModel):
    _name = "finsync.close.check"
    _description = "FinSync Close Checks"

    @api.model
    def _run_checks(self, close):
        """``{code: evidence}`` of every automatic check of ``close``."""
        return {code: getattr(self, f"_check_{code}")(close) for code in AUTO_CHECKS}

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    @api.model
    def _bank_journals(self, close):
        return self.env["account.journal"].search(
            [
                ("company_id", "=", close.company_id.id),
                ("type", "=", "bank"),
                ("finsync_gateway_clearing", "=", False),
            ]
        )

    @api.model
    def _period_end_datetime(self, close):
        """The first instant after the period (UTC, as Odoo stores datetimes)."""
        return datetime.combine(close.date_to + timedelta(days=1), time.min)

    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------
    @api.model
    def _check_bank_statements(self, close):
        """Statements continuous (start balance = previous statement's end balance),
        complete (lines add up to the end balance), every line of the period in a
        statement, and each journal's last statement dated at or after period end."""
        journals = self._bank_journals(close)
        if not journals:
            return evidence(model="account.bank.statement")
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            SQL(
                """
                WITH st AS (
                    SELECT s.id, s.journal_id, s.date, s.balance_start, s.balance_end,
                           s.balance_end_real,
                           LAG(s.balance_end_real) OVER w AS prev_end,
                           ROW_NUMBER() OVER w AS rn
                      FROM account_bank_statement s
                     WHERE s.journal_id = ANY(%(journals)s) AND s.date <= %(date_to)s
                    WINDOW w AS (PARTITION BY s.journal_id
                                 ORDER BY s.first_line_index NULLS LAST, s.id)
                )
                SELECT journal_id, COUNT(*),
                       SUM(ABS(COALESCE(balance_start - prev_end, 0))
                           + ABS(balance_end - balance_end_real))
                  FROM st
                 WHERE date >= %(date_from)s
                   AND ((rn > 1 AND balance_start <> prev_end) OR balance_end <> balance_end_real)
                 GROUP BY journal_id
                """,
                journals=journals.ids,
                date_from=close.date_from,
                date_to=close.date_to,
            )
        )
        breaks = {row[0]: (row[1], row[2]) for row in cr.fetchall()}
        cr.execute(
            SQL(
                """
                SELECT l.journal_id, COUNT(*), SUM(ABS(l.amount))
                  FROM account_bank_statement_line l
                  JOIN account_move m ON m.id = l.move_id
                 WHERE l.journal_id = ANY(%(journals)s) AND l.statement_id IS NULL
                   AND m.date <= %(date_to)s AND m.date >= %(date_from)s
                   AND m.state <> 'cancel'
                 GROUP BY l.journal_id
                """,
                journals=journals.ids,
                date_from=close.date_from,
                date_to=close.date_to,
            )
        )
        loose = {row[0]: (row[1], row[2]) for row in cr.fetchall()}
        # A journal with lines up to period end needs a statement reaching period end.
        cr.execute(
            SQL(
                """
                SELECT j.id
                  FROM unnest(%(journals)s) AS j(id)
                 WHERE NOT EXISTS (
                        SELECT 1 FROM account_bank_statement s
                         WHERE s.journal_id = j.id AND s.date >= %(date_to)s)
                   AND EXISTS (
                        SELECT 1
                          FROM account_bank_statement_line l
                          JOIN account_move m ON m.id = l.move_id
                         WHERE l.journal_id = j.id AND m.date <= %(date_to)s
                           AND m.state <> 'cancel')
                """,
                journals=journals.ids,
                date_to=close.date_to,
            )
        )
        short = {row[0] for row in cr.fetchall()}
        failing = set(breaks) | set(loose) | short
        count = (
            sum(c for c, _a in breaks.values()) + sum(c for c, _a in loose.values()) + len(short)
        )
        amount = sum(a for _c, a in breaks.values()) + sum(a for _c, a in loose.values())
        return evidence(
            count,
            amount,
            "account.bank.statement.line",
            [("journal_id", "in", sorted(failing)), ("date", "<=", close.date_to)],
        )

    @api.model
    def _check_bank_unreconciled(self, close):
        """What Odoo itself refuses to lock: bank lines up to period end not reconciled."""
        domain = close.company_id._get_unreconciled_statement_lines_domain(close.date_to)
        return self._count_and_sum(close, "account.bank.statement.line", domain, "amount")

    @api.model
    def _check_payouts(self, close):
        domain = [
            ("company_id", "=", close.company_id.id),
            ("payout_date", ">=", close.date_from),
            ("payout_date", "<=", close.date_to),
            ("state", "not in", ("reconciled", "failed")),
        ]
        return self._count_and_sum(close, "finsync.settlement", domain, "amount")

    @api.model
    def _check_suspense(self, close):
        """Balances at period end of the bank journals' suspense accounts and the
        gateways' money-in-transit accounts (the company's transfer account when a
        gateway has none)."""
        company = close.company_id
        journals = self.env["account.journal"].search(
            [("company_id", "=", company.id), ("type", "=", "bank")]
        )
        accounts = journals.suspense_account_id
        backends = self.env["finsync.backend"].search([("company_id", "=", company.id)])
        gateways = backends.filtered("is_payment_gateway")
        accounts |= gateways.gateway_transit_account_id
        if gateways.filtered(lambda b: not b.gateway_transit_account_id):
            accounts |= company.transfer_account_id
        if not accounts:
            return evidence(model="account.move.line")
        domain = [
            ("company_id", "=", company.id),
            ("account_id", "in", accounts.ids),
            ("parent_state", "=", "posted"),
            ("date", "<=", close.date_to),
        ]
        groups = self.env["account.move.line"]._read_group(domain, ["account_id"], ["balance:sum"])
        currency = company.currency_id
        open_accounts = [(acc, bal) for acc, bal in groups if not currency.is_zero(bal)]
        return evidence(
            len(open_accounts),
            currency.round(sum(abs(bal) for _acc, bal in open_accounts)),
            "account.move.line",
            [
                ("company_id", "=", company.id),
                ("account_id", "in", [acc.id for acc, _bal in open_accounts]),
                ("parent_state", "=", "posted"),
                ("date", "<=", close.date_to),
            ],
        )

    @api.model
    def _check_exceptions(self, close):
        threshold = close._settings().severity_threshold
        severities = [s for s, rank in SEVERITY_RANK.items() if rank >= SEVERITY_RANK[threshold]]
        domain = [
            ("company_id", "=", close.company_id.id),
            ("is_open", "=", True),
            ("severity", "in", severities),
        ]
        return self._count_and_sum(close, "finsync.exception", domain)

    @api.model
    def _check_failed_events(self, close):
        domain = [("company_id", "=", close.company_id.id), ("state", "in", ("failed", "dead"))]
        return self._count_and_sum(close, "finsync.event", domain)

    @api.model
    def _check_dead_letters(self, close):
        domain = [("company_id", "=", close.company_id.id), ("state", "=", "dead")]
        return self._count_and_sum(close, "finsync.outbox.delivery", domain)

    @api.model
    def _check_failed_jobs(self, close):
        domain = [
            ("company_id", "=", close.company_id.id),
            ("state", "=", "failed"),
            ("channel", "=like", "root.finsync%"),
        ]
        return self._count_and_sum(close, "queue.job", domain)

    @api.model
    def _check_connectors(self, close):
        """Connectors that sync on their own (webhooks or scheduled pulls): their last
        successful sync or pull is after the period's last day."""
        end = self._period_end_datetime(close)
        domain = [
            ("company_id", "=", close.company_id.id),
            ("sync_policy", "in", ("webhook", "scheduled")),
            "&",
            "|",
            ("last_sync_date", "=", False),
            ("last_sync_date", "<", end),
            "|",
            ("last_pull_date", "=", False),
            ("last_pull_date", "<", end),
        ]
        return self._count_and_sum(close, "finsync.backend", domain)

    @api.model
    def _check_draft_moves(self, close):
        domain = [
            ("company_id", "=", close.company_id.id),
            ("state", "=", "draft"),
            ("date", ">=", close.date_from),
            ("date", "<=", close.date_to),
        ]
        return self._count_and_sum(close, "account.move", domain, "amount_total_signed")

    @api.model
    def _count_and_sum(self, close, model, domain, amount_field=None):
        aggregates = ["__count"] + ([f"{amount_field}:sum"] if amount_field else [])
        # sudo: the checklist counts for whoever refreshes it (records of the
        # close's company only, by the domain), including models an accountant
        # does not read (queue jobs).
        row = self.env[model].sudo()._read_group(domain, [], aggregates)[0]
        amount = close.company_id.currency_id.round(row[1] or 0.0) if amount_field else 0.0
        return evidence(row[0], amount, model, domain)
