import re

from odoo.tests import HttpCase, tagged

from ..tools.prometheus import escape_label
from .common_overview import OverviewCommon

TOKEN = "s3cret-token"
SAMPLE = re.compile(
    r'^(?P<name>[a-z_]+)\{(?P<labels>(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*)\} (?P<value>\S+)$'
)
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def unescape(value):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def parse(text):
    """Samples as {(name, frozenset(labels)): value}; HELP and TYPE lines checked on the way."""
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("# HELP ") or not line:
            continue
        match = SAMPLE.match(line)
        assert match, line
        assert match["name"] in typed, line
        labels = frozenset((k, unescape(v)) for k, v in LABEL.findall(match["labels"]))
        samples[(match["name"], labels)] = float(match["value"])
    return samples


@tagged("post_install", "-at_install")
class TestMetrics(OverviewCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.journal.name = 'Bank "main"\\ EUR'
        cls._line(10.1, "2026-11-20")
        cls._line(0.2, "2026-11-21")

    def _get(self, token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.url_open("/finsync/metrics", headers=headers)

    def test_escape_label(self):
        self.assertEqual(escape_label('a"b\\c\nd'), 'a\\"b\\\\c\\nd')

    def test_no_token_configured_is_not_found(self):
        self.env["ir.config_parameter"].sudo().set_param("finsync_close.metrics_token", False)
        response = self._get(TOKEN)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn("finsync_", response.text)

    def test_missing_or_wrong_token_is_refused(self):
        self.env["ir.config_parameter"].sudo().set_param("finsync_close.metrics_token", TOKEN)
        for token in (None, "wrong", TOKEN + "x"):
            response = self._get(token)
            self.assertEqual(response.status_code, 401, token)
            self.assertNotIn("finsync_", response.text)

    def test_right_token_gives_the_figures(self):
        self.env["ir.config_parameter"].sudo().set_param("finsync_close.metrics_token", TOKEN)
        self.env["finsync.exception"].create(
            {"name": "Metrics", "exception_type": "unmatched", "severity": "high"}
        )
        response = self._get(TOKEN)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        samples = parse(response.text)
        company = self.company.name
        journal = {("company", company), ("journal", 'Bank "main"\\ EUR')}
        self.assertEqual(samples[("finsync_unreconciled_lines", frozenset(journal))], 2)
        self.assertEqual(
            samples[
                (
                    "finsync_unreconciled_amount",
                    frozenset({*journal, ("currency", self.currency.name)}),
                )
            ],
            10.3,
        )
        self.assertIn(("finsync_statement_age_days", frozenset(journal)), samples)
        self.assertGreaterEqual(
            samples[
                (
                    "finsync_exceptions_open",
                    frozenset({("company", company), ("type", "unmatched"), ("severity", "high")}),
                )
            ],
            1,
        )
        self.assertEqual(
            samples[
                (
                    "finsync_webhook_refusals_total",
                    frozenset({("company", company), ("connector", self.backend.name)}),
                )
            ],
            0,
        )
        self.assertIn('journal="Bank \\"main\\"\\\\ EUR"', response.text)
        for family in ("finsync_sync_latency_seconds", "finsync_events_total", "finsync_jobs"):
            self.assertIn(f"# TYPE {family} ", response.text)
