"""Behaviour moto lacks and the plan depends on, installed on moto's classes (twin-only).

moto has no sense of time: LatestRestorableTime is always "now" and stays even when backups
are off. Real RDS archives transaction logs every 5 minutes, so the restorable time trails
by a few minutes, and an instance without backups has none.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.rds.models import DBInstance

DEFAULT_PITR_LAG = timedelta(seconds=95)
_installed = False


def _latest_restorable_time(self: Any) -> datetime | None:
    if not self.backup_retention_period:
        return None
    lag: timedelta = getattr(self, "twin_pitr_lag", DEFAULT_PITR_LAG)
    return datetime.now(UTC) - lag


def _address(self: Any) -> str:
    default = f"{self.db_instance_identifier}.aaaaaaaaaa.{self.region}.rds.amazonaws.com"
    return str(getattr(self, "twin_address", default))


def install() -> None:
    """Idempotent: patch moto's RDS instance model once per process."""
    global _installed
    if _installed:
        return
    DBInstance.latest_restorable_time = property(_latest_restorable_time)  # type: ignore[assignment,method-assign]
    DBInstance.address = property(_address)  # type: ignore[assignment,method-assign]
    _wrap_modify()
    original_backup = DBInstance.save_automated_backup

    def save_automated_backup(self: Any) -> None:
        # RDS takes no automated snapshot of an instance created without backups.
        if self.backup_retention_period:
            original_backup(self)

    DBInstance.save_automated_backup = save_automated_backup  # type: ignore[method-assign]
    _patch_eni()
    _patch_replication_filter()
    _patch_grace_period()
    _patch_capacity_providers()
    from twin import rdsbackups  # automated backups, retained after a deletion (imports the data side)

    rdsbackups.install()
    _installed = True


def _patch_grace_period() -> None:
    """moto 5.2 drops a service's healthCheckGracePeriodSeconds; ECS keeps and describes it."""
    from moto.ecs.responses import EC2ContainerServiceResponse

    for name in ("create_service", "update_service"):
        original = getattr(EC2ContainerServiceResponse, name)

        def keep(self: Any, _original: Any = original) -> Any:
            result = _original(self)
            grace = self._get_param("healthCheckGracePeriodSeconds")
            if grace is not None:
                service = self.ecs_backend.describe_services(
                    self._get_param("cluster", "default"),
                    [self._get_param("serviceName") or self._get_param("service")],
                )[0][0]
                service.health_check_grace_period_seconds = int(grace)
            return result

        setattr(EC2ContainerServiceResponse, name, keep)


def _patch_eni() -> None:
    """moto 5.2's RunTask with awsvpc reads an ENI attribute its ENI model lacks."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    if not hasattr(NetworkInterface, "private_dns_name"):

        def private_dns_name(self: Any) -> str:
            ip = str(self.private_ip_address or "10.0.0.1").replace(".", "-")
            return f"ip-{ip}.{self.ec2_backend.region_name}.compute.internal"

        NetworkInterface.private_dns_name = property(private_dns_name)  # type: ignore[attr-defined,assignment]


def _wrap_modify() -> None:
    """Turning automated backups off deletes the instance's automated snapshots, as RDS does; more storage
    applied immediately takes a storage-full instance through modifying and storage-optimization (where it
    serves again) back to available."""
    from moto.rds.models import RDSBackend

    original = RDSBackend.modify_db_instance

    def modify_db_instance(self: Any, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        before = self.describe_db_instances(db_instance_identifier)[0]
        full, allocated = before.status == "storage-full", int(before.allocated_storage or 0)
        result = original(self, db_instance_identifier, db_kwargs)
        grown = int(db_kwargs.get("allocated_storage") or 0) > allocated
        if full and grown and db_kwargs.get("apply_immediately"):
            _scale_storage(result)
        if db_kwargs.get("backup_retention_period") == 0:
            for sid in [
                k
                for k, v in self.database_snapshots.items()
                if v.snapshot_type == "automated" and v.database.db_instance_identifier == db_instance_identifier
            ]:
                del self.database_snapshots[sid]
        return result

    RDSBackend.modify_db_instance = modify_db_instance  # type: ignore[method-assign]


STORAGE_STEP_SECONDS = 0.5  # hours on RDS for storage-optimization; a moment here, enough for a waiter to see it


def _scale_storage(instance: Any) -> None:
    instance.status = "modifying"
    for step, status in enumerate(("storage-optimization", "available"), start=1):
        timer = threading.Timer(STORAGE_STEP_SECONDS * step, setattr, args=(instance, "status", status))
        timer.daemon = True
        timer.start()


def _patch_replication_filter() -> None:
    """moto 5.2 answers GetBucketReplication with `Filter: {Prefix: ""}` whatever was stored: answer the rule's own."""
    from moto.core.responses import ActionResult
    from moto.s3.exceptions import ReplicationConfigurationNotFoundError
    from moto.s3.responses import S3Response

    def get_bucket_replication(self: Any) -> Any:
        self.data["Action"] = "GetBucketReplication"
        replication = self.backend.get_bucket_replication(self.bucket_name)
        if not replication:
            raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
        stored = replication["Rule"]
        rules = [
            {
                "ID": rule["ID"],
                "Priority": rule["Priority"],
                "Status": rule["Status"],
                "DeleteMarkerReplication": {"Status": "Disabled"},
                "Filter": _clean(rule.get("Filter")),
                "Destination": rule["Destination"],
            }
            for rule in ([stored] if isinstance(stored, dict) else stored)
        ]
        config = {"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}}
        return self.serialized(ActionResult(config))

    S3Response.get_bucket_replication = get_bucket_replication  # type: ignore[method-assign]


def _clean(value: Any) -> Any:
    """XML-parsed filter -> the API's shape (empty elements parse as None)."""
    if value is None:
        return {"Prefix": ""}
    if isinstance(value, dict):
        return {k: ("" if v is None else _clean(v) if isinstance(v, dict) else v) for k, v in value.items()}
    return value


def _patch_capacity_providers() -> None:
    """moto 5.2 drops `capacityProviderStrategy` (and defaults the launch type to EC2): keep it as ECS does.

    ECS rejects a strategy naming a provider the cluster does not have, and a strategy with a
    launch type; a service on a strategy has no launch type.
    """
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.responses import EC2ContainerServiceResponse

    def checked(self: Any) -> list[dict[str, Any]]:
        strategy: list[dict[str, Any]] = self._get_param("capacityProviderStrategy") or []
        if not strategy:
            return strategy
        if self._get_param("launchType"):
            raise InvalidParameterException(
                "Specifying both a launch type and capacity provider strategy is not supported."
            )
        cluster = self.ecs_backend._get_cluster(self._get_param("cluster", "default"))
        missing = [
            i["capacityProvider"] for i in strategy if i["capacityProvider"] not in (cluster.capacity_providers or [])
        ]
        if missing:
            raise InvalidParameterException(
                "The specified capacity provider strategy cannot contain a capacity provider that is not associated "
                f"with the cluster. Associate the capacity provider with the cluster or specify a valid capacity "
                f"provider and try again. ({', '.join(missing)})"
            )
        return strategy

    def keep(action: str) -> None:
        original = getattr(EC2ContainerServiceResponse, action)

        def handler(self: Any) -> Any:
            strategy = checked(self)
            if strategy and action == "run_task":
                # moto places a task without a launch type on EC2 container instances; Fargate providers run it.
                read = self._get_param
                self._get_param = lambda name, if_none=None: "FARGATE" if name == "launchType" else read(name, if_none)
            result = original(self)
            if strategy and action != "run_task":
                name = str(self._get_param("serviceName") or self._get_param("service")).rsplit("/", 1)[-1]
                cluster = str(self._get_param("cluster", "default")).rsplit("/", 1)[-1]
                svc = self.ecs_backend.services[f"{cluster}:{name}"]
                svc.capacity_provider_strategy, svc.launch_type = strategy, None
                for dep in svc.deployments[:1]:
                    dep.update(launchType=None, capacityProviderStrategy=strategy)
            return result

        setattr(EC2ContainerServiceResponse, action, handler)

    for action in ("create_service", "update_service", "run_task"):
        keep(action)
