"""``setup/bench faults``: how its verdicts are reached (the scenarios themselves take
minutes and run as ``setup/bench faults --kill-jobs`` / ``--pg-restart``; README
"Failure behaviour")."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "setup" / "bench_faults.py"


def _bench():
    spec = importlib.util.spec_from_file_location("finsync_bench_faults", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_refusal_that_is_not_5xx_is_counted_against_the_restart():
    bench = _bench()
    attempts = [
        (0, 100.0, 200),
        (1, 101.0, 503),
        (1, 101.5, "ConnectionError"),
        (1, 102.0, 200),
        (2, 101.2, 404),
        (2, 103.0, 200),
    ]
    figures = bench.storm_figures(attempts, {"restart_at": 101.0, "ready_at": 101.8}, 99.0)
    assert figures["non_5xx_refusals"] == 1, "a 404 says the endpoint is wrong"
    assert figures["failed_answers"] == 3
    assert figures["retried_deliveries"] == 2
    assert figures["max_attempts"] == 3
    assert figures["restart_s"] == 0.8


def test_the_statement_killed_is_named_without_its_values():
    bench = _bench()
    query = "INSERT INTO \"account_move_line\" (name, amount) VALUES ('Customer 00042 BV', 12.5)"
    assert bench._statement(query) == "INSERT INTO account_move_line"
    assert bench._statement("UPDATE finsync_transaction SET x = 'secret'") == (
        "UPDATE finsync_transaction"
    )
