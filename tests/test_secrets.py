"""Safety invariant 4: no DB password in any report, JUnit, results file, log or test output.

Runs the real suite against the twin with faults that put passwords where a careless message
would echo them (a wrong password in a task definition, a FATAL line in the logs), then scans
stdout, stderr, every evidence file and the CloudWatch logs for every password in the account.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import SuiteRun, twin_env
from twin.core import Twin


def passwords_in_account(twin: Twin) -> set[str]:
    """The master password and every RDS_DB_PASSWORD any task definition carries."""
    found = {twin.password}
    for td in twin.backend("ecs").task_definitions.values():
        for revision in td.values():
            for c in revision.container_definitions:
                found.update(e["value"] for e in c.get("environment") or [] if e["name"] == "RDS_DB_PASSWORD")
    return {p for p in found if p}


def log_text(twin: Twin) -> str:
    logs = twin.backend("logs")
    return "\n".join(e.message for g in logs.groups.values() for s in g.streams.values() for e in s.events)


def assert_clean(run: SuiteRun, twin: Twin) -> None:
    text = run.all_text() + log_text(twin)
    secrets = passwords_in_account(twin)
    assert len(secrets) >= 1
    leaked = [p[:3] + "..." for p in secrets if p in text]
    assert leaked == [], f"{len(leaked)} password(s) leaked into the evidence or logs"


@pytest.mark.parametrize("faults", [(), ("password-mismatch",), ("task-def-missing-password", "wrong-db-endpoint")])
def test_health_evidence_holds_no_password(
    run_suite: Callable[..., SuiteRun], fresh_twin: Twin, faults: tuple[str, ...]
) -> None:
    fresh_twin.apply_faults(faults)
    run = run_suite("-m", "health", "-rA", "-vv", env=twin_env(fresh_twin))
    assert run.results["checks"], "the run produced no evidence to scan"
    if faults:
        assert run.results["outcome"] == "failed"
    assert_clean(run, fresh_twin)


def test_drill_evidence_holds_no_password(run_suite: Callable[..., SuiteRun], fresh_twin: Twin) -> None:
    env = {**twin_env(fresh_twin), "TURATH_DRILL_POLL_SECONDS": "0.5"}
    run = run_suite("-m", "drill", "-rA", "-vv", env=env, timeout=300)
    assert run.results["mode"] == "drill"
    assert_clean(run, fresh_twin)


def test_scan_catches_a_leak(fresh_twin: Twin, tmp_path: object) -> None:
    """The scan above proves something only if a leaked password makes it fail."""
    from pathlib import Path

    reports = Path(str(tmp_path)) / "reports"
    reports.mkdir()
    (reports / "results.json").write_text(f'{{"message": "auth with {fresh_twin.password} failed"}}')
    with pytest.raises(AssertionError, match="leaked"):
        assert_clean(SuiteRun(0, "", "", reports), fresh_twin)
