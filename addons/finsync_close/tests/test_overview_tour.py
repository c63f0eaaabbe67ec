from odoo.tests import HttpCase, new_test_user, tagged

from .common_overview import OverviewCommon


@tagged("post_install", "-at_install")
class TestOverviewTour(OverviewCommon, HttpCase):
    def test_overview_tour(self):
        self.journal.name = "Tour Bank"
        self._line(12.0, "2026-11-20", label="Tour line A")
        self._line(-3.0, "2026-11-21", label="Tour line B")
        new_test_user(
            self.env,
            login="fs_tour",
            groups="base.group_user,account.group_account_user,finsync_base.group_finsync_user",
            company_id=self.company.id,
            company_ids=[(6, 0, self.company.ids)],
        )
        self.start_tour(
            "/odoo/action-finsync_close.action_finsync_overview",
            "finsync_close_overview_tour",
            login="fs_tour",
        )
