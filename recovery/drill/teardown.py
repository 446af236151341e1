"""Step 8: teardown, always, in reverse order of creation; then the leak check.

Good: after teardown nothing that carries this drill's id remains. The leak check does not
trust the ledger: it asks the tagging API for `drill-id=<id>` and, because not every service
is in the tagging API (and it lags behind deletions), lists RDS instances, ECS clusters,
services and task-definition families, load balancers, target groups, S3 buckets, log groups
and the drill lock by name and tag. Whatever it finds is a leftover.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from recovery.aws import ecs as ecs_api
from recovery.aws.session import error_code
from recovery.drill import lock
from recovery.drill.context import DrillContext, lock_name
from recovery.drill.ecsops import run_one_off, wait_waiter
from recovery.drill.ledger import DELETED, GONE, Entry
from recovery.drill.naming import TAG_CREATED, TAG_ID, DrillNames, drill_id_of
from recovery.errors import RecoveryError, WaitTimeout
from recovery.timeutil import as_utc, iso

log = logging.getLogger(__name__)

Clients = Callable[[str], Any]
# Creation order of kinds; deletion (teardown, sweep) goes in reverse.
CREATION_ORDER = (
    "drill-lock",
    "terraform-workspace",
    "log-group",
    "ecs-cluster",
    "elbv2-load-balancer",
    "elbv2-target-group",
    "elbv2-listener",
    "ecs-task-definition-family",
    "ecs-service",
    "rds-instance",
    "s3-bucket",
    "search-indices",
    "ecs-task",
    "tagged",
)
NOT_FOUND = (
    "NotFound",
    "NoSuch",
    "ParameterNotFound",
    "ResourceNotFoundException",
    "ServiceNotActiveException",
    "ServiceNotFoundException",
    "ClusterNotFoundException",
    "InvalidParameterException",
)


class TeardownError(RecoveryError):
    """A resource could not be deleted (recorded in the ledger; the sweep retries)."""


def _gone(exc: ClientError) -> bool:
    code = error_code(exc)
    return any(word in code for word in NOT_FOUND)


@dataclass
class Deleter:
    """Deletes one ledger entry through (guarded) clients. Returns DELETED or GONE."""

    clients: Clients
    names: DrillNames
    container: str = "app"
    timeout: float = 1800.0
    max_delay: float = 15.0

    def __call__(self, entry: Entry) -> str:
        method = getattr(self, "delete_" + entry.kind.replace("-", "_"), None)
        if method is None:
            raise TeardownError(f"no deleter for {entry.kind} {entry.id}")
        log.info("teardown: deleting %s %s", entry.kind, entry.id)
        try:
            return str(method(entry))
        except ClientError as exc:
            if _gone(exc):
                return GONE
            raise

    def delete_drill_lock(self, entry: Entry) -> str:
        return lock.release(self.clients("ssm"), entry.id, self.names.drill_id)

    def delete_ecs_task(self, entry: Entry) -> str:
        ecs = self.clients("ecs")
        tasks = ecs.describe_tasks(cluster=entry.extra["cluster"], tasks=[entry.id]).get("tasks", [])
        if not tasks or tasks[0].get("lastStatus") == "STOPPED":
            return GONE
        ecs.stop_task(cluster=entry.extra["cluster"], task=entry.id, reason=f"drill {self.names.drill_id} teardown")
        return DELETED

    def delete_search_indices(self, entry: Entry) -> str:
        """The drill's indices live in the shared search cluster: destroy them from a drill task."""
        x = entry.extra
        if not x.get("task_definition") or not ecs_api.cluster_exists(self.clients("ecs"), x["cluster"]):
            return GONE
        run_one_off(
            self.clients("ecs"),
            self.clients("logs"),
            cluster=x["cluster"],
            task_definition=x["task_definition"],
            container=self.container,
            command=["invenio", "index", "destroy", "--yes-i-know"],
            network=x.get("network"),
            launch=x.get("launch") or {"launchType": "FARGATE"},
            started_by=f"drill-{self.names.drill_id}-teardown",
            timeout=min(self.timeout, 900),
            max_delay=self.max_delay,
            step="teardown",
        )
        return DELETED

    def delete_ecs_service(self, entry: Entry) -> str:
        ecs = self.clients("ecs")
        cluster = entry.extra["cluster"]
        found = ecs.describe_services(cluster=cluster, services=[entry.id]).get("services", [])
        if not found or found[0].get("status") == "INACTIVE":
            return GONE
        ecs.delete_service(cluster=cluster, service=entry.id, force=True)
        self._wait("services_inactive", f"service {entry.id} inactive", cluster=cluster, services=[entry.id])
        return DELETED

    def delete_ecs_task_definition_family(self, entry: Entry) -> str:
        ecs = self.clients("ecs")
        arns: list[str] = []
        for status in ("ACTIVE", "INACTIVE"):
            for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=entry.id, status=status):
                arns += [a for a in page.get("taskDefinitionArns", []) if ecs_api.family_and_revision(a)[0] == entry.id]
        if not arns:
            return GONE
        active = ecs.list_task_definitions(familyPrefix=entry.id, status="ACTIVE").get("taskDefinitionArns", [])
        for arn in arns:
            if arn in active:
                ecs.deregister_task_definition(taskDefinition=arn)
        for i in range(0, len(arns), 10):
            try:
                ecs.delete_task_definitions(taskDefinitions=arns[i : i + 10])
            except ClientError as exc:  # older partitions lack DeleteTaskDefinitions: INACTIVE is enough
                log.info("delete_task_definitions %s: %s", entry.id, exc)
        return DELETED

    def delete_ecs_cluster(self, entry: Entry) -> str:
        ecs = self.clients("ecs")
        if not ecs_api.cluster_exists(ecs, entry.id):
            return GONE
        for arn in ecs.list_services(cluster=entry.id).get("serviceArns", []):
            name = arn.rsplit("/", 1)[-1]
            self.delete_ecs_service(Entry("ecs-service", name, entry.region, "teardown", extra={"cluster": entry.id}))
        ecs.delete_cluster(cluster=entry.id)
        return DELETED

    def delete_elbv2_listener(self, entry: Entry) -> str:
        self.clients("elbv2").delete_listener(ListenerArn=entry.id)
        return DELETED

    def delete_elbv2_target_group(self, entry: Entry) -> str:
        elb = self.clients("elbv2")
        try:
            arn = elb.describe_target_groups(Names=[entry.id])["TargetGroups"][0]["TargetGroupArn"]
        except ClientError as exc:
            if _gone(exc):
                return GONE
            raise
        elb.delete_target_group(TargetGroupArn=arn)
        return DELETED

    def delete_elbv2_load_balancer(self, entry: Entry) -> str:
        elb = self.clients("elbv2")
        try:
            arn = elb.describe_load_balancers(Names=[entry.id])["LoadBalancers"][0]["LoadBalancerArn"]
        except ClientError as exc:
            if _gone(exc):
                return GONE
            raise
        elb.delete_load_balancer(LoadBalancerArn=arn)
        self._wait("load_balancers_deleted", f"load balancer {entry.id} deleted", LoadBalancerArns=[arn])
        return DELETED

    def delete_rds_instance(self, entry: Entry) -> str:
        rds = self.clients("rds")
        try:
            status = rds.describe_db_instances(DBInstanceIdentifier=entry.id)["DBInstances"][0]["DBInstanceStatus"]
        except ClientError as exc:
            if _gone(exc):
                return GONE
            raise
        if status != "deleting":
            rds.delete_db_instance(DBInstanceIdentifier=entry.id, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
        self._wait("db_instance_deleted", f"RDS instance {entry.id} deleted", DBInstanceIdentifier=entry.id)
        return DELETED

    def delete_s3_bucket(self, entry: Entry) -> str:
        """Empty every version and delete marker, first page again each round (deleting while paging
        skips keys), then delete the bucket."""
        s3 = self.clients("s3")
        try:
            for _ in range(100_000):
                page = s3.list_object_versions(Bucket=entry.id, MaxKeys=1000)
                doomed = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if not doomed:
                    break
                s3.delete_objects(Bucket=entry.id, Delete={"Objects": doomed, "Quiet": True})
            s3.delete_bucket(Bucket=entry.id)
        except ClientError as exc:
            if _gone(exc):
                return GONE
            raise
        return DELETED

    def delete_log_group(self, entry: Entry) -> str:
        self.clients("logs").delete_log_group(logGroupName=entry.id)
        return DELETED

    def delete_terraform_workspace(self, entry: Entry) -> str:
        from recovery.drill.provision import Terraform

        region = entry.region
        return Terraform(entry.extra["directory"], self.names, region).destroy()

    def delete_tagged(self, entry: Entry) -> str:
        raise TeardownError(f"{entry.id} carries the drill's tag but no deleter knows its kind: delete it by hand")

    def _wait(self, waiter: str, what: str, **params: Any) -> None:
        try:
            wait_waiter(
                self.clients(_SERVICE_OF[waiter]),
                waiter,
                what=what,
                timeout=self.timeout,
                max_delay=self.max_delay,
                **params,
            )
        except (WaitTimeout, WaiterError) as exc:
            raise TeardownError(f"{what}: {exc}") from None


_SERVICE_OF = {
    "services_inactive": "ecs",
    "load_balancers_deleted": "elbv2",
    "db_instance_deleted": "rds",
}


def teardown(ctx: DrillContext) -> list[Entry]:
    """Delete everything in the ledger (reverse order, each outcome recorded); the entries left open."""
    deleter = Deleter(ctx.client, ctx.names, ctx.settings.app_container, max_delay=ctx.options.drill_poll_seconds)
    return ctx.ledger.teardown(deleter)


# ---- leak check / sweep scan ---------------------------------------------------------------
@dataclass
class Found:
    """A drill resource found in the account (not from the ledger)."""

    kind: str
    id: str
    drill_id: str
    created: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created"] = iso(self.created) if self.created else None
        return d


def _tag(tags: list[dict[str, Any]] | None, key: str) -> str | None:
    for t in tags or []:
        if (t.get("Key") or t.get("key")) == key:
            return str(t.get("Value") if "Value" in t else t.get("value"))
    return None


def _created_from_tags(tags: list[dict[str, Any]] | None) -> datetime | None:
    raw = _tag(tags, TAG_CREATED)
    try:
        return as_utc(raw) if raw else None
    except ValueError:
        return None


def scan(clients: Clients, prefix: str, drill_id: str | None = None) -> list[Found]:
    """Every drill resource (of `drill_id`, or of any drill) the account shows."""
    found: list[Found] = []

    def keep(kind: str, ident: str, tags: list[dict[str, Any]] | None = None, **kw: Any) -> None:
        did = drill_id_of(ident, prefix) or _tag(tags, TAG_ID)
        if did and (drill_id is None or did == drill_id):
            created = kw.pop("created", None) or _created_from_tags(tags)
            found.append(Found(kind, ident, did, created, kw))

    rds = clients("rds")
    for page in rds.get_paginator("describe_db_instances").paginate():
        for db in page["DBInstances"]:
            created = db.get("InstanceCreateTime")
            keep(
                "rds-instance",
                db["DBInstanceIdentifier"],
                db.get("TagList"),
                created=as_utc(created) if created else None,
            )

    ecs = clients("ecs")
    arns = [a for page in ecs.get_paginator("list_clusters").paginate() for a in page.get("clusterArns", [])]
    for i in range(0, len(arns), 100):
        for c in ecs.describe_clusters(clusters=arns[i : i + 100], include=["TAGS"]).get("clusters", []):
            if c.get("status") != "ACTIVE":
                continue
            keep("ecs-cluster", c["clusterName"], c.get("tags"))
            if drill_id_of(c["clusterName"], prefix) is None and _tag(c.get("tags"), TAG_ID) is None:
                continue
            svc_arns = [
                a
                for p in ecs.get_paginator("list_services").paginate(cluster=c["clusterArn"])
                for a in p.get("serviceArns", [])
            ]
            for j in range(0, len(svc_arns), 10):
                for svc in ecs.describe_services(
                    cluster=c["clusterArn"], services=svc_arns[j : j + 10], include=["TAGS"]
                ).get("services", []):
                    if svc.get("status") in ("ACTIVE", "DRAINING"):
                        keep(
                            "ecs-service",
                            svc["serviceName"],
                            svc.get("tags"),
                            cluster=c["clusterName"],
                            created=svc.get("createdAt") and as_utc(svc["createdAt"]),
                        )
    families = [
        f
        for page in ecs.get_paginator("list_task_definition_families").paginate(
            familyPrefix=f"{prefix}-drill-", status="ACTIVE"
        )
        for f in page.get("families", [])
    ]
    for family in families:
        # Confirm with the revisions: a family whose revisions are all INACTIVE is gone.
        active = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE").get("taskDefinitionArns", [])
        if any(ecs_api.family_and_revision(a)[0] == family for a in active):
            keep("ecs-task-definition-family", family)

    elb = clients("elbv2")
    for page in elb.get_paginator("describe_load_balancers").paginate():
        for lb in page["LoadBalancers"]:
            keep(
                "elbv2-load-balancer",
                lb["LoadBalancerName"],
                created=as_utc(lb["CreatedTime"]) if lb.get("CreatedTime") else None,
            )
    for page in elb.get_paginator("describe_target_groups").paginate():
        for tg in page["TargetGroups"]:
            keep("elbv2-target-group", tg["TargetGroupName"])

    s3 = clients("s3")
    for b in s3.list_buckets().get("Buckets", []):
        keep("s3-bucket", b["Name"], created=as_utc(b["CreationDate"]) if b.get("CreationDate") else None)

    logs = clients("logs")
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=f"/{prefix}-drill-"):
        for g in page.get("logGroups", []):
            ms = g.get("creationTime")
            keep("log-group", g["logGroupName"], created=datetime.fromtimestamp(ms / 1000, UTC) if ms else None)

    held = lock.holder(clients("ssm"), lock_name(prefix))
    if held and held.get("drill_id") and (drill_id is None or held["drill_id"] == drill_id):
        started = held.get("started")
        found.append(
            Found("drill-lock", lock_name(prefix), str(held["drill_id"]), as_utc(started) if started else None)
        )

    known = {f.id for f in found}
    covered = (":rds:", ":ecs:", ":elasticloadbalancing:", ":s3:", ":logs:", ":ssm:")
    tagging = clients("resourcegroupstaggingapi")
    filters = [{"Key": TAG_ID, "Values": [drill_id]}] if drill_id else [{"Key": TAG_ID}]
    try:
        for page in tagging.get_paginator("get_resources").paginate(TagFilters=filters):
            for r in page.get("ResourceTagMappingList", []):
                arn = r["ResourceARN"]
                if any(c in arn for c in covered) or any(k in arn for k in known):
                    continue  # listed above, authoritatively (the tagging API lags behind deletions)
                did = _tag(r.get("Tags"), TAG_ID) or ""
                found.append(Found("tagged", arn, did, _created_from_tags(r.get("Tags"))))
    except ClientError as exc:
        log.warning("tagging API unavailable for the leak check: %s", exc)
    return found


# Kinds no AWS listing can see (indices inside the shared search cluster, a terraform workspace):
# while their ledger entry is open they count as left over.
UNLISTABLE = ("search-indices", "terraform-workspace")


def leftovers(ctx: DrillContext) -> list[dict[str, Any]]:
    """The leak check of this drill: what still exists after teardown."""
    found = [f.as_dict() for f in scan(ctx.client, ctx.names.prefix, ctx.drill_id)]
    found += [
        Found(e.kind, e.id, ctx.drill_id, None, {"ledger": e.status, "outcome": e.outcome}).as_dict()
        for e in ctx.ledger.open_entries()
        if e.kind in UNLISTABLE
    ]
    return found
