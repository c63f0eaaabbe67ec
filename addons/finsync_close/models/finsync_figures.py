"""How things stand, per company: the figures of the overview, the metrics and the close.

Every figure is one SQL aggregate (or ``_read_group``) over an index; no method reads
records row by row, so the cost does not grow with the history. Each method takes a
``res.company`` record and returns plain data (dicts keyed by journal, connector,
bucket...), so the overview, ``/finsync/metrics`` and the period-close checklist can
share them:

- ``_unreconciled_by_journal(company)``: ``{journal_id: {count, amount, currency_id, oldest}}``
- ``_statement_freshness(company)``: ``{journal_id: {last_date, age_days, lag_days, cadence,
  colour}}`` (colour: green/amber/red against ``account.journal.finsync_cadence_days``)
- ``_connector_status(company)``: ``{backend_id: {name, type, health, last_sync, refusals}}``
- ``_sync_latency(company, hours=24)``: ``{backend_id: {count, p50, p95}}`` (seconds)
- ``_events_by_state(company)``: ``{(backend_id, state): count}``
- ``_settlement_aging(company)``: ``{backend_id: {bucket: {count, amount, currency_id}}}``
- ``_exceptions_open(company)``: ``{by_severity, by_type_severity, by_age, by_owner}``
- ``_jobs(company=None)``: ``{(channel, state): count}`` for jobs not done
- ``_trends(company)``: the three series of the overview's graphs

The methods run the SQL they are given a company for: callers from a request go
through ``get_overview`` (which checks the user may see the company) and the metrics
endpoint runs as the superuser on purpose (see controllers/metrics.py).
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, create_index

# Age buckets of open exceptions, in days since they were opened.
EXCEPTION_AGE_BUCKETS = [
    ("lt_1", "< 1 day"),
    ("d_1_3", "1-3 days"),
    ("d_3_7", "3-7 days"),
    ("gt_7", "> 7 days"),
]
# Settlement aging, in days past the payout's expected arrival (as finsync_gateway's).
SETTLEMENT_AGE_BUCKETS = [
    ("not_due", "Not due yet"),
    ("late_1_3", "1-3 days late"),
    ("late_4_7", "4-7 days late"),
    ("late_8_30", "8-30 days late"),
    ("late_30", "Over 30 days late"),
]
JOB_OPEN_STATES = ("wait_dependencies", "pending", "enqueued", "started", "failed")


def business_days_between(start, end):
    """Business days (Monday-Friday) strictly after ``start`` and strictly before ``end``."""
    if not start or not end or end <= start + timedelta(days=1):
        return 0
    first = start + timedelta(days=1)
    days = (end - first).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for offset in range(rest):
        if (first + timedelta(days=weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def freshness_colour(lag_days, cadence):
    """Green while the bank is within its cadence, amber within twice it, red beyond."""
    cadence = max(cadence or 1, 1)
    if lag_days < cadence:
        return "green"
    if lag_days < 2 * cadence:
        return "amber"
    return "red"


class FinsyncFigures(models.AbstractModel):
    _name = "finsync.figures"
    _description = "FinSync Figures"

    # ------------------------------------------------------------------
    # Indexes the figures need
    # ------------------------------------------------------------------
    def init(self):
        # Indexes on other addons' tables the figures read (created unless they exist).
        cr = self.env.cr
        create_index(
            cr,
            "finsync_event_latency_idx",
            "finsync_event",
            ["company_id", "processed_at"],
            where="processed_at IS NOT NULL",
        )
        create_index(
            cr, "finsync_event_backend_state_idx", "finsync_event", ["backend_id", "state"]
        )
        create_index(
            cr,
            "finsync_exception_open_created_idx",
            "finsync_exception",
            ["company_id", "create_date"],
            where="is_open",
        )
        create_index(
            cr,
            "finsync_exception_company_created_idx",
            "finsync_exception",
            ["company_id", "create_date"],
        )
        create_index(
            cr,
            "finsync_exception_company_resolved_idx",
            "finsync_exception",
            ["company_id", "resolved_date"],
            where="resolved_date IS NOT NULL",
        )
        create_index(
            cr,
            "finsync_transaction_match_week_idx",
            "finsync_transaction",
            ["company_id", "booking_date", "match_mode"],
            where="match_mode IS NOT NULL",
        )
        create_index(
            cr,
            "finsync_settlement_transit_idx",
            "finsync_settlement",
            ["company_id", "backend_id", "expected_date"],
            where="state = 'in_transit'",
        )
        create_index(
            cr,
            "account_move_unposted_statement_idx",
            "account_move",
            ["company_id"],
            where="state <> 'posted' AND statement_line_id IS NOT NULL",
        )
        create_index(
            cr,
            "queue_job_open_channel_state_idx",
            "queue_job",
            ["company_id", "channel", "state"],
            where="state <> 'done'",
        )

    # ------------------------------------------------------------------
    # Entry point of the overview (RPC)
    # ------------------------------------------------------------------
    @api.model
    def get_overview(self, company_id=None):
        """Everything the overview shows for one company the user may see."""
        company = self._check_company(company_id)
        return self.with_company(company)._overview_data(company)

    def _check_company(self, company_id):
        if not self.env.user.has_group("finsync_base.group_finsync_user"):
            raise AccessError(self.env._("Only FinSync users may see the FinSync overview."))
        company = self.env["res.company"].browse(company_id) if company_id else self.env.company
        if company not in self.env.user.company_ids:
            raise AccessError(
                self.env._("You may not see the figures of company %(id)s.", id=company.id)
            )
        return company

    # ------------------------------------------------------------------
    # Figures (shared with the metrics and the close)
    # ------------------------------------------------------------------
    def _bank_journals(self, company):
        # sudo: the journals' names and cadence only, of a company already checked.
        return (
            self.env["account.journal"]
            .sudo()
            .search([("company_id", "=", company.id), ("type", "=", "bank")], order="sequence, id")
        )

    def _unposted_line_moves(self, company):
        """Entries of statement lines that are not posted (draft or cancelled: a handful),
        as a tuple for ``NOT IN``: cheaper than joining every unreconciled line to its entry."""
        self.env.cr.execute(
            SQL(
                """
                SELECT move.id FROM account_move move
                 WHERE move.company_id = %s AND move.state <> 'posted'
                   AND move.statement_line_id IS NOT NULL
                """,
                company.id,
            )
        )
        return tuple(row[0] for row in self.env.cr.fetchall()) or (0,)

    def _unreconciled_by_journal(self, company):
        """Posted statement lines not reconciled yet: count, amount (journal currency), oldest.

        Backed by account's ``account_bank_statement_line_unreconciled_idx``; the oldest
        date comes from ``internal_index`` (it starts with the line's date).
        """
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT line.journal_id, line.currency_id, COUNT(*), SUM(line.amount),
                       MIN(line.internal_index)
                  FROM account_bank_statement_line line
                 WHERE line.company_id = %s
                   AND (NOT line.is_reconciled OR line.is_reconciled IS NULL)
                   AND line.move_id NOT IN %s
              GROUP BY line.journal_id, line.currency_id
                """,
                company.id,
                self._unposted_line_moves(company),
            )
        )
        result = {}
        currencies = self.env["res.currency"]
        for journal_id, currency_id, count, amount, oldest in self.env.cr.fetchall():
            currency = currencies.browse(currency_id or company.currency_id.id)
            entry = result.setdefault(
                journal_id, {"count": 0, "amount": 0.0, "currency_id": currency.id, "oldest": None}
            )
            entry["count"] += count
            entry["amount"] = currency.round(entry["amount"] + (amount or 0.0))
            oldest_date = (
                fields.Date.to_date(f"{oldest[:4]}-{oldest[4:6]}-{oldest[6:8]}") if oldest else None
            )
            if oldest_date and (not entry["oldest"] or oldest_date < entry["oldest"]):
                entry["oldest"] = oldest_date
        return result

    def _statement_freshness(self, company, today=None):
        """Last booking date per bank journal against its cadence (business days)."""
        self.env.flush_all()
        journals = self._bank_journals(company)
        if not journals:
            return {}
        today = today or fields.Date.context_today(self)
        # One index probe per journal (LATERAL ... LIMIT 1 on account's main index:
        # journal_id, company_id, internal_index).
        self.env.cr.execute(
            SQL(
                """
                SELECT journal.id, last.internal_index
                  FROM unnest(%s::int[]) AS journal(id)
          LEFT JOIN LATERAL (
                SELECT line.internal_index
                  FROM account_bank_statement_line line
                 WHERE line.journal_id = journal.id AND line.company_id = %s
              ORDER BY line.internal_index DESC
                 LIMIT 1
                ) last ON TRUE
                """,
                journals.ids,
                company.id,
            )
        )
        last_index = dict(self.env.cr.fetchall())
        result = {}
        for journal in journals:
            index = last_index.get(journal.id)
            last = fields.Date.to_date(f"{index[:4]}-{index[4:6]}-{index[6:8]}") if index else None
            cadence = journal.finsync_cadence_days or 1
            lag = business_days_between(last, today) if last else None
            result[journal.id] = {
                "name": journal.name,
                "last_date": last,
                "age_days": (today - last).days if last else None,
                "lag_days": lag,
                "cadence": cadence,
                "colour": freshness_colour(lag, cadence) if last else "red",
            }
        return result

    def _connector_status(self, company):
        """Health, last sync and refused webhooks of each active connector (a few rows)."""
        # sudo: status fields only, of a company already checked.
        backends = (
            self.env["finsync.backend"]
            .sudo()
            .search([("company_id", "=", company.id)], order="sequence, id")
        )
        return {
            backend.id: {
                "name": backend.name,
                "type": backend.backend_type,
                "health": backend.health,
                "last_sync": backend.last_sync_date,
                "refusals": backend.webhook_rejected_count or 0,
            }
            for backend in backends
        }

    def _sync_latency(self, company, hours=24):
        """Seconds from an event's arrival to its processing (its transactions posted),
        p50 and p95 per connector over the last ``hours``.

        finsync.event keeps ``received_at`` (the source's delivery reaching us: the
        earliest timestamp FinSync holds) and ``processed_at`` (done posting).
        """
        self.env.flush_all()
        since = fields.Datetime.now() - timedelta(hours=hours)
        self.env.cr.execute(
            SQL(
                """
                SELECT backend_id, COUNT(*),
                       percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (
                           ORDER BY EXTRACT(EPOCH FROM processed_at - received_at))
                  FROM finsync_event
                 WHERE company_id = %s AND processed_at >= %s AND processed_at IS NOT NULL
                   AND received_at IS NOT NULL AND state = 'done'
              GROUP BY backend_id
                """,
                company.id,
                since,
            )
        )
        return {
            backend_id: {"count": count, "p50": quantiles[0], "p95": quantiles[1]}
            for backend_id, count, quantiles in self.env.cr.fetchall()
        }

    def _events_by_state(self, company):
        groups = (
            self.env["finsync.event"]
            .sudo()  # sudo: counts only, of a company already checked
            ._read_group([("company_id", "=", company.id)], ["backend_id", "state"], ["__count"])
        )
        return {(backend.id, state): count for backend, state, count in groups}

    def _settlement_aging(self, company, today=None):
        """Payouts still in transit per gateway connector, by days past expected arrival."""
        self.env.flush_all()
        today = today or fields.Date.context_today(self)
        self.env.cr.execute(
            SQL(
                """
                SELECT backend_id, currency_id,
                       CASE WHEN expected_date IS NULL OR %(today)s - expected_date <= 0
                                 THEN 'not_due'
                            WHEN %(today)s - expected_date <= 3 THEN 'late_1_3'
                            WHEN %(today)s - expected_date <= 7 THEN 'late_4_7'
                            WHEN %(today)s - expected_date <= 30 THEN 'late_8_30'
                            ELSE 'late_30' END AS bucket,
                       COUNT(*), SUM(amount)
                  FROM finsync_settlement
                 WHERE company_id = %(company)s AND state = 'in_transit'
              GROUP BY 1, 2, 3
                """,
                today=today,
                company=company.id,
            )
        )
        result = {}
        currencies = self.env["res.currency"]
        for backend_id, currency_id, bucket, count, amount in self.env.cr.fetchall():
            currency = currencies.browse(currency_id)
            entry = result.setdefault(backend_id, {}).setdefault(
                bucket, {"count": 0, "amount": 0.0, "currency_id": currency_id}
            )
            entry["count"] += count
            entry["amount"] = currency.round(entry["amount"] + (amount or 0.0))
        return result

    def _exceptions_open(self, company, now=None):
        """Open exceptions by severity, type and severity, age bucket and owner."""
        self.env.flush_all()
        now = now or fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                SELECT exception_type, severity, user_id,
                       CASE WHEN create_date > %(now)s - interval '1 day' THEN 'lt_1'
                            WHEN create_date > %(now)s - interval '3 days' THEN 'd_1_3'
                            WHEN create_date > %(now)s - interval '7 days' THEN 'd_3_7'
                            ELSE 'gt_7' END,
                       COUNT(*)
                  FROM finsync_exception
                 WHERE company_id = %(company)s AND is_open
              GROUP BY 1, 2, 3, 4
                """,
                now=now,
                company=company.id,
            )
        )
        result = {
            "by_severity": {},
            "by_type_severity": {},
            "by_age": {},
            "by_owner": {},
            "total": 0,
        }
        for exc_type, severity, user_id, bucket, count in self.env.cr.fetchall():
            for key, value in (
                ("by_severity", severity),
                ("by_type_severity", (exc_type, severity)),
                ("by_age", bucket),
                ("by_owner", user_id or False),
            ):
                result[key][value] = result[key].get(value, 0) + count
            result["total"] += count
        return result

    def _jobs(self, company=None):
        """Jobs not done, by channel and state (all companies when ``company`` is None)."""
        self.env.flush_all()
        where = SQL("state <> 'done'")
        if company:
            where = SQL("%s AND company_id = %s", where, company.id)
        self.env.cr.execute(
            SQL(
                "SELECT channel, state, COUNT(*) FROM queue_job WHERE %s GROUP BY channel, state",
                where,
            )
        )
        return {(channel, state): count for channel, state, count in self.env.cr.fetchall()}

    def _trends(self, company, today=None, days=30, weeks=12):
        """Series of the overview's graphs: unreconciled lines per booking day (of the
        last ``days``), exceptions opened and resolved per week and the auto-match rate
        per week (of transactions booked that week and reconciled, those by a rule alone)."""
        self.env.flush_all()
        today = today or fields.Date.context_today(self)
        start_day = today - timedelta(days=days - 1)
        self.env.cr.execute(
            SQL(
                """
                SELECT LEFT(line.internal_index, 8), COUNT(*)
                  FROM account_bank_statement_line line
                 WHERE line.company_id = %s
                   AND (NOT line.is_reconciled OR line.is_reconciled IS NULL)
                   AND line.move_id NOT IN %s AND line.internal_index >= %s
              GROUP BY 1
                """,
                company.id,
                self._unposted_line_moves(company),
                start_day.strftime("%Y%m%d"),
            )
        )
        per_day = dict(self.env.cr.fetchall())
        unreconciled = []
        for offset in range(days):
            day = start_day + timedelta(days=offset)
            unreconciled.append(
                (fields.Date.to_string(day), per_day.get(day.strftime("%Y%m%d"), 0))
            )
        start_week = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
        return {
            "unreconciled_per_day": unreconciled,
            "exceptions_per_week": self._exceptions_per_week(company, start_week, weeks),
            "auto_match_per_week": self._auto_match_per_week(company, start_week, weeks),
        }

    def _week_labels(self, start_week, weeks):
        return [start_week + timedelta(weeks=n) for n in range(weeks)]

    def _exceptions_per_week(self, company, start_week, weeks):
        self.env.cr.execute(
            SQL(
                """
                SELECT 'opened', date_trunc('week', create_date)::date, COUNT(*)
                  FROM finsync_exception
                 WHERE company_id = %(company)s AND create_date >= %(start)s
              GROUP BY 2
             UNION ALL
                SELECT 'resolved', date_trunc('week', resolved_date)::date, COUNT(*)
                  FROM finsync_exception
                 WHERE company_id = %(company)s AND resolved_date >= %(start)s
              GROUP BY 2
                """,
                company=company.id,
                start=start_week,
            )
        )
        counts = {(kind, week): count for kind, week, count in self.env.cr.fetchall()}
        return [
            (
                fields.Date.to_string(week),
                counts.get(("opened", week), 0),
                counts.get(("resolved", week), 0),
            )
            for week in self._week_labels(start_week, weeks)
        ]

    def _auto_match_per_week(self, company, start_week, weeks):
        self.env.cr.execute(
            SQL(
                """
                SELECT date_trunc('week', booking_date)::date,
                       COUNT(*) FILTER (WHERE match_mode = 'auto'), COUNT(*)
                  FROM finsync_transaction
                 WHERE company_id = %s AND booking_date >= %s AND match_mode IS NOT NULL
              GROUP BY 1
                """,
                company.id,
                start_week,
            )
        )
        counts = {week: (auto, total) for week, auto, total in self.env.cr.fetchall()}
        series = []
        for week in self._week_labels(start_week, weeks):
            auto, total = counts.get(week, (0, 0))
            series.append(
                (fields.Date.to_string(week), round(100.0 * auto / total, 1) if total else None)
            )
        return series
