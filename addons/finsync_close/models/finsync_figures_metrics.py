from odoo import models

from ..tools.prometheus import MetricFamily


class FinsyncFigures(models.AbstractModel):
    _inherit = "finsync.figures"

    def _metrics_text(self):
        """All companies' figures as Prometheus metrics (called by /finsync/metrics as the
        superuser, after its token check)."""
        families = {
            name: MetricFamily(name, kind, help_text)
            for name, kind, help_text in (
                (
                    "finsync_unreconciled_lines",
                    "gauge",
                    "Posted bank statement lines not reconciled.",
                ),
                (
                    "finsync_unreconciled_amount",
                    "gauge",
                    "Amount of the unreconciled bank lines, journal currency.",
                ),
                (
                    "finsync_statement_age_days",
                    "gauge",
                    "Days since the journal's last booking date.",
                ),
                ("finsync_exceptions_open", "gauge", "Open FinSync exceptions."),
                (
                    "finsync_sync_latency_seconds",
                    "gauge",
                    "Event arrival to processing over the last 24 h.",
                ),
                ("finsync_events_total", "counter", "Inbound events received, by state."),
                ("finsync_webhook_refusals_total", "counter", "Webhook deliveries refused."),
                (
                    "finsync_settlement_in_transit_amount",
                    "gauge",
                    "Gateway payouts in transit by age bucket.",
                ),
                ("finsync_jobs", "gauge", "Queue jobs not done, by channel and state."),
            )
        }
        for company in self.env["res.company"].search([]):
            self._metrics_company(company, families)
        for (channel, state), count in sorted(self._jobs().items()):
            families["finsync_jobs"].add({"channel": channel, "state": state}, count)
        return "\n".join(family.render() for family in families.values()) + "\n"

    def _metrics_company(self, company, families):
        journals = self._statement_freshness(company)
        journal_names = {jid: entry["name"] for jid, entry in journals.items()}
        for journal_id, entry in self._unreconciled_by_journal(company).items():
            name = journal_names.get(journal_id) or str(journal_id)
            labels = {"company": company.name, "journal": name}
            families["finsync_unreconciled_lines"].add(labels, entry["count"])
            currency = self.env["res.currency"].browse(entry["currency_id"]).name
            families["finsync_unreconciled_amount"].add(
                {**labels, "currency": currency}, entry["amount"]
            )
        for entry in journals.values():
            if entry["age_days"] is not None:
                families["finsync_statement_age_days"].add(
                    {"company": company.name, "journal": entry["name"]}, entry["age_days"]
                )
        exceptions = self._exceptions_open(company)
        for (exc_type, severity), count in sorted(exceptions["by_type_severity"].items()):
            families["finsync_exceptions_open"].add(
                {"company": company.name, "type": exc_type, "severity": severity}, count
            )
        self._metrics_connectors(company, families)

    def _metrics_connectors(self, company, families):
        connectors = self._connector_status(company)
        names = {bid: entry["name"] for bid, entry in connectors.items()}
        for backend_id, entry in self._sync_latency(company).items():
            for quantile in ("0.5", "0.95"):
                families["finsync_sync_latency_seconds"].add(
                    {
                        "company": company.name,
                        "connector": names.get(backend_id, str(backend_id)),
                        "quantile": quantile,
                    },
                    float(entry["p50" if quantile == "0.5" else "p95"]),
                )
        for (backend_id, state), count in sorted(self._events_by_state(company).items()):
            families["finsync_events_total"].add(
                {
                    "company": company.name,
                    "connector": names.get(backend_id, str(backend_id)),
                    "state": state,
                },
                count,
            )
        for entry in connectors.values():
            families["finsync_webhook_refusals_total"].add(
                {"company": company.name, "connector": entry["name"]}, entry["refusals"]
            )
        for backend_id, buckets in self._settlement_aging(company).items():
            for bucket, entry in sorted(buckets.items()):
                families["finsync_settlement_in_transit_amount"].add(
                    {
                        "company": company.name,
                        "connector": names.get(backend_id, str(backend_id)),
                        "bucket": bucket,
                        "currency": self.env["res.currency"].browse(entry["currency_id"]).name,
                    },
                    entry["amount"],
                )
