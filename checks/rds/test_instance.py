"""Plan §2.1 and §6.4: the production instance is up; anything else is an outage or one waiting."""

from __future__ import annotations

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


@check(
    "2.1",
    severity="critical",
    remediation="aws rds describe-db-instances --db-instance-identifier {rds_instance} --query "
    "'DBInstances[0].[DBInstanceStatus,PercentProgress]'; aws rds describe-events --source-identifier "
    "{rds_instance} --source-type db-instance --duration 1440; stopped: aws rds start-db-instance "
    "--db-instance-identifier {rds_instance}; storage-full: aws rds modify-db-instance --db-instance-identifier "
    "{rds_instance} --allocated-storage <GiB> --apply-immediately; incompatible-parameters: fix the parameter "
    "group and reboot; failed/inaccessible-encryption-credentials: restore (plan §4 step 2, §6.4)",
)
def test_rds_instance_available(
    rds_instance: dict[str, Any],
    rds_snapshots: list[dict[str, Any]],
    settings: Settings,
    observed: Callable[[str], None],
) -> None:
    """The production instance is `available` (or briefly busy with routine work such as a backup).

    `stopped`, `storage-full`, `incompatible-parameters`, `failed`, ... pass every backup check while
    the site fails (plan §6.4) or is about to: RDS restarts a stopped instance after 7 days by itself.
    """
    status = str(rds_instance.get("DBInstanceStatus", "?"))
    observed(f"{settings.rds_instance} is {status}")
    if status in SERVING:
        return
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
