"""Plan §2.1 and §6.4: the production instance is up; anything else is an outage or one waiting."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fixtures.meta import check
from recovery import gate
from recovery.settings import Settings
from recovery.timeutil import as_utc, iso, utcnow

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
    "more, --apply-immediately); failed: " + RESTORE,
)
def test_rds_instance_available(
    rds_instance: dict[str, Any],
    rds_snapshots: list[dict[str, Any]],
    settings: Settings,
    observed: Callable[[str], None],
    remedy: Callable[..., None],
) -> None:
    """The production instance is `available` (or briefly busy with routine work such as a backup).

    `stopped`, `storage-full`, `incompatible-parameters`, `failed`, ... pass every backup check while
    the site fails (plan §6.4) or is about to: RDS restarts a stopped instance after 7 days by itself.
    """
    status = str(rds_instance.get("DBInstanceStatus", "?"))
    allocated = int(rds_instance.get("AllocatedStorage") or 0)
    observed(f"{settings.rds_instance} is {status}, {allocated} GiB allocated")
    if status in SERVING:
        return
    groups = rds_instance.get("DBParameterGroups") or [{}]
    remedy(
        DESCRIBE + "; " + FIXES.get(status, WAIT),
        allocated=str(allocated),
        grown=str(allocated + max(math.ceil(allocated * STORAGE_STEP), 10)),
        kms_key=str(rds_instance.get("KmsKeyId", "")),
        parameter_group=str(groups[0].get("DBParameterGroupName", "")),
        instance_class=str(rds_instance.get("DBInstanceClass", "")),
    )
    pitr = gate.pitr_state(rds_instance, utcnow(), settings.rpo_seconds)
    newest = [
        f"{s['DBSnapshotIdentifier']} ({iso(as_utc(s['SnapshotCreateTime']))}, {s.get('Status')})"
        for s in rds_snapshots[:3]
    ]
    window = (
        f"restorable {iso(pitr.earliest)} .. {iso(pitr.latest)}"
        if pitr.earliest and pitr.latest
        else "no point-in-time window"
    )
    raise AssertionError(
        f"Site returns 502 after restore (§6.4) ahead: {settings.rds_instance} is {status}, not available: the web "
        f"app cannot use its database. Recovery points if it cannot be brought back: {window}; newest snapshots: "
        + (", ".join(newest) or "none")
    )
