"""Plan §2.1 and §6.4: the production instance is up; anything else is an outage or one waiting."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from fixtures.meta import check
from fixtures.reporting import attach_evidence
from recovery.aws import rds as rds_api
from recovery.settings import Settings
from recovery.timeutil import iso

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


DESCRIBE = (
    "aws rds describe-db-instances --db-instance-identifier {rds_instance} --query "
    "'DBInstances[0].[DBInstanceStatus,PercentProgress]'; aws rds describe-events --source-identifier "
    "{rds_instance} --source-type db-instance --duration 1440"
)
START = "aws rds start-db-instance --db-instance-identifier {rds_instance}"
RESTORE = "restore it with the commands of plan §4 for this account (python -m recovery restore-guide)"
WAIT = (
    "it is busy: aws rds wait db-instance-available --db-instance-identifier {rds_instance}; if it is not "
    "available within 30 minutes, its events say why"
)
# What each status the instance does not serve in asks of the person on call (RDS User Guide, "DB instance
# status"); a status not listed here is a transition to wait for.
FIXES = {
    "stopped": START,
    "stopping": f"someone stopped it; once it is stopped: {START}",
    "storage-full": "add storage ({allocated} GiB allocated, full): aws rds modify-db-instance "
    "--db-instance-identifier {rds_instance} --allocated-storage {grown} --apply-immediately; then set "
    "--max-allocated-storage so RDS grows it before it fills again",
    "inaccessible-encryption-credentials-recoverable": "RDS cannot reach the KMS key of the instance; if "
    "its deletion is scheduled: aws kms cancel-key-deletion --key-id {kms_key}; then aws kms enable-key --key-id "
    f"{{kms_key}}; {START}",
    "inaccessible-encryption-credentials": "the KMS key was unreachable for more than 7 days: with the key "
    f"enabled again, {RESTORE}",
    "incompatible-parameters": "its events name the parameter of {parameter_group} that RDS cannot start "
    "with; the changed ones: aws rds describe-db-parameters --db-parameter-group-name {parameter_group} "
    "--source user; set it back with modify-db-parameter-group, then aws rds reboot-db-instance "
    "--db-instance-identifier {rds_instance}",
    "incompatible-network": "its subnets have no free address or were changed: free addresses in the DB "
    "subnets of its DB subnet group; RDS then recovers the instance by itself",
    "failed": f"RDS cannot recover it: {RESTORE}",
    "restore-error": f"the restore that created it failed: {RESTORE}",
    "insufficient-capacity": "RDS has no {instance_class} capacity in its zone now; try again later: "
    f"{START}; or {RESTORE} with another class or zone",
    "deleting": f"it is being deleted: {RESTORE}",
}
STORAGE_STEP = 0.2  # grow a full instance by a fifth (RDS asks for at least 10 % more), and by 10 GiB at least


@check(
    "2.1",
    severity="critical",
    remediation=DESCRIBE
    + "; then what its status needs (the failure prints that one command): stopped: "
    + START
    + "; storage-full: more allocated storage (modify-db-instance --allocated-storage, at least 10 % "
    "more, --apply-immediately); gone or failed: " + RESTORE,
)
def test_rds_instance_available(
    request: pytest.FixtureRequest,
    rds_instance_found: dict[str, Any] | None,
    rds_snapshots: list[dict[str, Any]],
    rds_automated_backups: list[dict[str, Any]],
    settings: Settings,
    observed: Callable[[str], None],
    remedy: Callable[..., None],
) -> None:
    """The production instance exists and is `available` (or briefly busy with routine work such as a backup).

    Gone, `stopped`, `storage-full`, `incompatible-parameters`, `failed`, ... pass every backup check
    while the site fails (plan §6.4) or is about to: RDS restarts a stopped instance after 7 days by
    itself. The failure names what a responder restores from next: the newest snapshots and the
    automated backups (retained ones outlive a deleted instance) with their restorable windows; its
    fix is the one its status needs, a recovery with real identifiers where nothing else will do.
    """
    name = settings.rds_instance
    found = rds_instance_found or {}
    status = "gone" if rds_instance_found is None else str(found.get("DBInstanceStatus", "?"))
    allocated = int(found.get("AllocatedStorage") or 0)
    observed(
        f"{name} does not exist" if rds_instance_found is None else f"{name} is {status}, {allocated} GiB allocated"
    )
    if status in SERVING:
        return
    evidence = recovery_points(rds_snapshots, rds_automated_backups)
    attach_evidence(request, "recovery points of the production instance", evidence)
    snapshots = [f"{s['id']} ({s['type']}, {s['created']}, {s['status']})" for s in evidence["snapshots"]]
    backups = [f"{b['status']} {b['arn']} ({b['window']})" for b in evidence["automated_backups"]]
    observed(f"newest snapshots: {', '.join(snapshots) or 'none'}")
    observed(f"automated backups: {'; '.join(backups) or 'none'}")
    recovery = recovery_fix(name, status, evidence)
    # The generic pointer to a restore becomes the restore itself, from what this account still holds.
    needs = recovery if status == "gone" else FIXES.get(status, WAIT).replace(RESTORE, recovery)
    groups = found.get("DBParameterGroups") or [{}]
    remedy(
        DESCRIBE + "; " + needs if status != "gone" else needs,
        allocated=str(allocated),
        grown=str(allocated + max(math.ceil(allocated * STORAGE_STEP), 10)),
        kms_key=str(found.get("KmsKeyId", "")),
        parameter_group=str(groups[0].get("DBParameterGroupName", "")),
        instance_class=str(found.get("DBInstanceClass", "")),
    )
    what = (
        f"{name} does not exist any more (deleted, or lost with its account or region): the web app has no database"
        if rds_instance_found is None
        else f"{name} is {status}, not available: the web app cannot use its database"
    )
    raise AssertionError(
        f"Site returns 502 after restore (§6.4) ahead: {what}. Recovery points: newest snapshots: "
        f"{', '.join(snapshots) or 'none'}; automated backups: {'; '.join(backups) or 'none'}"
    )


def recovery_points(snapshots: list[dict[str, Any]], backups: list[dict[str, Any]]) -> dict[str, Any]:
    """The three newest snapshots and every automated backup with its restorable window (JSON-ready)."""
    out: dict[str, Any] = {
        "snapshots": [
            {
                "id": s["DBSnapshotIdentifier"],
                "type": s.get("SnapshotType"),
                "created": iso(rds_api.taken_at(s)),
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


def recovery_fix(name: str, status: str, evidence: dict[str, Any]) -> str:
    """The recovery from what remains, with real identifiers (the newest retained backup or snapshot)."""
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
        return "no snapshot or automated backup remains to restore from (plan §2.1): escalate to AWS support"
    return (
        "run the recovery (plan §4 step 2, after checking the snapshot per §2.1.1): "
        + " or ".join(options)
        + "; then point RDS_DB_HOST at it and force a new deployment (§4 steps 2.3-2.4). Rehearse it: pytest -m drill"
    )
