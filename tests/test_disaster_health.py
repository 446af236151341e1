"""Health reports the disaster itself (issue 11 item 1): production's instance gone or stopped.

Each situation is made through the public API (boto3 against the twin), then `pytest -m health`
runs against it with `--target aws`, as an operator's would against AWS.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import SuiteRun, twin_env
from twin.core import Twin

FINAL = "invenio-default-rds-final"


def check_row(run: SuiteRun, check_id: str) -> dict[str, str]:
    return next(c for c in run.results["checks"] if c["id"] == check_id)


def test_deleted_instance_fails_health_with_its_recovery_points(
    fresh_twin: Twin, run_suite: Callable[..., SuiteRun]
) -> None:
    """Was: `configuration error: TURATH_RDS_INSTANCE: RDS instance ... does not exist` (exit 4), no report."""
    rds = fresh_twin.client("rds")
    prod = fresh_twin.spec.rds_instance
    rds.delete_db_instance(DBInstanceIdentifier=prod, FinalDBSnapshotIdentifier=FINAL, DeleteAutomatedBackups=False)
    [backup] = [
        b
        for b in rds.describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"]
        if b["Status"] == "retained"
    ]
    run = run_suite("-m", "health", env=twin_env(fresh_twin))
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    assert run.results["outcome"] == "failed"
    row = check_row(run, "rds_instance_available")
    assert (row["outcome"], row["severity"], row["plan_section"]) == ("failed", "critical", "2.1")
    message = row["message"]
    assert f"{prod} does not exist" in message
    assert FINAL in message, "the final snapshot is the first recovery point to show"
    assert backup["DBInstanceAutomatedBackupsArn"] in message
    assert "retained" in message
    # The printed fix is the recovery itself, from what the account still holds.
    fix, arn = row["remediation"], backup["DBInstanceAutomatedBackupsArn"]
    assert f"restore-db-instance-to-point-in-time --source-db-instance-automated-backups-arn {arn}" in fix
    assert f"restore-db-instance-from-db-snapshot --db-snapshot-identifier {FINAL}" in fix
    # The checks of the instance's settings have nothing to judge: they say so, they do not crash.
    retention = check_row(run, "rds_backup_retention_at_least_7_days")
    assert retention["outcome"] == "skipped"
    assert "rds_instance_available" in retention["message"]
    assert "Traceback" not in run.stderr
    assert [c["id"] for c in run.results["checks"] if c["outcome"] == "error"] == [], (
        "a skip or a failure, never a crash"
    )


def test_stopped_instance_fails_health_critically(fresh_twin: Twin, run_suite: Callable[..., SuiteRun]) -> None:
    """Was: a stopped production instance left health all green."""
    prod = fresh_twin.spec.rds_instance
    fresh_twin.client("rds").stop_db_instance(DBInstanceIdentifier=prod)
    run = run_suite("checks/rds/test_instance.py", env=twin_env(fresh_twin))
    assert run.returncode == 1, run.stdout[-3000:]
    row = check_row(run, "rds_instance_available")
    assert (row["outcome"], row["severity"]) == ("failed", "critical")
    assert f"{prod} is stopped" in row["message"]
    assert f"aws rds start-db-instance --db-instance-identifier {prod}" in row["remediation"]
