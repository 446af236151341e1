"""The drill fault matrix: each fault the drill detects makes exactly its drill checks fail or error.

Each run is `pytest -m drill` in a subprocess pointed at the twin with `--target aws`, as an
operator points it at an AWS-compatible endpoint, after `twin.apply_faults((name,))`. A failing
check's message starts with its plan section; a check that errors because a step broke carries
the step's diagnosis, which starts with the plan section of the symptom. Whatever fails, the drill
leaves nothing behind.

Faults the drill is unaffected by are proven so too: the drill restores, redeploys and reindexes
around them, as the plan's procedure is meant to.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.conftest import SuiteRun, twin_env
from tests.test_fault_matrix import all_checks
from twin.core import Twin
from twin.faults import CATALOG, FAULTS

# reporting.py files a check errored by a broken step as
# "§<section> <symptom>: ... [error: drill step '<step>' failed; this check needs it]".
STEP_ERROR = re.compile(r"^(?P<diagnosis>§.*) \[error: drill step '(?P<step>\w+)' failed; this check needs it\]$", re.S)

# Production faults a drill recovers around (it replaces RDS_DB_HOST, clones what serves).
DRILL_UNAFFECTED = ("wrong-db-endpoint", "deployment-failed")
# Faults that break a drill step: every check that needs the step ERRORs naming it; no other
# check may ERROR. The catalog's `drill` lists what fails or errors; the checks that FAIL by their
# own assertion are those not behind the broken step (the gate's verdict, the leak check).
BREAKS_STEP = {
    "password-mismatch": "restore",
    "s3-access-denied": "storage",
    "snapshot-stale": "snapshot_gate",
    "cli-entrypoint-bypass": "reindex",
}


def run_drill(run_suite: Callable[..., SuiteRun], twin: Twin) -> SuiteRun:
    env = {**twin_env(twin), "TURATH_DRILL_POLL_SECONDS": "0.5"}
    return run_suite("-m", "drill", "-p", "no:randomly", env=env, timeout=300)


@pytest.mark.parametrize("name", [f.name for f in FAULTS if f.drill])
def test_drill_fault_fails_exactly_its_checks(run_suite: Callable[..., SuiteRun], fresh_twin: Twin, name: str) -> None:
    fault = CATALOG[name]
    fresh_twin.apply_faults((name,))
    run = run_drill(run_suite, fresh_twin)
    assert run.failing() == set(fault.drill), run.stdout[-4000:]
    assert run.returncode == 1, run.stdout[-4000:]
    errored = {c["id"] for c in run.results["checks"] if c["outcome"] == "error"}
    step = BREAKS_STEP.get(name)
    assert run.results["drill"]["failed_step"] == step, run.stdout[-4000:]
    if step is None:
        assert errored == set(), f"{name} breaks no step, yet these errored: {sorted(errored)}"
    else:
        assert errored, f"{name} breaks step {step}, yet no check errored"
    leftovers = run.results["drill"]["leftovers"]
    if "drill_left_nothing_behind" in fault.drill:
        assert leftovers, "the leak check failed but results.json names no leftover"
    else:
        assert leftovers == []
    checks = all_checks()
    for entry in run.results["checks"]:
        if entry["outcome"] == "failed":
            section = checks[entry["id"]].plan_section
            assert entry["message"].startswith(f"§{section} {entry['id']}:"), entry["message"]
        elif entry["outcome"] == "error":
            found = STEP_ERROR.match(entry["message"])
            assert found, entry["message"]
            assert found["diagnosis"].startswith("§"), entry["message"]
            assert "Root cause:" in found["diagnosis"], entry["message"]
            assert "Fix:" in found["diagnosis"], entry["message"]
            assert found["step"] == step


@pytest.mark.parametrize("name", DRILL_UNAFFECTED)
def test_drill_recovers_around(run_suite: Callable[..., SuiteRun], fresh_twin: Twin, name: str) -> None:
    assert not CATALOG[name].drill, f"{name} is catalogued as detected by the drill"
    fresh_twin.apply_faults((name,))
    run = run_drill(run_suite, fresh_twin)
    assert run.failing() == set(), run.stdout[-4000:]
    assert run.results["drill"]["leftovers"] == []


def test_every_drill_check_can_fail() -> None:
    drill_checks = {cid for cid, meta in all_checks().items() if "drill" in meta.modes}
    broken = {check for fault in FAULTS for check in fault.drill}
    # The objectives are broken by settings, not by a fault: tests/drill/test_objectives.py.
    never = sorted(drill_checks - broken - {"drill_rto_within_objective", "drill_rpo_within_objective"})
    assert never == [], f"no fault breaks these drill checks: {never}"
