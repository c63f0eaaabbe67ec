from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestExceptionTour(HttpCase):
    def test_accountant_resolves_an_exception(self):
        accountant = new_test_user(
            self.env,
            login="tour_accountant",
            name="Anna Accountant",
            groups="base.group_user,finsync_base.group_finsync_accountant",
        )
        exception = self.env["finsync.exception"].create(
            {
                "name": "Tour: unmatched payment 4711",
                "exception_type": "unmatched",
                "user_id": False,
            }
        )
        self.start_tour("/odoo", "finsync_exception_tour", login="tour_accountant")
        self.assertEqual(exception.state, "resolved")
        self.assertEqual(exception.user_id, accountant)
        self.assertEqual(exception.resolved_by_id, accountant)
        self.assertEqual(exception.reason_id, self.env.ref("finsync_base.reason_matched"))
        self.assertIn("INV/2026/0042", exception.resolution_note)
