"""Safety invariant 1: a health run makes no mutating AWS call (recorded at the twin's endpoint)."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import SuiteRun, twin_env
from twin.core import Twin


def test_health_run_makes_only_read_calls(run_suite: Callable[..., SuiteRun], fresh_twin: Twin) -> None:
    fresh_twin.server.recorder.clear()
    run = run_suite("-m", "health", "-n", "2", env=twin_env(fresh_twin))
    assert run.returncode == 0, run.stdout[-3000:]
    ops = fresh_twin.operations()
    assert len(ops) > 20, "the recorder saw too few calls to prove anything"
    mutating = sorted({f"{o.service}:{o.name}" for o in ops if not o.read_only})
    assert mutating == [], f"health made mutating calls: {mutating}"
    services = {o.service for o in ops}
    assert {"rds", "s3", "ecs"} <= services


def test_recorder_does_see_mutations(fresh_twin: Twin) -> None:
    """The read-only test above proves something only if the recorder flags a write."""
    fresh_twin.server.recorder.clear()
    fresh_twin.client("s3").put_bucket_versioning(
        Bucket=fresh_twin.spec.files_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    fresh_twin.client("rds").modify_db_instance(
        DBInstanceIdentifier=fresh_twin.spec.rds_instance, BackupRetentionPeriod=7, ApplyImmediately=True
    )
    flagged = {o.name for o in fresh_twin.operations() if not o.read_only}
    assert "ModifyDBInstance" in flagged
    assert any(name.startswith("PUT ") for name in flagged)
