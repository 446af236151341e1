"""What a restore now would recover (plan 2.1, 2.1.1, 5, 6.2, 7), for health and the drill.

Good: point-in-time recovery reaches to within the RPO of now, and the fallback, the newest
available snapshot, passes the §2.1.1 checklist: available, at least the size threshold, not
taken within 30 minutes of a credential reset, modification or migration (RDS events), and not
older than the daily schedule allows. On a live library files are uploaded all day, after the
nightly snapshot: restoring that snapshot instead of a point in time loses them. That window is
reported (a row's `notes`), never a reason to refuse it; tonight's snapshot while it is being
created is normal and is not a candidate.

The drill's default recovery point is one a live account always has: the latest restorable time
when PITR is healthy, else the newest snapshot that passes the checklist; the decision says why
(`reason`). The size is the instance's provisioned storage, not the data (see FACTS): the
restore-and-count of the drill is what proves content; the gate keeps the plan's threshold.
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
from recovery.errors import ConfigError, NotFound, StepFailed
from recovery.timeutil import as_utc, human_age, iso

log = logging.getLogger(__name__)

STEP = "snapshot_gate"
EVENT_WINDOW = timedelta(minutes=30)
EVENT_HISTORY = timedelta(days=14)  # RDS keeps events for 14 days
RISKY_EVENT_WORDS = ("reset master credentials", "master password", "modified", "modification", "migration")
IN_PROGRESS = ("creating", "backing-up")  # a snapshot being taken: normal, not yet a candidate
DEFAULT_RPO_SECONDS = 300  # plan 5
DEFAULT_MAX_AGE_HOURS = 26  # a daily schedule, with slack for the window


@dataclass
class GateRow:
    """One row of the §2.1.1 checklist, with the gate's verdict and why.

    `reasons` (each with its `signs` key) refuse the snapshot; `notes` are what a restore from it
    would miss without making it unusable (uploads after it: the data-loss window versus PITR).
    """

    snapshot: str
    type: str
    created: datetime
    age: str
    allocated_gib: int
    status: str
    verdict: str = "pass"
    reasons: list[str] = field(default_factory=list)
    signs: list[str] = field(default_factory=list)  # diagnosis.SIGNS keys, one per reason
    notes: list[str] = field(default_factory=list)
    loss_seconds: float | None = None  # uploads after the snapshot: what restoring it instead of PITR loses

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
            "notes": list(self.notes),
            "loss_seconds": self.loss_seconds,
        }


@dataclass(frozen=True)
class Pitr:
    """Point-in-time recovery as RDS reports it now: the restorable window and its lag."""

    latest: datetime | None
    earliest: datetime | None
    lag_seconds: float | None
    retention_days: int
    rpo_seconds: int

    @property
    def healthy(self) -> bool:
        return self.lag_seconds is not None and self.retention_days > 0 and self.lag_seconds <= self.rpo_seconds

    def describe(self) -> str:
        if self.latest is None or self.lag_seconds is None:
            return f"no point-in-time recovery (retention {self.retention_days} d, no LatestRestorableTime)"
        relation = "<=" if self.lag_seconds <= self.rpo_seconds else ">"
        lag = f"PITR lag {self.lag_seconds:.0f} s {relation} {self.rpo_seconds} s"
        return f"{lag} (latest restorable {iso(self.latest)})"


@dataclass
class GateDecision:
    """What to restore: a snapshot, or a point in time (`use_latest` = latest restorable time), and why."""

    mode: str  # "snapshot" | "point-in-time"
    recovery_point: datetime
    snapshot_id: str | None = None
    restore_time: datetime | None = None
    use_latest: bool = False
    rows: list[GateRow] = field(default_factory=list)
    last_upload: datetime | None = None
    events: list[dict[str, str]] = field(default_factory=list)
    window: tuple[datetime, datetime] | None = None
    reason: str = ""
    in_progress: list[str] = field(default_factory=list)  # snapshots being taken now (not candidates)
    source_backup_arn: str | None = None  # point in time from this automated backup (the instance is gone)

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
            "reason": self.reason,
            "in_progress": list(self.in_progress),
            "source_backup_arn": self.source_backup_arn,
        }


@dataclass
class Readiness:
    """Health's answer to "what would a restore now recover?" (plan 2.1, 2.1.1, 5)."""

    pitr: Pitr
    rows: list[GateRow]
    in_progress: list[str]
    events: list[dict[str, str]]
    last_upload: datetime | None

    @property
    def fallback(self) -> GateRow | None:
        """The snapshot a restore would fall back to without PITR: the newest available one."""
        return self.rows[0] if self.rows else None

    @property
    def usable(self) -> GateRow | None:
        return next((r for r in self.rows if r.verdict == "pass"), None)


def parse_restore_time(raw: str) -> tuple[datetime | None, bool]:
    """'' -> the default recovery point; 'latest' -> latest restorable; ISO-8601 -> that time (UTC if no zone)."""
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


def pitr_state(instance: dict[str, Any], now: datetime, rpo_seconds: int = DEFAULT_RPO_SECONDS) -> Pitr:
    """The restorable window of `instance` (DescribeDBInstances) as of `now`."""
    retention = int(instance.get("BackupRetentionPeriod") or 0)
    raw = instance.get("LatestRestorableTime")
    if raw is None or retention <= 0:
        return Pitr(None, None, None, retention, rpo_seconds)
    latest = as_utc(raw)
    earliest = now - timedelta(days=retention)
    created = instance.get("InstanceCreateTime")
    if created is not None:
        earliest = max(earliest, as_utc(created))
    return Pitr(latest, earliest, (now - latest).total_seconds(), retention, rpo_seconds)


def split_in_progress(snapshots: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """(candidates, ids of the snapshots being taken right now)."""
    taking = [s for s in snapshots if str(s.get("Status", "")).lower() in IN_PROGRESS]
    return [s for s in snapshots if s not in taking], [str(s["DBSnapshotIdentifier"]) for s in taking]


def checklist(
    rds: Any,
    instance_id: str,
    snapshots: list[dict[str, Any]],
    *,
    min_gb: int,
    now: datetime,
    upload: datetime | None,
    max_age_hours: int | None = None,
) -> tuple[list[GateRow], list[dict[str, str]]]:
    """The §2.1.1 checklist of every snapshot (newest first), and the risky RDS events it used.

    Read-only (DescribeEvents); a ClientError reading the events propagates. With `max_age_hours`
    a snapshot older than that is refused (the daily schedule has stopped).
    """
    oldest = min((rds_api.taken_at(s) for s in snapshots), default=now)
    start = max(oldest - EVENT_WINDOW, now - EVENT_HISTORY)
    events = risky_events(rds, instance_id, start, now)
    return [judge_snapshot(s, now, min_gb, upload, events, max_age_hours) for s in snapshots], events


def risky_events(rds: Any, instance_id: str, start: datetime, end: datetime) -> list[dict[str, str]]:
    """RDS events of the instance that signal a reset, modification or migration (every page)."""
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
    snap: dict[str, Any],
    now: datetime,
    min_gb: int,
    upload: datetime | None,
    events: list[dict[str, str]],
    max_age_hours: int | None = None,
) -> GateRow:
    created = rds_api.taken_at(snap)
    age = (now - created).total_seconds()
    row = GateRow(
        snapshot=snap["DBSnapshotIdentifier"],
        type=str(snap.get("SnapshotType", "")),
        created=created,
        age=human_age(age),
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
    if max_age_hours is not None and age > max_age_hours * 3600:
        row.reasons.append(f"{human_age(age)} old, over {max_age_hours} h: the daily snapshots have stopped")
        row.signs.append("older-than-upload")
    if upload is not None and created < upload:
        row.loss_seconds = (upload - created).total_seconds()
        row.notes.append(
            f"misses uploads until {iso(upload)} ({human_age(row.loss_seconds)} after it): restoring it "
            "instead of a point in time loses them (plan 2.1.1 step 3)"
        )
    row.verdict = "fail" if row.reasons else "pass"
    return row


def table_text(rows: list[GateRow]) -> str:
    lines = ["snapshot | type | created | age | GiB | status | verdict | reasons | notes"]
    lines += [
        f"{r.snapshot} | {r.type} | {iso(r.created)} | {r.age} | {r.allocated_gib} | {r.status} | {r.verdict} | "
        + "; ".join(r.reasons)
        + " | "
        + "; ".join(r.notes)
        for r in rows
    ]
    return "\n".join(lines)


def readiness(
    rds: Any,
    instance: dict[str, Any],
    snapshots: list[dict[str, Any]],
    *,
    min_gb: int,
    now: datetime,
    upload: datetime | None,
    rpo_seconds: int = DEFAULT_RPO_SECONDS,
    max_age_hours: int = DEFAULT_MAX_AGE_HOURS,
) -> Readiness:
    """PITR and the fallback snapshot as of `now` (read-only: DescribeEvents)."""
    newest_first = sorted(snapshots, key=rds_api.taken_at, reverse=True)
    candidates, taking = split_in_progress(newest_first)
    rows, events = checklist(
        rds,
        str(instance["DBInstanceIdentifier"]),
        candidates,
        min_gb=min_gb,
        now=now,
        upload=upload,
        max_age_hours=max_age_hours,
    )
    return Readiness(pitr_state(instance, now, rpo_seconds), rows, taking, events, upload)


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
    rpo_seconds: int = DEFAULT_RPO_SECONDS,
    max_age_hours: int = DEFAULT_MAX_AGE_HOURS,
) -> GateDecision:
    """The recovery point to restore, or StepFailed with the checklist table as diagnostics.

    Default: the latest restorable time when PITR is healthy (lag within the RPO), else the newest
    snapshot that passes the checklist. An explicit `restore_time` ('latest' or ISO) is honoured.
    """
    when, use_latest = parse_restore_time(restore_time)
    try:
        instance = rds_api.describe_instance(rds, instance_id)
    except NotFound:
        return _without_instance(
            rds, s3, instance_id, files_bucket, min_gb, now, when, use_latest, last_upload_time=last_upload_time
        )
    if when is not None or use_latest:
        reason = "requested: --restore-time " + ("latest" if use_latest else iso(when))  # type: ignore[arg-type]
        return _point_in_time(instance, now, when, use_latest, reason)
    pitr = pitr_state(instance, now, rpo_seconds)
    if pitr.healthy:
        decision = _point_in_time(instance, now, None, True, f"default: PITR is healthy ({pitr.describe()})")
        log.info("snapshot gate: %s", decision.reason)
        return decision
    snapshots = rds_api.list_snapshots(rds, instance_id)
    candidates, taking = split_in_progress(snapshots)
    upload = upload_time(lambda: s3_api.iter_objects(s3, files_bucket), last_upload_time)
    try:
        rows, events = checklist(
            rds, instance_id, candidates, min_gb=min_gb, now=now, upload=upload, max_age_hours=max_age_hours
        )
    except ClientError as exc:
        raise StepFailed(STEP, f"cannot read RDS events of {instance_id}: {exc}") from exc
    decision = GateDecision(
        mode="snapshot", recovery_point=now, rows=rows, last_upload=upload, events=events, in_progress=taking
    )
    passing = next((r for r in rows if r.verdict == "pass"), None)
    if passing is None:
        table = [r.as_dict() for r in rows]
        raise StepFailed(
            STEP,
            diagnosis.gate_refused(instance_id, files_bucket, table, upload).text() + f" ({pitr.describe()})",
            {"checklist": table, "table": table_text(rows), "events": events, "pitr": pitr.describe()},
        )
    decision.snapshot_id = passing.snapshot
    decision.recovery_point = passing.created
    loss = f"; it misses {human_age(passing.loss_seconds)} of uploads" if passing.loss_seconds else ""
    decision.reason = (
        f"default: {pitr.describe()}, so the newest snapshot passing the §2.1.1 checklist: {passing.snapshot} "
        f"({passing.age} old){loss}"
    )
    log.info("snapshot gate: %s", decision.reason)
    return decision


def _point_in_time(
    instance: dict[str, Any], now: datetime, when: datetime | None, use_latest: bool, reason: str
) -> GateDecision:
    ident = instance["DBInstanceIdentifier"]
    pitr = pitr_state(instance, now)
    if pitr.latest is None or pitr.earliest is None:
        raise StepFailed(STEP, f"{ident} has no point-in-time recovery (automated backups off, plan 2.1)")
    latest, earliest = pitr.latest, pitr.earliest
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
        reason=reason,
    )


def _without_instance(
    rds: Any,
    s3: Any,
    instance_id: str,
    files_bucket: str,
    min_gb: int,
    now: datetime,
    when: datetime | None,
    use_latest: bool,
    *,
    last_upload_time: str,
) -> GateDecision:
    """Production's instance is gone: the latest of its retained automated backup's restorable time
    and its newest snapshot passing the checklist (a final snapshot, taken at deletion, usually wins)."""
    backup = next(
        (b for b in rds_api.automated_backups(rds, instance_id) if rds_api.restore_window(b) is not None), None
    )
    window = rds_api.restore_window(backup) if backup else None
    if when is not None or use_latest:
        if backup is None or window is None:
            raise StepFailed(STEP, f"{instance_id} is gone and no automated backup of it was retained (plan 2.1)")
        point = window[1] if use_latest or when is None else when
        if not window[0] <= point <= window[1]:
            raise StepFailed(
                STEP,
                f"restore time {iso(point)} is outside the retained backup's window [{iso(window[0])}, "
                f"{iso(window[1])}] of {instance_id}",
            )
        return GateDecision(
            mode="point-in-time",
            recovery_point=point,
            restore_time=None if use_latest else point,
            use_latest=use_latest,
            window=window,
            reason=f"requested: --restore-time {'latest' if use_latest else iso(point)}, from the retained backup "
            f"of {instance_id} (the instance is gone)",
            source_backup_arn=str(backup["DBInstanceAutomatedBackupsArn"]),
        )
    snapshots = rds_api.list_snapshots(rds, instance_id)
    candidates, taking = split_in_progress(snapshots)
    upload = upload_time(lambda: s3_api.iter_objects(s3, files_bucket), last_upload_time)
    # No age limit: with the instance gone the daily snapshots have stopped, and its final one may be days old.
    rows, events = checklist(rds, instance_id, candidates, min_gb=min_gb, now=now, upload=upload)
    passing = next((r for r in rows if r.verdict == "pass"), None)
    gone = f"{instance_id} is gone"
    if backup is not None and window is not None and (passing is None or window[1] > passing.created):
        return GateDecision(
            mode="point-in-time",
            recovery_point=window[1],
            use_latest=True,
            rows=rows,
            last_upload=upload,
            events=events,
            window=window,
            in_progress=taking,
            reason=f"default: {gone}; its retained automated backup restores to {iso(window[1])}, later than "
            + (f"its newest passing snapshot {passing.snapshot}" if passing else "any snapshot passing §2.1.1"),
            source_backup_arn=str(backup["DBInstanceAutomatedBackupsArn"]),
        )
    if passing is None:
        table = [r.as_dict() for r in rows]
        raise StepFailed(
            STEP,
            diagnosis.gate_refused(instance_id, files_bucket, table, upload).text()
            + f" ({gone}; no automated backup of it was retained)",
            {"checklist": table, "table": table_text(rows), "events": events},
        )
    return GateDecision(
        mode="snapshot",
        recovery_point=passing.created,
        snapshot_id=passing.snapshot,
        rows=rows,
        last_upload=upload,
        events=events,
        in_progress=taking,
        reason=f"default: {gone}; its newest snapshot passing the §2.1.1 checklist is {passing.snapshot} "
        f"({passing.age} old)" + ("" if backup else "; no automated backup of it was retained"),
    )
