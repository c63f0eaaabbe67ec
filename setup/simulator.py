"""Run one of finsync_testing's API simulators alone (``setup/run`` serves the demo ones).

    python setup/simulator.py finsync_testing.tools.stripe_simulator --port 8098

The repository's ``addons/`` joins the ``odoo.addons`` namespace, as Odoo's
addons path does, so a simulator imports ``finsync_testing``'s ``ApiSimulator``
the way it does inside Odoo. Its ``__main__`` part then serves demo data.
"""

import runpy
import sys
from pathlib import Path

import odoo.addons

ADDONS = Path(__file__).resolve().parents[1] / "addons"


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        raise SystemExit(
            "usage: setup/simulator.py finsync_testing.tools.<simulator> [its options]"
        )
    module = f"odoo.addons.{sys.argv[1]}"
    odoo.addons.__path__.append(str(ADDONS))
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
