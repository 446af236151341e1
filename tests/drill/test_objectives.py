"""The RTO and RPO checks each fail on their own when the measured drill misses its objective (plan §5).

Every step succeeds in these runs (no ERROR): only the judging check fails, by its own assertion.
Slow recoveries are the RTO check's verdict, never a step failure: waits have their own timeouts.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import SuiteRun, twin_env
from twin.core import Twin


@pytest.mark.parametrize(
    ("setting", "check"),
    [
        # The twin's drill takes seconds: an RTO of 1 s cannot be met, the RPO (~95 s lag) can.
        ("TURATH_RTO_SECONDS=1", "drill_rto_within_objective"),
        # The twin's PITR lag is ~95 s (a twin constant): an RPO of 1 s cannot be met, the RTO can.
        ("TURATH_RPO_SECONDS=1", "drill_rpo_within_objective"),
    ],
)
def test_missed_objective_fails_its_check_alone(
    run_suite: Callable[..., SuiteRun], fresh_twin: Twin, setting: str, check: str
) -> None:
    env = {**twin_env(fresh_twin), "TURATH_DRILL_POLL_SECONDS": "0.5"}
    run = run_suite("-m", "drill", "--set", setting, env=env, timeout=300)
    outcomes = {c["id"]: c["outcome"] for c in run.results["checks"]}
    assert {cid for cid, o in outcomes.items() if o == "failed"} == {check}, run.stdout[-3000:]
    assert "error" not in outcomes.values(), run.stdout[-3000:]
    drill = run.results["drill"]
    assert drill["failed_step"] is None
    assert drill["leftovers"] == []
    failed = next(c for c in run.results["checks"] if c["id"] == check)
    assert failed["message"].startswith(f"§5 {check}:"), failed["message"]
