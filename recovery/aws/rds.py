"""RDS: the instance, its backups and snapshots (plan 2.1, 2.1.1)."""

from __future__ import annotations

from datetime import datetime
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


def list_snapshots(rds: Any, instance_id: str) -> list[dict[str, Any]]:
    """Automated and manual snapshots of `instance_id`, newest first."""
    snaps: list[dict[str, Any]] = []
    for page in rds.get_paginator("describe_db_snapshots").paginate(DBInstanceIdentifier=instance_id):
        snaps.extend(page["DBSnapshots"])
    return sorted(snaps, key=lambda s: as_utc(s["SnapshotCreateTime"]), reverse=True)


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
