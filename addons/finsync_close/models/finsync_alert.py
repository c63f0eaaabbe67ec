import logging

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

ALERT_KINDS = [
    ("statement_age", "Statement older than (days), per bank journal"),
    ("unreconciled_amount", "Unreconciled amount above, per bank journal"),
    ("exception_backlog", "Open exceptions past their due date, more than"),
    ("job_failures", "Failed jobs, more than"),
    ("sync_latency", "Sync latency p95 above (seconds), per connector"),
    ("webhook_refusals", "Webhook refusals above, per connector"),
]


class FinsyncAlertRule(models.Model):
    """A threshold on one of the overview's figures, with the person to tell."""

    _name = "finsync.alert.rule"
    _description = "FinSync Alert Rule"
    _order = "company_id, kind, id"
    _check_company_auto = True

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    kind = fields.Selection(ALERT_KINDS, required=True)
    threshold = fields.Float(required=True, help="The alert opens when the figure is above it.")
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        required=True,
        check_company=True,
        help="Gets the alert as an activity; it is closed when the figure recovers.",
    )
    send_email = fields.Boolean(string="Also by Email")
    alert_ids = fields.One2many("finsync.alert", "rule_id")

    _sql_constraints = [
        ("threshold_positive", "CHECK(threshold >= 0)", "A threshold cannot be negative."),
    ]

    def _values(self):
        """{(subject model, subject id, subject name): value} of the rule's figure."""
        self.ensure_one()
        figures = self.env["finsync.figures"]
        company = self.company_id
        if self.kind == "statement_age":
            return {
                ("account.journal", jid, entry["name"]): entry["age_days"]
                for jid, entry in figures._statement_freshness(company).items()
                if entry["age_days"] is not None
            }
        if self.kind == "unreconciled_amount":
            names = dict(figures._bank_journals(company).mapped(lambda j: (j.id, j.name)))
            return {
                ("account.journal", jid, names.get(jid, str(jid))): abs(entry["amount"])
                for jid, entry in figures._unreconciled_by_journal(company).items()
            }
        if self.kind in ("sync_latency", "webhook_refusals"):
            connectors = figures._connector_status(company)
            if self.kind == "webhook_refusals":
                return {
                    ("finsync.backend", bid, e["name"]): e["refusals"]
                    for bid, e in connectors.items()
                }
            return {
                ("finsync.backend", bid, connectors[bid]["name"]): entry["p95"]
                for bid, entry in figures._sync_latency(company).items()
                if bid in connectors
            }
        subject = ("res.company", company.id, company.name)
        if self.kind == "job_failures":
            jobs = figures._jobs(company)
            return {subject: sum(n for (_channel, state), n in jobs.items() if state == "failed")}
        return {subject: self._overdue_exceptions(company)}

    def _overdue_exceptions(self, company):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT COUNT(*) FROM finsync_exception WHERE company_id = %s AND is_open "
                "AND due_date < %s",
                company.id,
                fields.Datetime.now(),
            )
        )
        return self.env.cr.fetchone()[0]


class FinsyncAlert(models.Model):
    """A threshold crossed: one open alert per rule and subject until the figure recovers."""

    _name = "finsync.alert"
    _description = "FinSync Alert"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "state, opened_at desc, id desc"
    _check_company_auto = True

    name = fields.Char(required=True, readonly=True)
    rule_id = fields.Many2one(
        "finsync.alert.rule", required=True, readonly=True, ondelete="cascade", index=True
    )
    kind = fields.Selection(related="rule_id.kind")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    user_id = fields.Many2one(related="rule_id.user_id", string="Owner")
    subject_model = fields.Char(required=True, readonly=True)
    subject_id = fields.Integer(required=True, readonly=True)
    subject_name = fields.Char(string="About", readonly=True)
    value = fields.Float(string="Last Value", readonly=True)
    threshold = fields.Float(readonly=True)
    state = fields.Selection(
        [("open", "Open"), ("closed", "Recovered")],
        default="open",
        required=True,
        readonly=True,
        index=True,
    )
    opened_at = fields.Datetime(readonly=True, default=fields.Datetime.now)
    closed_at = fields.Datetime(readonly=True)

    def init(self):
        # No alert storm: one open alert per rule and subject, whatever runs at once.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS finsync_alert_one_open_idx ON finsync_alert "
            "(rule_id, subject_model, subject_id) WHERE state = 'open'"
        )

    @api.model
    def _cron_evaluate(self):
        """Open the alerts whose figure crosses its rule's threshold, close the recovered ones."""
        # sudo: alerts are written here only (people have no create or write right on
        # them), for the rules of every company.
        return self.sudo()._evaluate()

    def _evaluate(self):
        rules = self.env["finsync.alert.rule"].search([])
        open_alerts = self.search([("state", "=", "open"), ("rule_id", "in", rules.ids)])
        by_key = {(a.rule_id.id, a.subject_model, a.subject_id): a for a in open_alerts}
        to_create, recovered = [], self.browse()
        for rule in rules:
            for (model, res_id, name), value in rule._values().items():
                alert = by_key.pop((rule.id, model, res_id), None)
                crossed = value is not None and value > rule.threshold
                if crossed and alert:
                    alert.value = value
                elif crossed:
                    to_create.append(self._prepare_alert(rule, model, res_id, name, value))
                elif alert:
                    recovered |= alert
        # Subjects that vanished (no figure any more) have recovered too.
        for alert in by_key.values():
            recovered |= alert
        created = self.create(to_create) if to_create else self.browse()
        created._notify_owner()
        recovered._close()
        _logger.info("FinSync alerts: %s opened, %s recovered", len(created), len(recovered))
        return created, recovered

    def _prepare_alert(self, rule, model, res_id, name, value):
        return {
            "name": self.env._("%(rule)s: %(subject)s", rule=rule.name, subject=name),
            "rule_id": rule.id,
            "company_id": rule.company_id.id,
            "subject_model": model,
            "subject_id": res_id,
            "subject_name": name,
            "value": value,
            "threshold": rule.threshold,
        }

    def _notify_owner(self):
        for alert in self:
            rule = alert.rule_id
            note = self.env._(
                "%(subject)s is at %(value)s, above the threshold of %(threshold)s.",
                subject=alert.subject_name,
                value=round(alert.value, 2),
                threshold=rule.threshold,
            )
            alert.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=rule.user_id.id,
                summary=alert.name,
                note=note,
            )
            if rule.send_email:
                alert.message_post(
                    body=note,
                    subject=alert.name,
                    partner_ids=rule.user_id.partner_id.ids,
                    message_type="comment",
                    subtype_xmlid="mail.mt_comment",
                )

    def _close(self):
        if not self:
            return
        self.write({"state": "closed", "closed_at": fields.Datetime.now()})
        self.activity_ids.action_feedback(feedback=self.env._("The figure recovered."))

    def action_open_subject(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.subject_model,
            "res_id": self.subject_id,
            "views": [(False, "form")],
        }
