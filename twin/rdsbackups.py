"""Automated backups as RDS keeps them, also after the instance is gone (moto 5.2 lacks most of it).

Good: `DeleteDBInstance` with `DeleteAutomatedBackups=False` leaves a *retained* automated backup
(`DescribeDBInstanceAutomatedBackups`: status `retained`, its ARN, resource id and `RestoreWindow`,
the window the instance had when it was deleted, shrinking as its days expire) and the automated
snapshots; `RestoreDBInstanceToPointInTime` with `SourceDBInstanceAutomatedBackupsArn` (or
`SourceDbiResourceId`) restores from it to any time in that window and the new instance serves the
data as of that time. The final snapshot and the manual ones keep the data of their moment.

moto lists a backup only as `{DBInstanceIdentifier, Status}`, gives every instance one resource id,
and cannot restore from a backup ARN; this module answers those calls itself. On the data side it
materialises, before the database is dropped, every snapshot that outlives the instance and keeps a
copy of the database as the retained backup's transaction logs (restores prune it to their time).
"""

from __future__ import annotations

import copy
import hashlib
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore import xform_name
from moto.core.responses import ActionResult
from moto.rds.exceptions import RDSClientError
from moto.rds.models import RDSBackend
from moto.rds.responses import RDSResponse

from recovery.timeutil import as_utc
from twin import rdsdata

_installed = False
_ALPHABET = string.ascii_uppercase + string.digits


@dataclass
class Retained:
    """The automated backup of a deleted instance: its window and where its data lives."""

    arn: str
    resource_id: str
    instance: Any  # the deleted moto DBInstance: its properties are what a restore from it gets
    earliest: datetime
    latest: datetime
    database: str | None  # the twin's copy of the data at deletion (None without a data plane)

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """Earliest moves on as the backup's days expire (no new logs are archived)."""
        retention = timedelta(days=int(self.instance.backup_retention_period or 0))
        return max(self.earliest, now - retention), self.latest


def _code(seed: str, length: int = 26) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:length])


def resource_id(instance: Any) -> str:
    """A DbiResourceId of its own per instance (moto gives all of them the same one)."""
    rid = getattr(instance, "twin_resource_id", None)
    if rid is None:
        rid = f"db-{_code(f'{instance.db_instance_identifier}/{instance.instance_create_time}')}"
        instance.twin_resource_id = rid
        instance.dbi_resource_id = rid
    return str(rid)


def backup_arn(instance: Any) -> str:
    rid = resource_id(instance)
    return f"arn:{instance.partition}:rds:{instance.region}:{instance.account_id}:auto-backup:ab-{_code(rid)}"


def active_window(instance: Any, now: datetime) -> tuple[datetime, datetime] | None:
    """The restorable window of a live instance: retention days back, not before it existed."""
    latest = instance.latest_restorable_time
    if latest is None or not instance.backup_retention_period:
        return None
    earliest = max(now - timedelta(days=int(instance.backup_retention_period)), as_utc(instance.instance_create_time))
    return earliest, as_utc(latest)


def retained(backend: Any) -> dict[str, Retained]:
    """The backend's retained backups by ARN (a new backend after a reset starts with none)."""
    found: dict[str, Retained] | None = getattr(backend, "twin_retained_backups", None)
    if found is None:
        found = {}
        backend.twin_retained_backups = found
    return found


def _describe(instance: Any, status: str, window: tuple[datetime, datetime], arn: str) -> dict[str, Any]:
    """One DBInstanceAutomatedBackup, in the API's shape."""
    out: dict[str, Any] = {
        "DBInstanceArn": instance.arn,
        "DbiResourceId": resource_id(instance),
        "Region": instance.region,
        "DBInstanceIdentifier": instance.db_instance_identifier,
        "RestoreWindow": {"EarliestTime": window[0], "LatestTime": window[1]},
        "AllocatedStorage": instance.allocated_storage,
        "Status": status,
        "Port": instance.port,
        "AvailabilityZone": instance.availability_zone,
        "InstanceCreateTime": as_utc(instance.instance_create_time),
        "MasterUsername": instance.master_username,
        "Engine": instance.engine,
        "EngineVersion": instance.engine_version,
        "StorageType": instance.storage_type,
        "Encrypted": bool(instance.storage_encrypted),
        "IAMDatabaseAuthenticationEnabled": bool(getattr(instance, "enable_iam_database_authentication", False)),
        "BackupRetentionPeriod": instance.backup_retention_period,
        "PreferredBackupWindow": instance.preferred_backup_window,
        "DBInstanceAutomatedBackupsArn": arn,
        "TagList": list(getattr(instance, "tags", None) or []),
    }
    if instance.storage_encrypted and instance.kms_key_id:
        out["KmsKeyId"] = instance.kms_key_id
    return out


def _matches(backup: dict[str, Any], filters: list[Any], ident: str | None, rid: str | None, arn: str | None) -> bool:
    if ident and backup["DBInstanceIdentifier"].lower() != ident.lower():
        return False
    if rid and backup["DbiResourceId"].lower() != rid.lower():
        return False
    if arn and backup["DBInstanceAutomatedBackupsArn"] != arn:
        return False
    keys = {"status": ("Status",), "db-instance-id": ("DBInstanceIdentifier", "DBInstanceArn")}
    keys["dbi-resource-id"] = ("DbiResourceId",)
    for f in filters:
        name, values = f.get("Name") or f.get("name"), f.get("Values") or f.get("values") or []
        fields = keys.get(str(name))
        if fields is None:
            raise RDSClientError("InvalidParameterValue", f"Unrecognized filter name: {name}")
        if not any(backup[field] in values for field in fields):
            return False
    return True


def describe_automated_backups(backend: Any, params: Any) -> list[dict[str, Any]]:
    """DescribeDBInstanceAutomatedBackups: the live instances' (active) and the retained ones."""
    now = datetime.now(UTC)
    found = []
    for instance in backend.databases.values():
        window = active_window(instance, now)
        if window is not None:
            found.append(_describe(instance, "active", window, backup_arn(instance)))
    for record in retained(backend).values():
        found.append(_describe(record.instance, "retained", record.window(now), record.arn))
    return [
        b
        for b in found
        if _matches(
            b,
            list(params.get("Filters") or []),
            params.get("DBInstanceIdentifier"),
            params.get("DbiResourceId"),
            params.get("DBInstanceAutomatedBackupsArn"),
        )
    ]


def keep_backups(backend: Any, ident: str, retain: bool) -> None:
    """Before `ident` is deleted: what outlives it keeps its data, and a retained backup is recorded."""
    instance = backend.databases.get(ident)
    if instance is None:
        return
    window = active_window(instance, datetime.now(UTC))
    retain = retain and window is not None
    data = rdsdata.active()
    database = None
    if data is not None and ident in data.proxies:
        for snap in list(backend.database_snapshots.values()):
            if snap.database.db_instance_identifier == ident and (retain or snap.snapshot_type != "automated"):
                data.snapshot_db(snap)  # its data must not depend on a database about to be dropped
        if retain:
            database = rdsdata.db_name("snap", f"retained-{resource_id(instance)}")
            data.pg.create_database(database, owner=data.master_user, template=rdsdata.db_name("rds", ident))
    if retain and window is not None:
        arn = backup_arn(instance)
        retained(backend)[arn] = Retained(arn, resource_id(instance), instance, window[0], window[1], database)


def restore_from_retained(response: Any, record: Retained) -> Any:
    """RestoreDBInstanceToPointInTime from a retained backup: its properties, its data as of the time."""
    params = response.params
    backend = response.backend
    window = record.window(datetime.now(UTC))
    when = rdsdata.restore_time(params.get("UseLatestRestorableTime"), params.get("RestoreTime"), window, record.arn)
    source = record.instance
    # As moto's own point-in-time restore: the source's properties, then the request's.
    own = {"backend", "db_subnet_group", "max_allocated_storage", "created", "instance_create_time", "status"}
    props: dict[str, Any] = {}
    for key, value in source.__dict__.items():
        key = key.lstrip("_")
        if key not in own and key != "events" and not key.startswith("twin_") and key != "dbi_resource_id":
            props[key] = copy.deepcopy(value)
    if not getattr(source, "option_group_supplied", True):
        props.pop("option_group_name", None)
    props["tags"] = []
    skip = {
        xform_name(k)
        for k in (
            "SourceDBInstanceAutomatedBackupsArn",
            "SourceDbiResourceId",
            "TargetDBInstanceIdentifier",
            "RestoreTime",
            "UseLatestRestorableTime",
        )
    }
    for key in list(params):
        if key not in skip and params[key] not in (None, ""):
            props[key] = params[key]
    props["db_instance_identifier"] = params["TargetDBInstanceIdentifier"]
    instance = backend.create_db_instance(props)
    data = rdsdata.active()
    if data is not None and record.database is not None:
        data.attach(instance, record.database, as_of=when)
        data.transition(instance, "creating")
    return instance


def install() -> None:
    """Idempotent: patch moto's RDS backend and responses once per process."""
    global _installed
    if _installed:
        return
    _installed = True
    orig_delete = RDSBackend.delete_db_instance
    orig_pitr = RDSResponse.restore_db_instance_to_point_in_time

    def delete_db_instance(
        self: Any,
        db_instance_identifier: str,
        final_db_snapshot_identifier: str | None = None,
        skip_final_snapshot: bool | None = False,
        delete_automated_backups: bool | None = True,
    ) -> Any:
        instance = self.databases.get(db_instance_identifier)
        if instance is not None and not instance.deletion_protection:
            # AWS's default is to delete them (DeleteAutomatedBackups defaults to true).
            keep_backups(self, db_instance_identifier, delete_automated_backups is False)
        return orig_delete(
            self, db_instance_identifier, final_db_snapshot_identifier, skip_final_snapshot, delete_automated_backups
        )

    def describe_db_instance_automated_backups(self: Any) -> ActionResult:
        return ActionResult({"DBInstanceAutomatedBackups": describe_automated_backups(self.backend, self.params)})

    def restore_db_instance_to_point_in_time(self: Any) -> ActionResult:
        arn = self.params.get("SourceDBInstanceAutomatedBackupsArn")
        rid = self.params.get("SourceDbiResourceId")
        if (arn or rid) and not self.params.get("SourceDBInstanceIdentifier"):
            backups = describe_automated_backups(
                self.backend, {"DBInstanceAutomatedBackupsArn": arn, "DbiResourceId": rid}
            )
            if not backups:
                raise RDSClientError("DBInstanceAutomatedBackupNotFound", f"No automated backup {arn or rid} was found")
            record = retained(self.backend).get(backups[0]["DBInstanceAutomatedBackupsArn"])
            if record is not None:
                return ActionResult({"DBInstance": restore_from_retained(self, record)})
            # An active backup: the live instance is the source (moto would take the region's first instance).
            self.params["SourceDBInstanceIdentifier"] = backups[0]["DBInstanceIdentifier"]
        return orig_pitr(self)

    RDSBackend.delete_db_instance = delete_db_instance  # type: ignore[method-assign]
    RDSResponse.describe_db_instance_automated_backups = describe_db_instance_automated_backups  # type: ignore[method-assign]
    RDSResponse.restore_db_instance_to_point_in_time = restore_db_instance_to_point_in_time  # type: ignore[method-assign]
