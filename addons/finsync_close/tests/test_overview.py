from datetime import date, timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..models.finsync_figures import business_days_between, freshness_colour
from .common_overview import OverviewCommon


@tagged("post_install", "-at_install")
class TestFigures(OverviewCommon):
    def test_unreconciled_count_amount_with_rounding_and_oldest(self):
        self._line(0.1, "2026-11-20")
        self._line(0.2, "2026-11-25")
        self._line(-0.05, "2026-11-18")
        figures = self.figures._unreconciled_by_journal(self.company)[self.journal.id]
        self.assertEqual(figures["count"], 3)
        self.assertEqual(figures["amount"], 0.25)  # 0.1 + 0.2 - 0.05, rounded to cents
        self.assertEqual(figures["currency_id"], self.currency.id)
        self.assertEqual(figures["oldest"], date(2026, 11, 18))
        self.assertEqual(self.journal.finsync_unreconciled_count, 3)

    def test_business_days_and_colours_at_the_boundary(self):
        wednesday, monday, friday = date(2026, 12, 2), date(2026, 11, 30), date(2026, 11, 27)
        self.assertEqual(business_days_between(date(2026, 12, 1), wednesday), 0)
        self.assertEqual(business_days_between(monday, wednesday), 1)
        self.assertEqual(business_days_between(friday, wednesday), 2)
        self.assertEqual(business_days_between(friday, monday), 0)  # the weekend
        self.assertEqual(business_days_between(date(2026, 11, 13), monday), 10)
        self.assertEqual(freshness_colour(0, 1), "green")
        self.assertEqual(freshness_colour(1, 1), "amber")
        self.assertEqual(freshness_colour(2, 1), "red")
        self.assertEqual(freshness_colour(1, 2), "green")
        self.assertEqual(freshness_colour(3, 2), "amber")
        self.assertEqual(freshness_colour(4, 2), "red")

    def test_freshness_per_journal(self):
        today = date(2026, 12, 2)  # a Wednesday
        self._line(5.0, "2026-11-30")
        fresh = self.figures._statement_freshness(self.company, today=today)[self.journal.id]
        self.assertEqual(
            (fresh["last_date"], fresh["age_days"], fresh["lag_days"]), (date(2026, 11, 30), 2, 1)
        )
        self.assertEqual(fresh["colour"], "amber")
        self.journal.finsync_cadence_days = 2
        fresh = self.figures._statement_freshness(self.company, today=today)[self.journal.id]
        self.assertEqual(fresh["colour"], "green")
        self._line(5.0, "2026-12-01")
        self.journal.finsync_cadence_days = 1
        fresh = self.figures._statement_freshness(self.company, today=today)[self.journal.id]
        self.assertEqual(fresh["colour"], "green")
        empty = self.env["account.journal"].create(
            {"name": "Empty Bank", "code": "EMB", "type": "bank"}
        )
        self.assertEqual(
            self.figures._statement_freshness(self.company, today=today)[empty.id]["colour"], "red"
        )

    def test_latency_quantiles_over_the_last_day(self):
        now = fields.Datetime.now()
        for seconds in (10, 20, 30, 40):
            self._event(
                self.backend, now - timedelta(hours=1, seconds=seconds), now - timedelta(hours=1)
            )
        # Older than 24 h, or not done: left out.
        self._event(self.backend, now - timedelta(hours=30), now - timedelta(hours=25))
        self._event(
            self.backend, now - timedelta(hours=2), now - timedelta(hours=1), state="failed"
        )
        latency = self.figures._sync_latency(self.company)[self.backend.id]
        self.assertEqual(latency["count"], 4)
        self.assertAlmostEqual(latency["p50"], 25.0, places=3)
        self.assertAlmostEqual(latency["p95"], 38.5, places=3)
        events = self.figures._events_by_state(self.company)
        self.assertEqual(events[(self.backend.id, "done")], 5)
        self.assertEqual(events[(self.backend.id, "failed")], 1)

    def test_settlement_aging_buckets(self):
        today = date(2026, 12, 2)
        Settlement = self.env["finsync.settlement"]
        for name, late, amount in (
            ("P1", -1, 10.0),
            ("P2", 0, 5.0),
            ("P3", 3, 7.0),
            ("P4", 4, 1.1),
            ("P5", 30, 2.2),
            ("P6", 31, 3.3),
        ):
            Settlement.create(
                {
                    "name": name,
                    "backend_id": self.backend.id,
                    "company_id": self.company.id,
                    "currency_id": self.currency.id,
                    "expected_date": today - timedelta(days=late),
                    "amount": amount,
                }
            )
        aging = self.figures._settlement_aging(self.company, today=today)[self.backend.id]
        self.assertEqual(
            {bucket: entry["count"] for bucket, entry in aging.items()},
            {"not_due": 2, "late_1_3": 1, "late_4_7": 1, "late_8_30": 1, "late_30": 1},
        )
        self.assertEqual(aging["not_due"]["amount"], 15.0)

    def test_exceptions_by_severity_age_and_owner(self):
        before = self.figures._exceptions_open(self.company)
        exceptions = self.env["finsync.exception"]
        exceptions.create(
            {
                "name": "A",
                "exception_type": "unmatched",
                "severity": "high",
                "user_id": self.user_user.id,
            }
        )
        low = exceptions.create({"name": "B", "exception_type": "unmatched", "severity": "low"})
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE finsync_exception SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(days=5), low.id),
        )
        after = self.figures._exceptions_open(self.company)

        def added(key, value):
            return after[key].get(value, 0) - before[key].get(value, 0)

        self.assertEqual(added("by_severity", "high"), 1)
        self.assertEqual(added("by_severity", "low"), 1)
        self.assertEqual(added("by_type_severity", ("unmatched", "high")), 1)
        self.assertEqual(added("by_age", "lt_1"), 1)
        self.assertEqual(added("by_age", "d_3_7"), 1)
        self.assertEqual(added("by_owner", self.user_user.id), 1)
        self.assertEqual(after["total"] - before["total"], 2)

    def test_trends(self):
        today = fields.Date.context_today(self.figures)
        before = self.figures._trends(self.company)["unreconciled_per_day"][-1][1]
        self._line(3.0, today)
        self._line(4.0, today)
        trends = self.figures._trends(self.company)
        self.assertEqual(
            trends["unreconciled_per_day"][-1], (fields.Date.to_string(today), before + 2)
        )
        self.assertEqual(len(trends["unreconciled_per_day"]), 30)
        self.assertEqual(len(trends["exceptions_per_week"]), 12)
        self.assertEqual(len(trends["auto_match_per_week"]), 12)


@tagged("post_install", "-at_install")
class TestOverviewCompanies(OverviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        data_b = cls.setup_other_company(name="Overview B")
        cls.company_b = data_b["company"]
        cls.journal_b = data_b["default_journal_bank"]
        cls.user_a = new_test_user(
            cls.env,
            login="fs_overview_a",
            groups="base.group_user,finsync_base.group_finsync_user",
            company_id=cls.company.id,
            company_ids=[(6, 0, cls.company.ids)],
        )

    def test_a_user_of_company_a_never_sees_b(self):
        self._line(11.0, "2026-11-20")
        self._line(99.0, "2026-11-20", journal=self.journal_b)
        data = self.env["finsync.figures"].with_user(self.user_a).get_overview(self.company.id)
        journals = {j["id"]: j for j in data["journals"]}
        self.assertEqual(journals[self.journal.id]["count"], 1)
        self.assertNotIn(self.journal_b.id, journals)
        with self.assertRaises(AccessError):
            self.env["finsync.figures"].with_user(self.user_a).with_context(
                allowed_company_ids=[self.company_b.id]
            ).get_overview(self.company_b.id)
        figures_b = self.figures._unreconciled_by_journal(self.company_b)
        self.assertEqual(list(figures_b), [self.journal_b.id])

    def test_no_finsync_group_no_overview(self):
        outsider = new_test_user(self.env, login="fs_outsider", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.env["finsync.figures"].with_user(outsider).get_overview(self.company.id)

    def test_overview_numbers_open_their_records(self):
        line = self._line(11.0, "2026-11-20")
        data = self.env["finsync.figures"].with_user(self.user_a).get_overview(self.company.id)
        journal = next(j for j in data["journals"] if j["id"] == self.journal.id)
        opened = self.env[journal["open_lines"]["res_model"]].search(
            journal["open_lines"]["domain"]
        )
        self.assertEqual(opened, line)
        self.assertEqual(journal["amount_display"].replace("\xa0", " ").count("11.00"), 1)


@tagged("post_install", "-at_install")
class TestJournalDashboard(OverviewCommon):
    def test_dashboard_fields(self):
        self._line(1.0, fields.Date.context_today(self.figures) - timedelta(days=40))
        self.assertEqual(self.journal.finsync_unreconciled_count, 1)
        self.assertEqual(self.journal.finsync_freshness, "red")
        action = self.journal.action_finsync_open_unreconciled()
        self.assertEqual(self.env[action["res_model"]].search_count(action["domain"]), 1)
        view = self.env.ref("account.account_journal_dashboard_kanban_view")
        self.assertIn("finsync_unreconciled_count", view.get_combined_arch())
