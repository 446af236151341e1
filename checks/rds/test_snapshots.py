"""Plan §2.1 and the §2.1.1 snapshot verification checklist."""

from __future__ import annotations

from typing import Any

from fixtures.meta import check
from fixtures.reporting import attach_evidence
from recovery.aws import rds as rds_api
from recovery.settings import Settings
from recovery.timeutil import as_utc, human_age, utcnow

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
    "--output table; then take a manual snapshot after the last upload: "
    "aws rds create-db-snapshot --db-instance-identifier {rds_instance} "
    "--db-snapshot-identifier {rds_instance}-manual-$(date -u +%Y%m%d%H%M)",
)
def test_rds_snapshot_checklist_passes(request: Any, rds_snapshots: list[dict[str, Any]], settings: Settings) -> None:
    """The newest snapshot passes the §2.1.1 checklist: available, at least the size threshold."""
    now = utcnow()
    table = [rds_api.snapshot_row(s, now) for s in rds_snapshots]
    attach_evidence(request, "§2.1.1 snapshot checklist", {"snapshots": table, "note": SIZE_NOTE})
    assert table, f"no snapshot of {settings.rds_instance} to verify"
    newest = table[0]
    problems = []
    if newest["status"] != "available":
        problems.append(f"status {newest['status']}")
    if (newest["allocated_gib"] or 0) < settings.snapshot_min_gb:
        problems.append(
            f"size {newest['allocated_gib']} GiB < {settings.snapshot_min_gb} GB "
            "(plan warning sign: likely empty or partial database)"
        )
    assert not problems, f"newest snapshot {newest['snapshot']} ({newest['created']}): " + "; ".join(problems)
