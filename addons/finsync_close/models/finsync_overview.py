from datetime import timedelta

from odoo import fields, models
from odoo.tools.misc import format_amount

from .finsync_figures import EXCEPTION_AGE_BUCKETS, SETTLEMENT_AGE_BUCKETS

EXCEPTION_AGE_DAYS = {"lt_1": (None, 1), "d_1_3": (1, 3), "d_3_7": (3, 7), "gt_7": (7, None)}
SETTLEMENT_LATE_DAYS = {
    "not_due": (None, 0),
    "late_1_3": (1, 3),
    "late_4_7": (4, 7),
    "late_8_30": (8, 30),
    "late_30": (31, None),
}


class FinsyncFigures(models.AbstractModel):
    _inherit = "finsync.figures"

    def _overview_data(self, company):
        """The overview's cards and graphs: numbers, and for each the records behind it."""
        return {
            "company": {"id": company.id, "name": company.name},
            "journals": self._overview_journals(company),
            "connectors": self._overview_connectors(company),
            "exceptions": self._overview_exceptions(company),
            "jobs": self._overview_jobs(company),
            "trends": self._trends(company),
        }

    def _open(self, name, model, domain):
        action = {"name": name, "res_model": model, "domain": domain}
        if model == "account.bank.statement.line":
            # Odoo Community has no list of bank lines: ours shows date, label, amount.
            view = self.env.ref("finsync_close.view_finsync_statement_line_list")
            action["views"] = [(view.id, "list"), (False, "form")]
        return action

    def _open_workbench(self, workbench, name, domain):
        """The bank reconciliation workbench (``workbench``: its action) on ``domain``."""
        return {**workbench, "name": name, "domain": domain}

    def _money(self, amount, currency_id):
        return format_amount(self.env, amount, self.env["res.currency"].browse(currency_id))

    def _overview_journals(self, company):
        freshness = self._statement_freshness(company)
        unreconciled = self._unreconciled_by_journal(company)
        # The numbers of lines to reconcile open the workbench, where they are worked.
        workbench = self.env["ir.actions.act_window"]._for_xml_id(
            "finsync_matching.action_finsync_workbench"
        )
        journals = []
        for journal_id, entry in freshness.items():
            open_lines = unreconciled.get(journal_id, {})
            line_domain = [
                ("journal_id", "=", journal_id),
                ("is_reconciled", "=", False),
                ("state", "=", "posted"),
            ]
            oldest = open_lines.get("oldest")
            journals.append(
                {
                    "id": journal_id,
                    "name": entry["name"],
                    "colour": entry["colour"],
                    "last_date": fields.Date.to_string(entry["last_date"]),
                    "age_days": entry["age_days"],
                    "lag_days": entry["lag_days"],
                    "cadence": entry["cadence"],
                    "count": open_lines.get("count", 0),
                    "amount": open_lines.get("amount", 0.0),
                    "amount_display": self._money(
                        open_lines.get("amount", 0.0),
                        open_lines.get("currency_id") or company.currency_id.id,
                    ),
                    "oldest": fields.Date.to_string(oldest),
                    "open_lines": self._open_workbench(
                        workbench,
                        self.env._("Unreconciled lines of %(journal)s", journal=entry["name"]),
                        line_domain,
                    ),
                    "open_oldest": oldest
                    and self._open_workbench(
                        workbench,
                        self.env._(
                            "Oldest unreconciled lines of %(journal)s", journal=entry["name"]
                        ),
                        [*line_domain, ("date", "=", fields.Date.to_string(oldest))],
                    ),
                    "open_statements": self._open(
                        self.env._("Bank lines of %(journal)s", journal=entry["name"]),
                        "account.bank.statement.line",
                        [("journal_id", "=", journal_id)],
                    ),
                }
            )
        return journals

    def _overview_connectors(self, company):
        latency = self._sync_latency(company)
        aging = self._settlement_aging(company)
        events = self._events_by_state(company)
        today = fields.Date.context_today(self)
        since = fields.Datetime.to_string(fields.Datetime.now() - timedelta(hours=24))
        connectors = []
        for backend_id, entry in self._connector_status(company).items():
            lat = latency.get(backend_id, {})
            failed = sum(
                n
                for (bid, state), n in events.items()
                if bid == backend_id and state in ("failed", "dead")
            )
            buckets = []
            for bucket, label in SETTLEMENT_AGE_BUCKETS:
                figures = aging.get(backend_id, {}).get(bucket)
                if not figures:
                    continue
                buckets.append(
                    {
                        "key": bucket,
                        "label": label,
                        "count": figures["count"],
                        "amount_display": self._money(figures["amount"], figures["currency_id"]),
                        "open": self._open(
                            self.env._(
                                "Payouts in transit of %(name)s (%(bucket)s)",
                                name=entry["name"],
                                bucket=label,
                            ),
                            "finsync.settlement",
                            [
                                ("backend_id", "=", backend_id),
                                ("state", "=", "in_transit"),
                                *self._late_domain(bucket, today),
                            ],
                        ),
                    }
                )
            connectors.append(
                {
                    "id": backend_id,
                    "name": entry["name"],
                    "type": entry["type"],
                    "health": entry["health"],
                    "last_sync": fields.Datetime.to_string(entry["last_sync"]),
                    "refusals": entry["refusals"],
                    "latency_count": lat.get("count", 0),
                    "p50": lat.get("p50"),
                    "p95": lat.get("p95"),
                    "events_failed": failed,
                    "aging": buckets,
                    "open_backend": {"res_model": "finsync.backend", "res_id": backend_id},
                    "open_events": self._open(
                        self.env._(
                            "Events of %(name)s processed in the last 24 h", name=entry["name"]
                        ),
                        "finsync.event",
                        [
                            ("backend_id", "=", backend_id),
                            ("state", "=", "done"),
                            ("processed_at", ">=", since),
                        ],
                    ),
                    "open_failed": self._open(
                        self.env._("Failed events of %(name)s", name=entry["name"]),
                        "finsync.event",
                        [("backend_id", "=", backend_id), ("state", "in", ["failed", "dead"])],
                    ),
                }
            )
        return connectors

    def _late_domain(self, bucket, today):
        low, high = SETTLEMENT_LATE_DAYS[bucket]
        domain = []
        if bucket == "not_due":
            return [
                "|",
                ("expected_date", "=", False),
                ("expected_date", ">=", fields.Date.to_string(today)),
            ]
        if low is not None:
            domain.append(
                ("expected_date", "<=", fields.Date.to_string(today - timedelta(days=low)))
            )
        if high is not None:
            domain.append(
                ("expected_date", ">=", fields.Date.to_string(today - timedelta(days=high)))
            )
        return domain

    def _overview_exceptions(self, company):
        figures = self._exceptions_open(company)
        exc_model = self.env["finsync.exception"]
        severities = dict(exc_model._fields["severity"]._description_selection(self.env))
        base = [("company_id", "=", company.id), ("is_open", "=", True)]
        now = fields.Datetime.now()
        by_severity = [
            {
                "key": key,
                "label": label,
                "count": figures["by_severity"].get(key, 0),
                "open": self._open(
                    self.env._("Open %(severity)s exceptions", severity=label),
                    "finsync.exception",
                    [*base, ("severity", "=", key)],
                ),
            }
            for key, label in severities.items()
        ]
        by_age = []
        for key, label in EXCEPTION_AGE_BUCKETS:
            low, high = EXCEPTION_AGE_DAYS[key]
            domain = list(base)
            if low is not None:
                domain.append(
                    ("create_date", "<=", fields.Datetime.to_string(now - timedelta(days=low)))
                )
            if high is not None:
                domain.append(
                    ("create_date", ">", fields.Datetime.to_string(now - timedelta(days=high)))
                )
            by_age.append(
                {
                    "key": key,
                    "label": label,
                    "count": figures["by_age"].get(key, 0),
                    "open": self._open(
                        self.env._("Open exceptions, %(age)s", age=label),
                        "finsync.exception",
                        domain,
                    ),
                }
            )
        users = self.env["res.users"].browse([uid for uid in figures["by_owner"] if uid]).sudo()
        names = {user.id: user.name for user in users}  # sudo: owners' names only
        by_owner = [
            {
                "key": uid,
                "label": names.get(uid) or self.env._("Unassigned"),
                "count": count,
                "open": self._open(
                    self.env._(
                        "Open exceptions of %(owner)s", owner=names.get(uid) or self.env._("nobody")
                    ),
                    "finsync.exception",
                    [*base, ("user_id", "=", uid)],
                ),
            }
            for uid, count in sorted(figures["by_owner"].items(), key=lambda item: -item[1])
        ]
        return {
            "total": figures["total"],
            "open_all": self._open(self.env._("Open exceptions"), "finsync.exception", base),
            "by_severity": by_severity,
            "by_age": by_age,
            "by_owner": by_owner,
        }

    def _overview_jobs(self, company):
        can_open = self.env["queue.job"].has_access("read")
        jobs = []
        for (channel, state), count in sorted(self._jobs(company).items()):
            jobs.append(
                {
                    "channel": channel,
                    "state": state,
                    "count": count,
                    "open": can_open
                    and self._open(
                        self.env._("Jobs of %(channel)s", channel=channel),
                        "queue.job",
                        [
                            ("channel", "=", channel),
                            ("state", "=", state),
                            ("company_id", "=", company.id),
                        ],
                    ),
                }
            )
        return jobs
