"""The RTO and RPO checks fail when the measured drill misses the objective (plan §5)."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import SuiteRun, twin_env
from twin.core import Twin


def test_missed_objectives_fail_exactly_their_checks(run_suite: Callable[..., SuiteRun], fresh_twin: Twin) -> None:
    env = {**twin_env(fresh_twin), "TURATH_DRILL_POLL_SECONDS": "0.5"}
    # The twin's drill takes seconds and its PITR lag is ~95 s: objectives of 1 s cannot be met.
    run = run_suite(
        "-m", "drill", "--set", "TURATH_RTO_SECONDS=1", "--set", "TURATH_RPO_SECONDS=1", env=env, timeout=300
    )
    assert run.failing() == {"drill_rto_within_objective", "drill_rpo_within_objective"}, run.stdout[-3000:]
    drill = run.results["drill"]
    assert drill["rto_objective_seconds"] == 1
    assert drill["rto_seconds"] > 1
    assert drill["rpo_seconds"] > drill["rpo_objective_seconds"]
    assert drill["leftovers"] == []
    for entry in run.results["checks"]:
        if entry["outcome"] == "failed":
            assert entry["message"].startswith(f"§5 {entry['id']}:"), entry["message"]
