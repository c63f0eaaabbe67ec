from pathlib import Path

from odoo.modules.module import get_manifest
from odoo.tests import BaseCase, tagged

ADDONS = Path(__file__).resolve().parents[2]
SUPPORT = {"simulator.py", "generate.py", "benchmark.py"}


@tagged("post_install", "-at_install")
class TestNoSimulatorInProduction(BaseCase):
    def test_production_addons_ship_no_simulator_and_do_not_depend_on_this_one(self):
        addons = [
            path.name
            for path in ADDONS.glob("finsync_*")
            if path.name != "finsync_testing" and (path / "__manifest__.py").exists()
        ]
        self.assertIn("finsync_base", addons)
        for addon in addons:
            shipped = [
                str(path.relative_to(ADDONS))
                for path in (ADDONS / addon).rglob("*.py")
                if "tests" not in path.parts
                and (path.name in SUPPORT or path.name.endswith("_simulator.py"))
            ]
            self.assertEqual(shipped, [], f"{addon} ships test support code")
            self.assertNotIn("finsync_testing", get_manifest(addon)["depends"], addon)
