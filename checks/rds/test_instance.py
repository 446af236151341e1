"""Plan §2.1 and §6.4: the production instance is up; anything else is an outage or one waiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fixtures.meta import check
from fixtures.reporting import attach_evidence
from recovery.aws import rds as rds_api
from recovery.settings import Settings
from recovery.timeutil import as_utc, iso

# Statuses in which the instance serves and its backups run (RDS also reports these during
# routine work: a backup, a maintenance change being applied).
SERVING = (
    "available",
    "backing-up",
    "modifying",
    "storage-optimization",
    "maintenance",
    "configuring-enhanced-monitoring",
    "configuring-iam-database-auth",
    "configuring-log-exports",
)


@check(
    "2.1",
    severity="critical",
    remediation="aws rds describe-db-instances --db-instance-identifier {rds_instance} --query "
    "'DBInstances[0].[DBInstanceStatus,PercentProgress]'; aws rds describe-events --source-identifier "
    "{rds_instance} --source-type db-instance --duration 1440; stopped: aws rds start-db-instance "
    "--db-instance-identifier {rds_instance}; storage-full: aws rds modify-db-instance --db-instance-identifier "
    "{rds_instance} --allocated-storage <GiB> --apply-immediately; incompatible-parameters: fix the parameter "
    "group and reboot; gone, failed or inaccessible-encryption-credentials: run the recovery (plan §4 step 2, "
    "§6.4) from the newest snapshot or the retained automated backup the failure names; rehearse it with "
    "pytest -m drill",
)
def test_rds_instance_available(
    request: pytest.FixtureRequest,
    rds_instance_found: dict[str, Any] | None,
    rds_snapshots: list[dict[str, Any]],
    rds_automated_backups: list[dict[str, Any]],
    settings: Settings,
    observed: Callable[[str], None],
) -> None:
    """The production instance exists and is `available` (or briefly busy with routine work such as a backup).

    Gone, `stopped`, `storage-full`, `incompatible-parameters`, `failed`, ... pass every backup check
    while the site fails (plan §6.4) or is about to: RDS restarts a stopped instance after 7 days by
    itself. The failure names what a responder restores from next: the newest snapshots and the
    automated backups (retained ones outlive a deleted instance) with their restorable windows.
    """
    name = settings.rds_instance
    status = "gone" if rds_instance_found is None else str(rds_instance_found.get("DBInstanceStatus", "?"))
    observed(f"{name} does not exist" if rds_instance_found is None else f"{name} is {status}")
    if status in SERVING:
        return
    evidence = recovery_points(rds_snapshots, rds_automated_backups)
    attach_evidence(request, "recovery points of the production instance", evidence)
    snapshots = [f"{s['id']} ({s['type']}, {s['created']}, {s['status']})" for s in evidence["snapshots"]]
    backups = [f"{b['status']} {b['arn']} ({b['window']})" for b in evidence["automated_backups"]]
    observed(f"newest snapshots: {', '.join(snapshots) or 'none'}")
    observed(f"automated backups: {'; '.join(backups) or 'none'}")
    what = (
        f"{name} does not exist any more (deleted, or lost with its account or region): the web app has no database"
        if rds_instance_found is None
        else f"{name} is {status}, not available: the web app cannot use its database"
    )
    raise AssertionError(
        f"Site returns 502 after restore (§6.4) ahead: {what}. Recovery points: newest snapshots: "
        f"{', '.join(snapshots) or 'none'}; automated backups: {'; '.join(backups) or 'none'}. "
        + fix(name, status, evidence)
    )


def recovery_points(snapshots: list[dict[str, Any]], backups: list[dict[str, Any]]) -> dict[str, Any]:
    """The three newest snapshots and every automated backup with its restorable window (JSON-ready)."""
    out: dict[str, Any] = {
        "snapshots": [
            {
                "id": s["DBSnapshotIdentifier"],
                "type": s.get("SnapshotType"),
                "created": iso(as_utc(s["SnapshotCreateTime"])),
                "status": s.get("Status"),
            }
            for s in snapshots[:3]
        ],
        "automated_backups": [],
    }
    for b in backups:
        window = rds_api.restore_window(b)
        out["automated_backups"].append(
            {
                "arn": b.get("DBInstanceAutomatedBackupsArn"),
                "status": b.get("Status"),
                "window": f"restorable {iso(window[0])} .. {iso(window[1])}" if window else "no restorable window",
                "latest": iso(window[1]) if window else None,
            }
        )
    return out


def fix(name: str, status: str, evidence: dict[str, Any]) -> str:
    """The next command, with real identifiers: start it, or run the recovery from what remains."""
    if status == "stopped":
        return f"Fix: aws rds start-db-instance --db-instance-identifier {name}"
    if status == "storage-full":
        return (
            f"Fix: aws rds modify-db-instance --db-instance-identifier {name} --allocated-storage <GiB> "
            "--apply-immediately"
        )
    if status == "incompatible-parameters":
        return f"Fix: correct {name}'s parameter group, then aws rds reboot-db-instance --db-instance-identifier {name}"
    restorable = [b for b in evidence["automated_backups"] if b["latest"]]
    available = [s for s in evidence["snapshots"] if s["status"] == "available"]
    target = f"{name}-restored" if status != "gone" else name
    options = []
    if restorable:
        options.append(
            f"aws rds restore-db-instance-to-point-in-time --source-db-instance-automated-backups-arn "
            f"{restorable[0]['arn']} --target-db-instance-identifier {target} --use-latest-restorable-time "
            f"(to {restorable[0]['latest']})"
        )
    if available:
        options.append(
            f"aws rds restore-db-instance-from-db-snapshot --db-snapshot-identifier {available[0]['id']} "
            f"--db-instance-identifier {target} (data as of {available[0]['created']})"
        )
    if not options:
        return "No snapshot or automated backup remains to restore from (plan §2.1): escalate to AWS support."
    return (
        "Fix: run the recovery (plan §4 step 2, after checking the snapshot per §2.1.1): "
        + " or ".join(options)
        + "; then point RDS_DB_HOST at it and force a new deployment (§4 steps 2.3-2.4). Rehearse it: pytest -m drill"
    )
