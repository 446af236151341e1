"""The snapshot gate (plan 2.1.1, 6.2, 7): restore only from a recovery point that can hold the data.

Good: the drill restores the newest snapshot that is available, at least the size threshold,
not taken within 30 minutes of a credential reset, modification or migration (RDS events), and
newer than the last data upload; or a point in time inside [earliest, latest restorable]. It
refuses otherwise, with the checklist table as evidence (the Feb 28 incident: a snapshot taken
during a password migration restored an empty database).

The size is the instance's provisioned storage, not the data (see FACTS): the restore-and-count
of the drill is what proves content; the gate keeps the plan's threshold because the plan asks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from recovery import diagnosis
from recovery.aws import rds as rds_api
from recovery.aws import s3 as s3_api
from recovery.errors import ConfigError, StepFailed
from recovery.timeutil import as_utc, human_age, iso

log = logging.getLogger(__name__)

STEP = "snapshot_gate"
EVENT_WINDOW = timedelta(minutes=30)
EVENT_HISTORY = timedelta(days=14)  # RDS keeps events for 14 days
RISKY_EVENT_WORDS = ("reset master credentials", "master password", "modified", "modification", "migration")


@dataclass
class GateRow:
    """One row of the §2.1.1 checklist, with the gate's verdict and why."""

    snapshot: str
    type: str
    created: datetime
    age: str
    allocated_gib: int
    status: str
    verdict: str = "pass"
    reasons: list[str] = field(default_factory=list)
    signs: list[str] = field(default_factory=list)  # diagnosis.SIGNS keys, one per reason

    def as_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot,
            "type": self.type,
            "created": iso(self.created),
            "age": self.age,
            "allocated_gib": self.allocated_gib,
            "status": self.status,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "signs": list(self.signs),
        }


@dataclass
class GateDecision:
    """What to restore: a snapshot, or a point in time (`use_latest` = latest restorable time)."""

    mode: str  # "snapshot" | "point-in-time"
    recovery_point: datetime
    snapshot_id: str | None = None
    restore_time: datetime | None = None
    use_latest: bool = False
    rows: list[GateRow] = field(default_factory=list)
    last_upload: datetime | None = None
    events: list[dict[str, str]] = field(default_factory=list)
    window: tuple[datetime, datetime] | None = None

    def as_state(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "recovery_point": iso(self.recovery_point),
            "snapshot": self.snapshot_id,
            "restore_time": iso(self.restore_time) if self.restore_time else None,
            "use_latest": self.use_latest,
            "last_upload": iso(self.last_upload) if self.last_upload else None,
            "rows": [r.as_dict() for r in self.rows],
            "events": self.events,
            "window": [iso(w) for w in self.window] if self.window else None,
        }


def parse_restore_time(raw: str) -> tuple[datetime | None, bool]:
    """'' -> snapshot mode; 'latest' -> latest restorable; ISO-8601 -> that time (UTC if no zone)."""
    raw = raw.strip()
    if not raw:
        return None, False
    if raw.lower() == "latest":
        return None, True
    try:
        return as_utc(raw), False
    except ValueError:
        raise ConfigError(
            "TURATH_RESTORE_TIME (--restore-time)", f"expected 'latest' or ISO-8601, got {raw!r}"
        ) from None


def last_upload(objects: Iterable[dict[str, Any]]) -> datetime | None:
    """Newest LastModified among the files bucket's objects (a listing: ~2.4 s per 10k objects)."""
    return max((as_utc(obj["LastModified"]) for obj in objects), default=None)


def upload_time(objects: Callable[[], Iterable[dict[str, Any]]], configured: str) -> datetime | None:
    """The last data upload: TURATH_LAST_UPLOAD_TIME if set, else the newest object `objects()` lists."""
    if not configured.strip():
        return last_upload(objects())
    try:
        return as_utc(configured.strip())
    except ValueError:
        raise ConfigError("TURATH_LAST_UPLOAD_TIME", f"expected ISO-8601, got {configured!r}") from None


def checklist(
    rds: Any, instance_id: str, snapshots: list[dict[str, Any]], *, min_gb: int, now: datetime, upload: datetime | None
) -> tuple[list[GateRow], list[dict[str, str]]]:
    """The §2.1.1 checklist of every snapshot (newest first), and the risky RDS events it used.

    Read-only (DescribeEvents); a ClientError reading the events propagates.
    """
    oldest = min((as_utc(s["SnapshotCreateTime"]) for s in snapshots), default=now)
    start = max(oldest - EVENT_WINDOW, now - EVENT_HISTORY)
    events = risky_events(rds, instance_id, start, now)
    return [judge_snapshot(s, now, min_gb, upload, events) for s in snapshots], events


def risky_events(rds: Any, instance_id: str, start: datetime, end: datetime) -> list[dict[str, str]]:
    """RDS events of the instance that signal a reset, modification or migration."""
    out: list[dict[str, str]] = []
    kwargs: dict[str, Any] = {
        "SourceIdentifier": instance_id,
        "SourceType": "db-instance",
        "StartTime": start,
        "EndTime": end,
    }
    while True:
        resp = rds.describe_events(**kwargs)
        for event in resp.get("Events", []):
            message = str(event.get("Message", ""))
            if any(word in message.lower() for word in RISKY_EVENT_WORDS):
                out.append({"date": iso(as_utc(event["Date"])), "message": message})
        if not resp.get("Marker"):
            return out
        kwargs["Marker"] = resp["Marker"]


def judge_snapshot(
    snap: dict[str, Any], now: datetime, min_gb: int, upload: datetime | None, events: list[dict[str, str]]
) -> GateRow:
    created = as_utc(snap["SnapshotCreateTime"])
    row = GateRow(
        snapshot=snap["DBSnapshotIdentifier"],
        type=str(snap.get("SnapshotType", "")),
        created=created,
        age=human_age((now - created).total_seconds()),
        allocated_gib=int(snap.get("AllocatedStorage") or 0),
        status=str(snap.get("Status", "")),
    )
    if row.status != "available":
        row.reasons.append(f"status {row.status}, not available")
        row.signs.append("unavailable")
    if row.allocated_gib < min_gb:
        row.reasons.append(f"{row.allocated_gib} GiB < {min_gb} GB: likely empty or partial (plan 2.1.1)")
        row.signs.append("small")
    for event in events:
        at = as_utc(event["date"])
        if abs(at - created) <= EVENT_WINDOW:
            row.reasons.append(
                f"taken {human_age(abs((at - created).total_seconds()))} from RDS event: {event['message']} "
                f"({event['date']})"
            )
            row.signs.append("during-change")
    if upload is not None and created < upload:
        row.reasons.append(f"older than the last data upload ({iso(upload)}): misses it (plan 2.1.1 step 3)")
        row.signs.append("older-than-upload")
    row.verdict = "fail" if row.reasons else "pass"
    return row


def table_text(rows: list[GateRow]) -> str:
    lines = ["snapshot | type | created | age | GiB | status | verdict | reasons"]
    lines += [
        f"{r.snapshot} | {r.type} | {iso(r.created)} | {r.age} | {r.allocated_gib} | {r.status} | {r.verdict} | "
        + "; ".join(r.reasons)
        for r in rows
    ]
    return "\n".join(lines)


def choose(
    rds: Any,
    s3: Any,
    *,
    instance_id: str,
    files_bucket: str,
    min_gb: int,
    now: datetime,
    restore_time: str = "",
    last_upload_time: str = "",
) -> GateDecision:
    """The recovery point to restore, or StepFailed with the checklist table as diagnostics."""
    when, use_latest = parse_restore_time(restore_time)
    instance = rds_api.describe_instance(rds, instance_id)
    if when is not None or use_latest:
        return _point_in_time(instance, now, when, use_latest)
    snapshots = rds_api.list_snapshots(rds, instance_id)
    upload = upload_time(lambda: s3_api.iter_objects(s3, files_bucket), last_upload_time)
    try:
        rows, events = checklist(rds, instance_id, snapshots, min_gb=min_gb, now=now, upload=upload)
    except ClientError as exc:
        raise StepFailed(STEP, f"cannot read RDS events of {instance_id}: {exc}") from exc
    decision = GateDecision(mode="snapshot", recovery_point=now, rows=rows, last_upload=upload, events=events)
    passing = next((r for r in rows if r.verdict == "pass"), None)
    if passing is None:
        table = [r.as_dict() for r in rows]
        raise StepFailed(
            STEP,
            diagnosis.gate_refused(instance_id, files_bucket, table, upload).text(),
            {"checklist": table, "table": table_text(rows), "events": events},
        )
    decision.snapshot_id = passing.snapshot
    decision.recovery_point = passing.created
    log.info("snapshot gate: %s (%s old) passes", passing.snapshot, passing.age)
    return decision


def _point_in_time(instance: dict[str, Any], now: datetime, when: datetime | None, use_latest: bool) -> GateDecision:
    ident = instance["DBInstanceIdentifier"]
    latest_raw = instance.get("LatestRestorableTime")
    retention = int(instance.get("BackupRetentionPeriod") or 0)
    if latest_raw is None or retention <= 0:
        raise StepFailed(STEP, f"{ident} has no point-in-time recovery (automated backups off, plan 2.1)")
    latest = as_utc(latest_raw)
    earliest = now - timedelta(days=retention)
    created = instance.get("InstanceCreateTime")
    if created is not None:
        earliest = max(earliest, as_utc(created))
    point = latest if use_latest else when
    if point is None:
        raise ConfigError("TURATH_RESTORE_TIME (--restore-time)", "expected 'latest' or an ISO-8601 time")
    if not earliest <= point <= latest:
        raise StepFailed(
            STEP,
            f"restore time {iso(point)} is outside {ident}'s restorable window [{iso(earliest)}, {iso(latest)}]",
            {"earliest_restorable": iso(earliest), "latest_restorable": iso(latest), "requested": iso(point)},
        )
    return GateDecision(
        mode="point-in-time",
        recovery_point=point,
        restore_time=None if use_latest else point,
        use_latest=use_latest,
        window=(earliest, latest),
    )
