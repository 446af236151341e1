"""Plan §2.1 and the §2.1.1 snapshot verification checklist."""

from __future__ import annotations

from typing import Any

import pytest

from fixtures.meta import check
from fixtures.reporting import attach_evidence
from recovery import diagnosis, gate
from recovery.aws import rds as rds_api
from recovery.aws.session import Aws
from recovery.settings import Settings
from recovery.timeutil import as_utc, human_age, iso, utcnow

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
def test_rds_newest_automated_snapshot_recent(rds_snapshots: list[dict[str, Any]], settings: Settings) -> None:
    """The newest automated snapshot is available and younger than ~26 hours (daily schedule)."""
    newest = rds_api.newest_snapshot(rds_snapshots, "automated")
    assert newest is not None, f"{settings.rds_instance} has no automated snapshot at all"
    age = (utcnow() - as_utc(newest["SnapshotCreateTime"])).total_seconds()
    sid = newest["DBSnapshotIdentifier"]
    assert newest.get("Status") == "available", f"newest automated snapshot {sid} is {newest.get('Status')}"
    assert age <= settings.snapshot_max_age_hours * 3600, (
        f"newest automated snapshot {sid} is {human_age(age)} old; daily backups should keep it "
        f"under {settings.snapshot_max_age_hours} h"
    )


@check(
    "2.1.1",
    severity="high",
    remediation="aws rds describe-db-snapshots --db-instance-identifier {rds_instance} "
    "--query 'DBSnapshots[*].[DBSnapshotIdentifier,SnapshotCreateTime,AllocatedStorage,Status]' "
    "--output table; aws rds describe-events --source-identifier {rds_instance} --source-type db-instance "
    "--duration 1440; once uploads and migrations are over take a manual snapshot: "
    "aws rds create-db-snapshot --db-instance-identifier {rds_instance} "
    "--db-snapshot-identifier {rds_instance}-manual-$(date -u +%Y%m%d%H%M)",
)
def test_rds_snapshot_checklist_passes(
    request: pytest.FixtureRequest, aws: Aws, rds_snapshots: list[dict[str, Any]], settings: Settings
) -> None:
    """The newest snapshot passes the §2.1.1 checklist: available, at least the size threshold, not taken
    around a credential reset or migration (RDS events), not older than the last upload to the files bucket.

    The same checklist the drill's snapshot gate applies before it restores: here it answers, after
    every deployment, whether the newest backup is one a restore could use.
    """
    now = utcnow()
    upload = gate.upload_time(lambda: request.getfixturevalue("files_bucket_objects"), settings.last_upload_time)
    rows, events = gate.checklist(
        aws.client("rds"), settings.rds_instance, rds_snapshots, min_gb=settings.snapshot_min_gb, now=now, upload=upload
    )
    attach_evidence(
        request,
        "§2.1.1 snapshot checklist",
        {
            "snapshots": [r.as_dict() for r in rows],
            "last_upload": iso(upload) if upload else None,
            "risky_events": events,
            "note": SIZE_NOTE,
        },
    )
    assert rows, f"no snapshot of {settings.rds_instance} to verify"
    newest = rows[0]
    if newest.verdict == "pass":
        return
    sign = newest.signs[0] if newest.signs else "unavailable"
    usable = next((r for r in rows if r.verdict == "pass"), None)
    fallback = (
        f"a restore now would have to use {usable.snapshot} ({iso(usable.created)}, {usable.age} old)"
        if usable
        else "no snapshot passes: a restore now needs point-in-time recovery (plan 2.1)"
    )
    raise AssertionError(
        f"{diagnosis.SIGNS[sign]}: the newest snapshot {newest.snapshot} ({iso(newest.created)}) fails the "
        f"checklist: {'; '.join(newest.reasons)}. Root cause: {diagnosis.CAUSES[sign]}; {fallback}"
    )
