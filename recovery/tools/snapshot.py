"""backup_rds_manual.sh (plan 2.1, 2.1.1 best practice): a manual snapshot, tagged, waited for and checked.

Good: `<instance>-manual-<UTC stamp>` exists, is available, carries who took it (the caller's
ARN from STS) and why, and passes the §2.1.1 checklist (recovery/gate.py) as the drill would
judge it. A snapshot that fails the checklist is kept (it is evidence) and reported as failing.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from recovery import gate
from recovery.aws import s3 as s3_api
from recovery.aws.session import Aws
from recovery.errors import ConfigError, RecoveryError
from recovery.progress import WAITING, Event, emit
from recovery.settings import Settings
from recovery.timeutil import utcnow

log = logging.getLogger(__name__)

TOOL_TAG = "turath-recovery snapshot"
# RDS tag values: letters, digits, spaces and _ . : / = + - @, at most 256 characters.
_TAG_UNSAFE = re.compile(r"[^\w\s.:/=+\-@]", re.UNICODE)


class SnapshotFailed(RecoveryError):
    """The snapshot could not be created or did not become available in time."""


@dataclass
class SnapshotResult:
    """The snapshot taken, its tags, and the checklist row the gate gave it."""

    snapshot_id: str
    instance_id: str
    tags: dict[str, str]
    seconds: float
    row: gate.GateRow
    events: list[dict[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.row.verdict == "pass"


def snapshot_name(instance_id: str, now: datetime) -> str:
    """`<instance>-manual-<UTC stamp>`: letters, digits and single hyphens, as RDS requires."""
    return f"{instance_id}-manual-{now.strftime('%Y%m%d-%H%M%S')}"


def tag_value(text: str) -> str:
    """`text` as an RDS tag value (disallowed characters become spaces, at most 256 characters)."""
    return " ".join(_TAG_UNSAFE.sub(" ", text).split())[:256]


def take(
    aws: Aws,
    settings: Settings,
    reason: str,
    *,
    delay: int = 15,
    max_attempts: int = 240,
    now: datetime | None = None,
) -> SnapshotResult:
    """Create, tag, wait (boto3 waiter, `delay` x `max_attempts`), then apply the §2.1.1 checklist."""
    if not reason.strip():
        raise ConfigError("--reason", "say why the snapshot is taken (it is recorded as the snapshot's tag)")
    rds = aws.client("rds")
    started = now or utcnow()
    who = str(aws.client("sts").get_caller_identity()["Arn"])
    ident = snapshot_name(settings.rds_instance, started)
    tags = {"created-by": tag_value(who), "reason": tag_value(reason), "tool": TOOL_TAG}
    try:
        rds.create_db_snapshot(
            DBSnapshotIdentifier=ident,
            DBInstanceIdentifier=settings.rds_instance,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
    except ClientError as exc:
        raise SnapshotFailed(f"cannot snapshot {settings.rds_instance}: {exc}") from exc
    log.info("snapshot %s of %s requested by %s", ident, settings.rds_instance, who)
    t0 = time.monotonic()
    _wait(rds, ident, delay, max_attempts, t0)
    seconds = time.monotonic() - t0
    snap = rds.describe_db_snapshots(DBSnapshotIdentifier=ident)["DBSnapshots"][0]
    upload = gate.upload_time(
        lambda: s3_api.iter_objects(aws.client("s3"), settings.files_bucket), settings.last_upload_time
    )
    rows, events = gate.checklist(
        rds, settings.rds_instance, [snap], min_gb=settings.snapshot_min_gb, now=utcnow(), upload=upload
    )
    return SnapshotResult(ident, settings.rds_instance, tags, seconds, rows[0], events)


def _wait(rds: Any, ident: str, delay: int, max_attempts: int, t0: float) -> None:
    """The boto3 waiter; each of its polls is reported as a progress event (status, percent)."""

    def polled(parsed: dict[str, Any], **_: Any) -> None:
        snaps = parsed.get("DBSnapshots") or [{}]
        status = f"{snaps[0].get('Status', '?')} {snaps[0].get('PercentProgress', 0)}%"
        emit(Event(WAITING, f"snapshot {ident}", time.monotonic() - t0, status, float(delay * max_attempts)))

    handler_id = f"turath-snapshot-progress-{ident}"
    rds.meta.events.register("after-call.rds.DescribeDBSnapshots", polled, unique_id=handler_id)
    try:
        rds.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier=ident, WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts}
        )
    except WaiterError as exc:
        raise SnapshotFailed(f"snapshot {ident} did not become available: {exc}") from exc
    finally:
        rds.meta.events.unregister("after-call.rds.DescribeDBSnapshots", unique_id=handler_id)
