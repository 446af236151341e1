"""Plan §2.1: automated backups, retention, backup window, point-in-time recovery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fixtures.meta import check
from recovery.aws import rds as rds_api
from recovery.settings import Settings
from recovery.timeutil import human_age, iso, utcnow


@check(
    "2.1",
    severity="critical",
    remediation="aws rds modify-db-instance --db-instance-identifier {rds_instance} "
    "--backup-retention-period {retention_days} --apply-immediately",
)
def test_rds_automated_backups_enabled(
    rds_instance: dict[str, Any], settings: Settings, observed: Callable[[str], None]
) -> None:
    """Automated backups are on: BackupRetentionPeriod > 0."""
    retention = rds_instance.get("BackupRetentionPeriod", 0)
    observed(f"BackupRetentionPeriod {retention} d > 0" if retention > 0 else "BackupRetentionPeriod 0: backups off")
    assert retention > 0, (
        f"automated backups are OFF on {settings.rds_instance} (BackupRetentionPeriod={retention}): "
        "no automated snapshots and no point-in-time recovery exist"
    )


@check(
    "2.1",
    severity="high",
    remediation="aws rds modify-db-instance --db-instance-identifier {rds_instance} "
    "--backup-retention-period {retention_days} --apply-immediately",
)
def test_rds_backup_retention_at_least_7_days(
    rds_instance: dict[str, Any], settings: Settings, observed: Callable[[str], None]
) -> None:
    """Backups are retained at least the plan's 7 days (configurable)."""
    retention = rds_instance.get("BackupRetentionPeriod", 0)
    relation = ">=" if retention >= settings.retention_days else "<"
    observed(f"retention {retention} d {relation} {settings.retention_days} d")
    assert retention >= settings.retention_days, (
        f"{settings.rds_instance} keeps backups {retention} day(s); the plan requires "
        f"{settings.retention_days} (point-in-time recovery only reaches back that far)"
    )


@check(
    "2.1",
    severity="medium",
    remediation="aws rds modify-db-instance --db-instance-identifier {rds_instance} "
    "--preferred-backup-window 03:00-03:30 --apply-immediately",
)
def test_rds_backup_window_within_plan_window(
    rds_instance: dict[str, Any], settings: Settings, observed: Callable[[str], None]
) -> None:
    """The daily backup window lies inside the plan's 03:00-06:00 UTC."""
    window = rds_instance.get("PreferredBackupWindow") or "(none)"
    ok = window != "(none)" and rds_api.window_inside(window, settings.backup_window)
    observed(f"backup window {window} UTC {'inside' if ok else 'outside'} {settings.backup_window_text} UTC")
    assert ok, (
        f"{settings.rds_instance} backs up in {window} UTC, outside the plan's window {settings.backup_window_text} UTC"
    )


@check(
    "2.1",
    severity="high",
    remediation="aws rds describe-db-instances --db-instance-identifier {rds_instance} "
    "--query 'DBInstances[0].[BackupRetentionPeriod,LatestRestorableTime]'; if backups are on and the "
    "lag persists, open an AWS support case: transaction logs are not being archived",
)
def test_rds_pitr_lag_within_rpo(
    rds_instance: dict[str, Any], settings: Settings, observed: Callable[[str], None]
) -> None:
    """Point-in-time recovery reaches to within the RPO of now (plan §5: < 5 minutes)."""
    now = utcnow()
    lag = rds_api.pitr_lag_seconds(rds_instance, now)
    assert lag is not None, (
        f"{settings.rds_instance} has no LatestRestorableTime: point-in-time recovery is unavailable"
    )
    lrt = rds_instance["LatestRestorableTime"]
    relation = "<=" if lag <= settings.rpo_seconds else ">"
    observed(f"PITR lag {lag:.0f} s {relation} {settings.rpo_seconds} s (latest restorable {iso(lrt)})")
    assert lag <= settings.rpo_seconds, (
        f"{settings.rds_instance} can only be restored to {iso(lrt)}, {human_age(lag)} ago; "
        f"the RPO is {settings.rpo_seconds} s: a disaster now would lose {human_age(lag)} of data"
    )
