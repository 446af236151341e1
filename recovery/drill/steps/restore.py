"""Step restore (plan 4 step 2.2): the recovery point restored to a new, drill-named instance.

Class, subnet group, security groups and parameter group from the snapshot, the automated backup or
the settings (production's instance may be gone: `restore_sources` says where each came from); no Multi-AZ, no deletion
protection, no automated backups of the throw-away copy. The step ends when the instance is
available and accepts production's master user and password over SQL (plan 2.5, 6.1).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any

import psycopg

from recovery import db
from recovery.aws import ecs as ecs_api
from recovery.aws import rds as rds_api
from recovery.aws import references
from recovery.db import Endpoint
from recovery.drill import diagnosis
from recovery.drill.context import DrillContext, PlannedCall
from recovery.drill.ecsops import wait_waiter
from recovery.drill.state import RecoveryPoint, Restored
from recovery.errors import NotFound, RecoveryError, StepFailed, WaitTimeout
from recovery.secrets import Secret, redact
from recovery.timeutil import as_utc, wait_until

log = logging.getLogger(__name__)

NAME = "restore"
API_NAMES = {
    "restore_db_instance_from_db_snapshot": "RestoreDBInstanceFromDBSnapshot",
    "restore_db_instance_to_point_in_time": "RestoreDBInstanceToPointInTime",
}


# What a restore used to copy from production's instance, and what RDS does without it.
SOURCED = {
    "DBInstanceClass": "RDS default: the source instance's class",
    "DBSubnetGroupName": "RDS default: the default VPC's subnet group",
    "VpcSecurityGroupIds": "RDS default: the VPC's default security group",
    "DBParameterGroupName": "RDS default: the engine's default parameter group",
    "KmsKeyId": "RDS keeps the source's key (not a restore parameter)",
}


def restore_sources(ctx: DrillContext, point: RecoveryPoint) -> dict[str, dict[str, Any]]:
    """Each parameter production's instance used to give, with its source: the snapshot, the automated
    backup, the settings, in that order; then production's instance while it exists (a recovery without
    it would not have that value: set the setting); else RDS's default."""
    s = ctx.settings
    rds = ctx.client("rds")
    layers: list[tuple[str, dict[str, Any]]] = []
    if point.snapshot:
        snap = rds.describe_db_snapshots(DBSnapshotIdentifier=point.snapshot)["DBSnapshots"][0]
        layers.append((f"snapshot {point.snapshot}", {k: snap.get(k) for k in SOURCED}))
    for backup in rds_api.automated_backups(rds, s.rds_instance):
        if point.source_backup_arn in (None, backup.get("DBInstanceAutomatedBackupsArn")):
            label = f"{backup.get('Status')} automated backup {backup.get('DBInstanceAutomatedBackupsArn')}"
            layers.append((label, {k: backup.get(k) for k in SOURCED}))
            break
    configured = {
        "DBInstanceClass": ("TURATH_RDS_INSTANCE_CLASS", s.rds_instance_class),
        "DBSubnetGroupName": ("TURATH_RDS_SUBNET_GROUP", s.rds_subnet_group),
        "VpcSecurityGroupIds": ("TURATH_RDS_SECURITY_GROUPS", list(s.rds_security_groups)),
        "DBParameterGroupName": ("TURATH_RDS_PARAMETER_GROUP", s.rds_parameter_group),
    }
    try:
        production = rds_api.describe_instance(rds, s.rds_instance)
    except NotFound:
        production = None
    out: dict[str, dict[str, Any]] = {}
    for key, default in SOURCED.items():
        found = next(((label, values[key]) for label, values in layers if values.get(key)), None)
        if found is None and key in configured and configured[key][1]:
            found = (f"setting {configured[key][0]}", configured[key][1])
        if found is None and production is not None and _production_value(production, key):
            label = f"production instance {s.rds_instance} (a recovery without it needs the setting)"
            found = (label, _production_value(production, key))
        out[key] = {"value": found[1], "source": found[0]} if found else {"value": None, "source": default}
    return out


def _production_value(production: dict[str, Any], key: str) -> Any:
    if key == "DBSubnetGroupName":
        return (production.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
    if key == "VpcSecurityGroupIds":
        return [g["VpcSecurityGroupId"] for g in production.get("VpcSecurityGroups", []) if g.get("VpcSecurityGroupId")]
    if key == "DBParameterGroupName":
        groups = [g.get("DBParameterGroupName", "") for g in production.get("DBParameterGroups", [])]
        return next((g for g in groups if g and not g.startswith("default.")), None)  # a default is RDS's anyway
    return production.get(key)


def restore_call(
    ctx: DrillContext, point: RecoveryPoint, sources: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """(operation, parameters) of the restore: class, subnets, security groups and parameter group from `sources`."""
    common: dict[str, Any] = {
        "MultiAZ": False,
        "PubliclyAccessible": False,
        "DeletionProtection": False,
        # No automated backups of a throw-away copy: none to pay for, none to delete, and RDS
        # does not hold the instance in backing-up before it is usable.
        "BackupRetentionPeriod": 0,
        "Tags": ctx.names.tag_list(),
    }
    for key in ("DBInstanceClass", "DBSubnetGroupName", "VpcSecurityGroupIds", "DBParameterGroupName"):
        if sources.get(key, {}).get("value"):
            common[key] = sources[key]["value"]
    # The storage key needs no parameter: a restore keeps the snapshot's (or source instance's) KMS
    # key, for which the caller needs kms:CreateGrant and kms:DescribeKey through RDS
    # (policies/drill-kms.json).
    if point.mode == "snapshot":
        return "restore_db_instance_from_db_snapshot", {
            "DBInstanceIdentifier": ctx.names.db_instance,
            "DBSnapshotIdentifier": point.snapshot,
            **common,
        }
    params: dict[str, Any] = {"TargetDBInstanceIdentifier": ctx.names.db_instance, **common}
    if point.source_backup_arn:
        params["SourceDBInstanceAutomatedBackupsArn"] = point.source_backup_arn
    else:
        params["SourceDBInstanceIdentifier"] = ctx.settings.rds_instance
    if point.use_latest:
        params["UseLatestRestorableTime"] = True
    else:
        params["RestoreTime"] = as_utc(str(point.restore_time))
    return "restore_db_instance_to_point_in_time", params


def production_password(ctx: DrillContext) -> tuple[Secret, str]:
    """RDS_DB_PASSWORD of the revision a recovery deploys for production's web service (plan 2.5, 4 2.4).

    That is the family's latest registered revision (what terraform apply + a deployment roll
    out), so a stale password registered but not yet deployed fails here, before the bad day.
    """
    from recovery.drill.steps.provision import recovery_task_definition

    s = ctx.settings
    ecs = ctx.client("ecs")
    service = (s.web_services or s.ecs_services)[0]
    svc = ecs_api.describe_services(ecs, s.ecs_cluster, (service,))[service]
    arn = recovery_task_definition(ecs, svc)[0]
    found = references.container_values(ctx.client, ecs_api.describe_task_definition(ecs, arn), s.app_container)
    raw = found.values.get("RDS_DB_PASSWORD", "") if found is not None else ""
    if not raw:
        why = f" ({found.unreadable['RDS_DB_PASSWORD']})" if found and "RDS_DB_PASSWORD" in found.unreadable else ""
        raise StepFailed(
            NAME,
            f"{ecs_api.short(arn)} ({service}) delivers no RDS_DB_PASSWORD to container {s.app_container}{why} "
            "(plan 6.1)",
            plan_section="6.1",
        )
    secret = Secret(raw)
    ctx.secrets["db_password"] = secret
    return secret, ecs_api.short(arn)


def password(ctx: DrillContext) -> Secret:
    return ctx.secrets.get("db_password") or production_password(ctx)[0]


def restored_db(ctx: DrillContext) -> AbstractContextManager[psycopg.Connection[Any]]:
    """A read-only session on the restored database (as the master user, with the verified password)."""
    s = ctx.settings
    restored = ctx.require(ctx.state.restored, NAME)
    return db.connect(Endpoint(restored.sql_address, s.db_user, password(ctx), s.db_name), 10)


def verify_login(ctx: DrillContext, address: str, secret: Secret, step: str, source: str) -> None:
    """The restored DB accepts the master user and password over SQL, or StepFailed (plan 6.1)."""
    last: list[str] = [""]

    def login() -> bool:
        try:
            with db.connect(Endpoint(address, ctx.settings.db_user, secret, ctx.settings.db_name), 10) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError as exc:
            text = redact(str(exc))
            if "password authentication failed" in text or "authentication failed" in text:
                found = diagnosis.password_rejected(ctx, address, source)
                raise found.failed(step, {"error": text}) from None
            last[0] = text
            return False

    try:
        wait_until(
            login,
            timeout=ctx.timeouts.db_login,
            interval=2.0,
            what=f"SQL login at {address}",
            status=lambda: last[0] or "connecting",
        )
    except WaitTimeout as exc:
        raise StepFailed(step, f"cannot reach the restored DB at {address}: {last[0] or exc}") from None


def start(ctx: DrillContext) -> tuple[str, dict[str, dict[str, Any]]]:
    """Make the restore call (once: an instance already restoring is left to go on); (operation, sources).

    The engine calls this before provisioning, so the database restores while the environment is made.
    """
    rds = ctx.client("rds")
    point = ctx.require(ctx.state.recovery, NAME)
    sources = restore_sources(ctx, point)
    operation, params = restore_call(ctx, point, sources)
    ident = ctx.names.db_instance
    entry = ctx.record("rds-instance", ident, NAME)
    try:
        rds_api.describe_instance(rds, ident)
        log.info("restore: %s exists already (started earlier, or a resumed drill)", ident)
    except RecoveryError:
        getattr(rds, operation)(**params)
    ctx.ledger.created(entry)
    return operation, sources


def run(ctx: DrillContext) -> None:
    rds = ctx.client("rds")
    operation, sources = start(ctx)
    ident = ctx.names.db_instance

    def progress(resp: dict[str, Any] | None) -> str:
        dbs = (resp or {}).get("DBInstances") or [{}]
        return f"(status {dbs[0].get('DBInstanceStatus', '?')})"

    try:
        wait_waiter(
            rds,
            "db_instance_available",
            what=f"RDS instance {ident} available",
            timeout=ctx.timeouts.restore,
            max_delay=ctx.options.drill_poll_seconds,
            progress=progress,
            DBInstanceIdentifier=ident,
        )
    except WaitTimeout as exc:
        raise StepFailed(NAME, str(exc)) from None
    restored = rds_api.describe_instance(rds, ident)
    endpoint = f"{restored['Endpoint']['Address']}:{restored['Endpoint']['Port']}"
    secret, source = production_password(ctx)
    ctx.state.restored = Restored(
        instance=ident,
        endpoint=endpoint,
        sql_address=ctx.options.drill_db_host or endpoint,
        instance_class=restored.get("DBInstanceClass"),
        operation=operation,
        password_source=source,
        sources=sources,
    )
    ctx.save()
    verify_login(ctx, ctx.state.restored.sql_address, secret, NAME, source)


def planned(ctx: DrillContext) -> list[PlannedCall]:
    s, n = ctx.settings, ctx.names
    point = ctx.state.recovery
    if point is None or point.refused:
        return []
    operation, params = restore_call(ctx, point, restore_sources(ctx, point))
    source = params.get("DBSnapshotIdentifier") or (
        f"{point.source_backup_arn or s.rds_instance} at {point.recovery_point}"
    )
    detail = f"from {source}, class {params.get('DBInstanceClass', 'of the source')}"
    return [PlannedCall(NAME, "rds", API_NAMES[operation], n.db_instance, detail)]
