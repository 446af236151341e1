"""Teardown, the leak check and the sweep's scan: find a drill's resources in the account, delete them in order.

Good: after teardown nothing that carries this drill's id remains, and the leak check proves
it from the account, not from the ledger. Ownership is strict: a resource is the drill's only
when its name is drill-named AND it carries the tag `drill-id=<id>` (search indices, which carry
no tags, by their drill prefix inside the search service). Something named like a drill but
untagged is reported and left alone.

Deletion follows dependencies, not creation order: work first (one-off tasks stopped, services
deleted, so no worker writes to an index any more), then the search indices, then listeners ->
target groups -> load balancer, task definitions, cluster, database, buckets, log groups, and
the drill lock last. A call the API answers with "in use" is retried for a bounded time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from recovery.aws import ecs as ecs_api
from recovery.aws.opensearch import SearchApi
from recovery.aws.session import error_code
from recovery.drill import lock
from recovery.drill.context import DrillContext, PlannedCall
from recovery.drill.ecsops import wait_waiter
from recovery.drill.ledger import DELETED, FAILED, GONE, Entry
from recovery.drill.naming import DrillNames
from recovery.drill.scan import Clients, Found, Scan, scan, search_api, search_gone_reason
from recovery.errors import RecoveryError, WaitTimeout
from recovery.timeutil import wait_until

log = logging.getLogger(__name__)

STEP = "teardown"
# Deletion order: what does work, then what it works on, then what holds it; the lock last.
DELETE_ORDER = (
    "ecs-task",
    "terraform-workspace",
    "ecs-service",
    "search-indices",
    "ecs-task-definition-family",
    "elbv2-listener",
    "elbv2-target-group",
    "elbv2-load-balancer",
    "ecs-cluster",
    "rds-instance",
    "rds-snapshot",
    "s3-bucket",
    "log-group",
    "tagged",
    "drill-lock",
)
NOT_FOUND = (
    "NotFound",
    "NoSuch",
    "ParameterNotFound",
    "ResourceNotFoundException",
    "ServiceNotActiveException",
    "ServiceNotFoundException",
    "ClusterNotFoundException",
)
IN_USE = (
    "ResourceInUse",
    "DependencyViolation",
    "ClusterContainsServicesException",
    "ClusterContainsTasksException",
    "InvalidDBInstanceState",
    "OperationAborted",
)


class TeardownError(RecoveryError):
    """A resource could not be deleted (recorded in the ledger; the sweep retries)."""


def _gone(exc: ClientError) -> bool:
    return any(word in error_code(exc) for word in NOT_FOUND)


def _in_use(exc: ClientError) -> bool:
    code = error_code(exc)
    return any(word in code for word in IN_USE) or "in use" in str(exc).lower()


def order_of(kind: str) -> int:
    return DELETE_ORDER.index(kind) if kind in DELETE_ORDER else DELETE_ORDER.index("tagged")


@dataclass
class Deleter:
    """Deletes one entry through (guarded) clients. Returns DELETED or GONE, or raises."""

    clients: Clients
    names: DrillNames
    search: Callable[[], SearchApi | None]
    container: str = "app"
    timeout: float = 1800.0
    max_delay: float = 15.0
    in_use_timeout: float = 300.0
    before_lock_release: Callable[[], None] = lambda: None

    def __call__(self, entry: Entry) -> str:
        method = getattr(self, "delete_" + entry.kind.replace("-", "_"), None)
        if method is None:
            raise TeardownError(f"no deleter for {entry.kind} {entry.id}")
        log.info("teardown: deleting %s %s", entry.kind, entry.id)
        last: list[str] = [""]

        def attempt() -> str | None:
            try:
                return str(method(entry))
            except ClientError as exc:
                if _gone(exc):
                    return GONE
                if _in_use(exc):
                    last[0] = str(exc)
                    return None
                raise

        try:
            return wait_until(
                attempt,
                timeout=self.in_use_timeout,
                interval=min(5.0, self.max_delay),
                what=f"deletion of {entry.kind} {entry.id}",
                status=lambda: last[0],
            )
        except WaitTimeout:
            raise TeardownError(f"{entry.kind} {entry.id} still in use: {last[0]}") from None

    def delete_drill_lock(self, entry: Entry) -> str:
        self.before_lock_release()
        return lock.release(self.clients("ssm"), self.names.drill_id)

    def delete_ecs_task(self, entry: Entry) -> str:
        ecs = self.clients("ecs")
        tasks = ecs.describe_tasks(cluster=entry.extra["cluster"], tasks=[entry.id]).get("tasks", [])
        if not tasks or tasks[0].get("lastStatus") == "STOPPED":
            return GONE
        ecs.stop_task(cluster=entry.extra["cluster"], task=entry.id, reason=f"drill {self.names.drill_id} teardown")
        return DELETED

    def delete_search_indices(self, entry: Entry) -> str:
        """Delete the drill's indices in the search service, then list again until none comes back.

        A reindex queued before teardown may still write (Celery drains it after the drill's tasks
        stopped): a deleted index written to is created again, so deletion is confirmed by listings.
        """
        search = self.search()
        if search is None:
            return GONE  # the domain does not exist: no index can
        prefix = self.names.search_prefix
        quiet: list[int] = [0]

        def cleared() -> bool:
            found = search.indices(prefix)
            if found:
                quiet[0] = 0
                search.delete([i.name for i in found])
                return False
            quiet[0] += 1
            return quiet[0] >= 3  # three empty listings in a row

        wait_until(cleared, timeout=self.in_use_timeout, interval=1.0, what=f"search indices {prefix}* deleted")
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
        active: list[str] = []
        inactive: list[str] = []
        for status, into in (("ACTIVE", active), ("INACTIVE", inactive)):
            for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=entry.id, status=status):
                into += [a for a in page.get("taskDefinitionArns", []) if ecs_api.family_and_revision(a)[0] == entry.id]
        if not active and not inactive:
            return GONE
        for arn in active:
            ecs.deregister_task_definition(taskDefinition=arn)
        arns = active + inactive
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
        ecs.delete_cluster(cluster=entry.id)
        return DELETED

    def delete_elbv2_listener(self, entry: Entry) -> str:
        elb = self.clients("elbv2")
        for page in elb.get_paginator("describe_rules").paginate(ListenerArn=entry.id):
            for rule in page.get("Rules", []):
                if not rule.get("IsDefault"):
                    elb.delete_rule(RuleArn=rule["RuleArn"])
        elb.delete_listener(ListenerArn=entry.id)
        return DELETED

    def delete_elbv2_target_group(self, entry: Entry) -> str:
        elb = self.clients("elbv2")
        arn = (
            entry.extra.get("arn") or elb.describe_target_groups(Names=[entry.id])["TargetGroups"][0]["TargetGroupArn"]
        )
        elb.delete_target_group(TargetGroupArn=arn)
        return DELETED

    def delete_elbv2_load_balancer(self, entry: Entry) -> str:
        elb = self.clients("elbv2")
        arn = entry.extra.get("arn")
        if not arn:
            arn = elb.describe_load_balancers(Names=[entry.id])["LoadBalancers"][0]["LoadBalancerArn"]
        elb.delete_load_balancer(LoadBalancerArn=arn)
        self._wait("load_balancers_deleted", f"load balancer {entry.id} deleted", LoadBalancerArns=[arn])
        return DELETED

    def delete_rds_instance(self, entry: Entry) -> str:
        rds = self.clients("rds")
        status = rds.describe_db_instances(DBInstanceIdentifier=entry.id)["DBInstances"][0]["DBInstanceStatus"]
        if status != "deleting":
            rds.delete_db_instance(DBInstanceIdentifier=entry.id, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
        self._wait("db_instance_deleted", f"RDS instance {entry.id} deleted", DBInstanceIdentifier=entry.id)
        return DELETED

    def delete_rds_snapshot(self, entry: Entry) -> str:
        rds = self.clients("rds")
        rds.describe_db_snapshots(DBSnapshotIdentifier=entry.id)  # NotFound: gone with its instance
        if entry.extra.get("type") == "automated":
            # Automated snapshots go with their instance (DeleteAutomatedBackups=True); one that
            # outlived it belongs to a retained automated backup, known only by its resource id.
            raise TeardownError(
                f"automated snapshot {entry.id} outlived its instance: aws rds delete-db-instance-automated-backup "
                f"--dbi-resource-id {entry.extra.get('dbi_resource_id')}"
            )
        rds.delete_db_snapshot(DBSnapshotIdentifier=entry.id)
        return DELETED

    def delete_s3_bucket(self, entry: Entry) -> str:
        """Abort unfinished multipart uploads, empty every version and delete marker, delete the bucket."""
        s3 = self.clients("s3")
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=entry.id):
            for up in page.get("Uploads", []):
                s3.abort_multipart_upload(Bucket=entry.id, Key=up["Key"], UploadId=up["UploadId"])
        for _ in range(100_000):  # first page again each round: deleting while paging skips keys
            page = s3.list_object_versions(Bucket=entry.id, MaxKeys=1000)
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if not doomed:
                break
            s3.delete_objects(Bucket=entry.id, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=entry.id)
        return DELETED

    def delete_log_group(self, entry: Entry) -> str:
        self.clients("logs").delete_log_group(logGroupName=entry.id)
        return DELETED

    def delete_terraform_workspace(self, entry: Entry) -> str:
        from recovery.drill.steps.provision import Terraform

        return Terraform(entry.extra["directory"], self.names, entry.region).destroy()

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


# ---- teardown and the leak check -------------------------------------------------------------
def deleter_for(ctx: DrillContext) -> Deleter:
    def stop_heartbeat() -> None:
        if ctx.heartbeat is not None:
            ctx.heartbeat.stop()

    return Deleter(
        ctx.client,
        ctx.names,
        lambda: search_api(ctx.aws.aws, ctx.settings),
        ctx.settings.app_container,
        timeout=ctx.timeouts.deletion,
        max_delay=ctx.options.drill_poll_seconds,
        before_lock_release=stop_heartbeat,
    )


def teardown(ctx: DrillContext) -> list[Entry]:
    """Delete what the ledger lists and what the account shows of this drill, in dependency order.

    Returns the entries still open (each failure is recorded; the rest still get their turn).
    """
    aws = ctx.aws.aws
    found = scan(ctx.client, ctx.names.prefix, ctx.drill_id, search_api(aws, ctx.settings))
    add_found(ctx.ledger.entries, found.found, ctx.names, ctx.settings.region)
    return ctx.ledger.teardown(deleter_for(ctx), order_of)


def add_found(entries: list[Entry], found: list[Found], names: DrillNames, region: str) -> None:
    """Add what the account shows and the ledger does not know (the drill's indices as one entry)."""
    known = {(e.kind, e.id) for e in entries if e.status not in (DELETED, GONE)}
    for item in found:
        entry = item.entry(region)
        if item.kind == "search-indices":
            entry = Entry("search-indices", names.search_prefix, region, "sweep", status="created")
        if (entry.kind, entry.id) not in known:
            entries.append(entry)
            known.add((entry.kind, entry.id))


def leftovers(ctx: DrillContext, settle_seconds: float = 30.0) -> tuple[list[dict[str, Any]], list[str]]:
    """The leak check: what the account still shows of this drill after teardown, and what it could not check.

    Listings lag behind deletions (ListBuckets, the tagging API): a resource counts as left over
    only if it is still listed after a short, bounded re-listing. The re-listing stops early when
    all that is still listed is what teardown failed to delete: no wait makes that disappear.
    """
    aws = ctx.aws.aws
    gone = search_gone_reason(aws, ctx.settings)
    search = None if gone else search_api(aws, ctx.settings)
    last: list[Scan] = [Scan()]
    failed = {(e.kind, e.id) for e in ctx.ledger.entries if e.status == FAILED}

    def settled() -> bool:
        last[0] = scan(ctx.client, ctx.names.prefix, ctx.drill_id, search, gone)
        kept_lock = ctx.options.keep
        last[0].found = [f for f in last[0].found if not (kept_lock and f.kind == lock.KIND)]
        return all((f.kind, f.id) in failed for f in last[0].found)

    try:
        wait_until(settled, timeout=settle_seconds, interval=3.0, what=f"drill {ctx.drill_id} gone from the listings")
    except WaitTimeout:
        log.warning("leak check: %d resource(s) of drill %s still listed", len(last[0].found), ctx.drill_id)
    found = [f.as_dict() for f in last[0].found]
    found += [{**f.as_dict(), "kind": "untagged-" + f.kind} for f in last[0].foreign]
    return found, last[0].unchecked


def planned(ctx: DrillContext) -> list[PlannedCall]:
    """Teardown's calls, in the order they are made."""
    s, n = ctx.settings, ctx.names
    t = STEP
    calls = [PlannedCall(t, "ecs", "StopTask", n.cluster, "every running drill task")]
    if ctx.options.provisioner == "terraform":
        calls.append(PlannedCall(t, "terraform", "destroy", n.terraform_workspace))
    calls += [PlannedCall(t, "ecs", "DeleteService", n.service(svc), "force") for svc in s.ecs_services]
    calls.append(PlannedCall(t, "es", "ESHttpDelete", n.search_prefix + "*", "the drill's search indices"))
    if ctx.options.provisioner != "terraform":
        calls += [
            PlannedCall(t, "ecs", "DeregisterTaskDefinition+DeleteTaskDefinitions", n.family(x), "all revisions")
            for x in s.ecs_services
        ]
        if s.web_services:
            calls.append(PlannedCall(t, "elbv2", "DeleteRule+DeleteListener", n.load_balancer))
            calls.append(PlannedCall(t, "elbv2", "DeleteTargetGroup", n.name("tg-*")))
            calls.append(PlannedCall(t, "elbv2", "DeleteLoadBalancer", n.load_balancer))
        calls.append(PlannedCall(t, "ecs", "DeleteCluster", n.cluster))
    calls.append(PlannedCall(t, "rds", "DeleteDBInstance", n.db_instance, "SkipFinalSnapshot, DeleteAutomatedBackups"))
    if ctx.options.drill_storage == "clone":
        calls.append(PlannedCall(t, "s3", "AbortMultipartUpload+DeleteObjects+DeleteBucket", n.files_bucket))
    if ctx.options.provisioner != "terraform":
        calls += [PlannedCall(t, "logs", "DeleteLogGroup", n.log_group(svc)) for svc in s.ecs_services]
    calls.append(PlannedCall(t, "ssm", "DeleteParameter", lock.NAME, "release the drill lock"))
    return calls
