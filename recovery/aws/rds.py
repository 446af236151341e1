"""RDS: the instance, its backups and snapshots (plan 2.1, 2.1.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from recovery.errors import NotFound
from recovery.timeutil import as_utc


def describe_instance(rds: Any, instance_id: str) -> dict[str, Any]:
    try:
        return dict(rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0])
    except ClientError as exc:
        if "NotFound" in str(exc.response.get("Error", {}).get("Code", "")):
            raise NotFound(f"RDS instance {instance_id} does not exist") from None
        raise


def taken_at(snap: dict[str, Any]) -> datetime:
    """When the snapshot's data was taken: `OriginalSnapshotCreateTime`, else `SnapshotCreateTime`.

    A copy (CopyDBSnapshot: re-encrypting with another KMS key, sharing, bringing one back from
    another region) gets a new `SnapshotCreateTime`, the time of the copy, and keeps its source's
    `OriginalSnapshotCreateTime` (API reference, DBSnapshot): judged by the first, a week-old copy
    made this morning passes for this morning's data. A snapshot still being created may carry
    neither yet: it is taken now.
    """
    stamp = snap.get("OriginalSnapshotCreateTime") or snap.get("SnapshotCreateTime")
    return as_utc(stamp) if stamp else datetime.now(UTC)


def list_snapshots(rds: Any, instance_id: str) -> list[dict[str, Any]]:
    """Automated and manual snapshots of `instance_id`, newest data first (`taken_at`)."""
    snaps: list[dict[str, Any]] = []
    for page in rds.get_paginator("describe_db_snapshots").paginate(DBInstanceIdentifier=instance_id):
        snaps.extend(page["DBSnapshots"])
    return sorted(snaps, key=taken_at, reverse=True)


def automated_backups(rds: Any, instance_id: str) -> list[dict[str, Any]]:
    """DescribeDBInstanceAutomatedBackups of `instance_id`, live (`active`) or deleted (`retained`).

    By the `db-instance-id` filter, every page, matched again here: the `DBInstanceIdentifier`
    parameter must name an existing instance (API reference), which a deleted one is not.
    """
    found: list[dict[str, Any]] = []
    pages = rds.get_paginator("describe_db_instance_automated_backups").paginate(
        Filters=[{"Name": "db-instance-id", "Values": [instance_id]}]
    )
    for page in pages:
        found += [b for b in page["DBInstanceAutomatedBackups"] if b.get("DBInstanceIdentifier") == instance_id]
    return found


def restore_window(backup: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """(earliest, latest) restorable time of an automated backup, or None without a window."""
    window = backup.get("RestoreWindow") or {}
    if not window.get("EarliestTime") or not window.get("LatestTime"):
        return None
    return as_utc(window["EarliestTime"]), as_utc(window["LatestTime"])


def instance_traces(rds: Any, instance_id: str, now: datetime) -> list[str]:
    """What in the account shows that `instance_id` existed here: its snapshots, backups or events.

    Empty for a name nothing knows (a typo). RDS keeps events 14 days; snapshots and retained
    backups as long as they are kept.
    """
    snaps = rds.describe_db_snapshots(DBInstanceIdentifier=instance_id, MaxRecords=20).get("DBSnapshots", [])
    if snaps:
        return [f"{len(snaps)}{'+' if len(snaps) == 20 else ''} snapshot(s)"]
    backups = automated_backups(rds, instance_id)
    if backups:
        return [f"{len(backups)} automated backup(s) ({', '.join(str(b.get('Status')) for b in backups)})"]
    events = rds.describe_events(
        SourceIdentifier=instance_id, SourceType="db-instance", StartTime=now - timedelta(days=14), EndTime=now
    ).get("Events", [])
    return [f"{len(events)} RDS event(s) in 14 days"] if events else []


def newest_snapshot(snapshots: list[dict[str, Any]], kind: str | None = None) -> dict[str, Any] | None:
    """Newest snapshot (of `kind` automated/manual if given) from a list, or None."""
    for snap in snapshots:
        if kind is None or snap.get("SnapshotType") == kind:
            return snap
    return None


def pitr_lag_seconds(instance: dict[str, Any], now: datetime) -> float | None:
    """now - LatestRestorableTime; None when the instance has no restorable time (no backups)."""
    lrt = instance.get("LatestRestorableTime")
    if lrt is None:
        return None
    return (now - as_utc(lrt)).total_seconds()


def window_minutes(window: str) -> tuple[int, int]:
    """'03:00-03:30' -> (180, 210) minutes after midnight UTC."""
    start, end = window.split("-")
    h1, m1 = (int(x) for x in start.split(":"))
    h2, m2 = (int(x) for x in end.split(":"))
    return h1 * 60 + m1, h2 * 60 + m2


def window_inside(window: str, allowed: tuple[int, int]) -> bool:
    """True if the backup window lies inside `allowed` (no wrap past midnight allowed)."""
    start, end = window_minutes(window)
    lo, hi = allowed
    if end < start:
        return False
    return lo <= start and end <= hi
