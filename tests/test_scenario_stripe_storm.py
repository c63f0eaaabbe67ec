"""Cross-addon scenario: a webhook storm against Odoo running with workers.

1,000 signed Stripe deliveries (30 % duplicates, shuffled) from 8 concurrent
clients to an Odoo with HTTP workers and the job runner, on the test database,
through ``setup/bench_webhooks.py``: each event stored once and processed once,
the clearing journal's total equal to the source's, no posted entry unbalanced.
``FINSYNC_STORM_EVENTS`` changes the number of deliveries.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import odoo

SCRIPT = Path(__file__).resolve().parents[1] / "setup" / "bench_webhooks.py"


def _database():
    name = odoo.tools.config["db_name"]
    return name[0] if isinstance(name, list | tuple) else name.split(",")[0]


def test_webhook_storm_stores_and_processes_each_event_once():
    events = int(os.environ.get("FINSYNC_STORM_EVENTS", "1000"))
    config = odoo.tools.config
    command = [
        sys.executable,
        str(SCRIPT),
        "--events",
        str(events),
        "--clients",
        "8",
        "--db",
        _database(),
        "--config",
        config.rcfile,
        "--data-dir",
        os.environ.get("FINSYNC_DATA_DIR") or config["data_dir"],
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"no RESULT line:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    result = json.loads(lines[-1].removeprefix("RESULT "))
    print(run.stdout)
    assert result["events"] == events
    assert result["refused"] == 0, "every signed delivery, duplicate or not, is answered 200"
    assert result["duplicates"] == 0, "no event stored or booked twice"
    assert result["lost"] == 0, "every accepted event processed"
    assert result["unbalanced"] == 0, "every posted entry balances"
    assert result["totals_match"], "the clearing journal's total is the source's"
    assert run.returncode == 0
