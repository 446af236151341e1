"""Plan §2.1 and the §2.1.1 snapshot verification checklist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fixtures.meta import check
from fixtures.reporting import attach_evidence
from recovery import diagnosis, gate
from recovery.aws import rds as rds_api
from recovery.aws.session import Aws
from recovery.settings import Settings
from recovery.timeutil import human_age, iso, utcnow

SIZE_NOTE = (
    "AllocatedStorage is the instance's provisioned size, not the data in the snapshot: an empty "
    "database shows the same number. Only a restore-and-count (the drill) proves content."
)


@check(
    "2.1",
    severity="high",
    remediation="aws rds describe-db-snapshots --db-instance-identifier {rds_instance} "
    "--snapshot-type automated --output table; check the backup window and RDS events "
    "(aws rds describe-events --source-identifier {rds_instance} --source-type db-instance --duration 2880)",
)
def test_rds_newest_automated_snapshot_recent(
    rds_snapshots: list[dict[str, Any]], settings: Settings, observed: Callable[[str], None]
) -> None:
    """The newest available automated snapshot is younger than ~26 hours (daily schedule).

    Tonight's snapshot while it is being created is normal: yesterday's available one is judged.
    """
    automated = [s for s in rds_snapshots if s.get("SnapshotType") == "automated"]
    candidates, taking = gate.split_in_progress(automated)
    if taking:
        observed(f"being created now: {', '.join(taking)}")
    newest = next((s for s in candidates if s.get("Status") == "available"), None)
    assert newest is not None, f"{settings.rds_instance} has no available automated snapshot" + (
        f" ({len(candidates)} in state {', '.join(sorted({str(s.get('Status')) for s in candidates}))})"
        if candidates
        else " at all"
    )
    age = (utcnow() - rds_api.taken_at(newest)).total_seconds()
    sid = newest["DBSnapshotIdentifier"]
    limit = settings.snapshot_max_age_hours
    observed(f"newest available automated snapshot {sid}: {human_age(age)} old, limit {limit} h")
    assert age <= limit * 3600, (
        f"newest available automated snapshot {sid} is {human_age(age)} old; daily backups should keep it "
        f"under {limit} h"
    )


@check(
    "2.1.1",
    severity="high",
    remediation="aws rds describe-db-snapshots --db-instance-identifier {rds_instance} "
    "--query 'DBSnapshots[*].[DBSnapshotIdentifier,OriginalSnapshotCreateTime,AllocatedStorage,Status]' "
    "--output table; aws rds describe-events --source-identifier {rds_instance} --source-type db-instance "
    "--duration 1440; once uploads and migrations are over take a manual snapshot: "
    "aws rds create-db-snapshot --db-instance-identifier {rds_instance} "
    "--db-snapshot-identifier {rds_instance}-manual-$(date -u +%Y%m%d%H%M)",
)
def test_rds_snapshot_checklist_passes(
    request: pytest.FixtureRequest,
    aws: Aws,
    rds_instance: dict[str, Any],
    rds_snapshots: list[dict[str, Any]],
    settings: Settings,
    observed: Callable[[str], None],
) -> None:
    """A restore now would recover the data: the fallback snapshot passes the §2.1.1 checklist.

    The fallback is the newest available snapshot (what a restore uses without point-in-time
    recovery): available, at least the size threshold, not taken around a credential reset or
    migration (RDS events), not older than the daily schedule allows. Uploads after it are normal
    on a live library: with PITR within the RPO they are an observation (the data-loss window of
    restoring the snapshot instead of a point in time); without it they are data a restore loses.
    The drill's snapshot gate applies the same checklist.
    """
    now = utcnow()
    upload = gate.upload_time(lambda: request.getfixturevalue("files_bucket_objects"), settings.last_upload_time)
    ready = gate.readiness(
        aws.client("rds"),
        rds_instance,
        rds_snapshots,
        min_gb=settings.snapshot_min_gb,
        now=now,
        upload=upload,
        rpo_seconds=settings.rpo_seconds,
        max_age_hours=settings.snapshot_max_age_hours,
    )
    attach_evidence(
        request,
        "§2.1.1 snapshot checklist",
        {
            "pitr": ready.pitr.describe(),
            "snapshots": [r.as_dict() for r in ready.rows],
            "being_created": ready.in_progress,
            "last_upload": iso(upload) if upload else None,
            "risky_events": ready.events,
            "note": SIZE_NOTE,
        },
    )
    observed(ready.pitr.describe())
    if ready.in_progress:
        observed(f"being created now (not a candidate yet): {', '.join(ready.in_progress)}")
    fallback = ready.fallback
    assert fallback is not None, f"no available snapshot of {settings.rds_instance} to fall back on" + (
        f" ({', '.join(ready.in_progress)} still being created)" if ready.in_progress else ""
    )
    observed(
        f"fallback snapshot {fallback.snapshot} ({fallback.type}, {fallback.age} old, {fallback.allocated_gib} GiB, "
        f"{fallback.status}): {fallback.verdict}"
    )
    if fallback.loss_seconds:
        observed(
            f"data-loss window if restored from {fallback.snapshot} instead of PITR: {human_age(fallback.loss_seconds)}"
            f" (last upload {iso(upload) if upload else '?'})"
        )
    if fallback.verdict != "pass":
        sign = fallback.signs[0] if fallback.signs else "unavailable"
        usable = ready.usable
        other = (
            f"the newest snapshot that passes is {usable.snapshot} ({iso(usable.created)}, {usable.age} old)"
            if usable
            else "no snapshot passes"
        )
        raise AssertionError(
            f"{diagnosis.SIGNS[sign]}: the fallback snapshot {fallback.snapshot} ({iso(fallback.created)}) fails the "
            f"checklist: {'; '.join(fallback.reasons)}. Root cause: {diagnosis.CAUSES[sign]}; {other}; "
            f"{ready.pitr.describe()}"
        )
    lost = fallback.loss_seconds or 0
    assert ready.pitr.healthy or lost <= settings.rpo_seconds, (
        f"{diagnosis.SIGNS['older-than-upload']}: a restore now would lose {human_age(lost)} of uploads: "
        f"{ready.pitr.describe()}, and the newest snapshot {fallback.snapshot} ({iso(fallback.created)}) predates "
        f"the last upload ({iso(upload) if upload else '?'}). Root cause: {diagnosis.CAUSES['older-than-upload']}"
    )
