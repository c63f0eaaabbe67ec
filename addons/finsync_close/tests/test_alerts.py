from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common_overview import OverviewCommon


@tagged("post_install", "-at_install")
class TestAlerts(OverviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule = cls.env["finsync.alert.rule"].create(
            {
                "name": "Too much unreconciled",
                "kind": "unreconciled_amount",
                "threshold": 100.0,
                "user_id": cls.accountant_user.id,
                "send_email": True,
            }
        )
        cls.Alert = cls.env["finsync.alert"]

    def _mine(self):
        return self.Alert.search(
            [("rule_id", "=", self.rule.id), ("subject_id", "=", self.journal.id)]
        )

    def test_crossing_opens_one_alert_with_an_activity_and_recovery_closes_it(self):
        self._line(60.0, "2026-11-20")
        self.Alert._cron_evaluate()
        self.assertFalse(self._mine())
        line = self._line(70.0, "2026-11-21")
        self.Alert._cron_evaluate()
        alert = self._mine()
        self.assertEqual(len(alert), 1)
        self.assertEqual((alert.state, alert.value), ("open", 130.0))
        self.assertEqual(alert.sudo().activity_ids.user_id, self.accountant_user)
        self.assertTrue(alert.sudo().message_ids.filtered(lambda m: m.message_type == "comment"))
        # Still above: no second alert, no second activity.
        self._line(5.0, "2026-11-22")
        self.Alert._cron_evaluate()
        self.assertEqual(self._mine(), alert)
        self.assertEqual(len(alert.sudo().activity_ids), 1)
        self.assertEqual(alert.value, 135.0)
        # Recovered: closed, its activity done.
        line.move_id.button_cancel()
        self.Alert._cron_evaluate()
        self.assertEqual(alert.state, "closed")
        self.assertFalse(alert.sudo().activity_ids)

    def test_statement_age_per_journal(self):
        rule = self.env["finsync.alert.rule"].create(
            {
                "name": "Old",
                "kind": "statement_age",
                "threshold": 30,
                "user_id": self.accountant_user.id,
            }
        )
        self._line(1.0, "2020-01-01")
        self.Alert._cron_evaluate()
        alert = self.Alert.search([("rule_id", "=", rule.id), ("subject_id", "=", self.journal.id)])
        self.assertEqual(alert.subject_model, "account.journal")
        self.assertGreater(alert.value, 30)

    def test_people_cannot_write_alerts(self):
        self._line(500.0, "2026-11-20")
        self.Alert._cron_evaluate()
        alert = self._mine()
        with self.assertRaises(AccessError):
            alert.with_user(self.manager_user).write({"state": "closed"})
        with self.assertRaises(AccessError):
            self.Alert.with_user(self.manager_user).create(
                {
                    "name": "x",
                    "rule_id": self.rule.id,
                    "company_id": self.company.id,
                    "subject_model": "res.company",
                    "subject_id": self.company.id,
                }
            )
        self.assertEqual(alert.state, "open")
