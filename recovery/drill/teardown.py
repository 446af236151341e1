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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from recovery.aws import ecs as ecs_api
from recovery.aws.search import SearchApi, SearchUnavailable, domain_endpoint
from recovery.aws.session import Aws, error_code
from recovery.drill import lock
from recovery.drill.context import DrillContext, PlannedCall
from recovery.drill.ecsops import wait_waiter
from recovery.drill.ledger import DELETED, GONE, Entry
from recovery.drill.naming import TAG_CREATED, TAG_ID, DrillNames, drill_id_of
from recovery.errors import NotFound, RecoveryError, WaitTimeout
from recovery.settings import Settings
from recovery.timeutil import as_utc, iso, wait_until

log = logging.getLogger(__name__)

Clients = Callable[[str], Any]
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


# ---- the search service ---------------------------------------------------------------------
def search_api(aws: Aws, settings: Settings) -> SearchApi | None:
    """The search data plane, or None when the domain does not exist (then no index can)."""
    if settings.search_url:
        return SearchApi(aws, settings.search_url)
    try:
        url = domain_endpoint(aws.client("opensearch"), settings.opensearch_domain)
    except NotFound:
        return None
    return SearchApi(aws, url) if url else None


def search_gone_reason(aws: Aws, settings: Settings) -> str:
    """Why no index can exist ('' if the domain exists)."""
    try:
        domain_endpoint(aws.client("opensearch"), settings.opensearch_domain)
    except NotFound as exc:
        return f"search indices not checked: {exc}, so no index can exist"
    return ""


# ---- finding a drill's resources in the account -------------------------------------------
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

    def entry(self, region: str) -> Entry:
        return Entry(self.kind, self.id, region, "sweep", status="created", extra=dict(self.extra))


@dataclass
class Scan:
    """What the account shows: the drills' resources, and drill-named ones that are not tagged as theirs."""

    found: list[Found] = field(default_factory=list)
    foreign: list[Found] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)


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


def scan(
    clients: Clients, prefix: str, drill_id: str | None = None, search: SearchApi | None = None, gone: str = ""
) -> Scan:
    """Every drill resource (of `drill_id`, or of any drill) the account shows, owned by name AND tag."""
    out = Scan()

    def keep(kind: str, ident: str, tags: list[dict[str, Any]] | None, name: str | None = None, **kw: Any) -> None:
        named = drill_id_of(name or ident, prefix)
        if named is None or (drill_id is not None and named != drill_id):
            return
        created = kw.pop("created", None) or _created_from_tags(tags)
        item = Found(kind, ident, named, created, kw)
        (out.found if _tag(tags, TAG_ID) == named else out.foreign).append(item)

    named_prefix = f"{prefix}-drill-{drill_id or ''}"
    rds = clients("rds")
    for page in rds.get_paginator("describe_db_instances").paginate():
        for db in page["DBInstances"]:
            created = db.get("InstanceCreateTime")
            keep("rds-instance", db["DBInstanceIdentifier"], db.get("TagList"), created=created and as_utc(created))
    for page in rds.get_paginator("describe_db_snapshots").paginate():
        for snap in page["DBSnapshots"]:
            if named_prefix in snap["DBSnapshotIdentifier"] or named_prefix in snap.get("DBInstanceIdentifier", ""):
                keep(
                    "rds-snapshot",
                    snap["DBSnapshotIdentifier"],
                    snap.get("TagList"),
                    name=snap.get("DBInstanceIdentifier"),
                    type=snap.get("SnapshotType"),
                    dbi_resource_id=snap.get("DbiResourceId"),
                )

    ecs = clients("ecs")
    arns = [a for page in ecs.get_paginator("list_clusters").paginate() for a in page.get("clusterArns", [])]
    drill_clusters: list[str] = []
    for i in range(0, len(arns), 100):
        for c in ecs.describe_clusters(clusters=arns[i : i + 100], include=["TAGS"]).get("clusters", []):
            if c.get("status") == "ACTIVE" and c["clusterName"].startswith(named_prefix):
                keep("ecs-cluster", c["clusterName"], c.get("tags"))
                drill_clusters.append(c["clusterArn"])
    for cluster in drill_clusters:
        name = cluster.rsplit("/", 1)[-1]
        svc_arns = [a for p in ecs.get_paginator("list_services").paginate(cluster=cluster) for a in p["serviceArns"]]
        for j in range(0, len(svc_arns), 10):
            described = ecs.describe_services(cluster=cluster, services=svc_arns[j : j + 10], include=["TAGS"])
            for svc in described.get("services", []):
                if svc.get("status") in ("ACTIVE", "DRAINING"):
                    keep("ecs-service", svc["serviceName"], svc.get("tags"), cluster=name)
        task_arns = [a for p in ecs.get_paginator("list_tasks").paginate(cluster=cluster) for a in p["taskArns"]]
        for j in range(0, len(task_arns), 100):
            for task in ecs.describe_tasks(cluster=cluster, tasks=task_arns[j : j + 100], include=["TAGS"])["tasks"]:
                if task.get("lastStatus") != "STOPPED":
                    # A task is the drill's when its cluster is: it inherits nothing else to name it by.
                    tags = task.get("tags") or [{"key": TAG_ID, "value": drill_id_of(name, prefix)}]
                    keep("ecs-task", task["taskArn"], tags, name=name, cluster=name)
    families = [
        f
        for page in ecs.get_paginator("list_task_definition_families").paginate(
            familyPrefix=named_prefix, status="ACTIVE"
        )
        for f in page.get("families", [])
    ]
    for family in families:
        active = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE", sort="DESC").get("taskDefinitionArns")
        mine = [a for a in active or [] if ecs_api.family_and_revision(a)[0] == family]
        if mine:
            tags = ecs.list_tags_for_resource(resourceArn=mine[0]).get("tags", [])
            keep("ecs-task-definition-family", family, tags)

    elb = clients("elbv2")
    lbs = [
        lb
        for page in elb.get_paginator("describe_load_balancers").paginate()
        for lb in page["LoadBalancers"]
        if lb["LoadBalancerName"].startswith(named_prefix[:32])
    ]
    tgs = [
        tg
        for page in elb.get_paginator("describe_target_groups").paginate()
        for tg in page["TargetGroups"]
        if tg["TargetGroupName"].startswith(named_prefix[:32])
    ]
    tags_of = _elb_tags(elb, [x["LoadBalancerArn"] for x in lbs] + [x["TargetGroupArn"] for x in tgs])
    for lb in lbs:
        arn = lb["LoadBalancerArn"]
        created = lb.get("CreatedTime")
        keep(
            "elbv2-load-balancer",
            lb["LoadBalancerName"],
            tags_of.get(arn),
            arn=arn,
            created=created and as_utc(created),
        )
        if _tag(tags_of.get(arn), TAG_ID) == drill_id_of(lb["LoadBalancerName"], prefix):
            for page in elb.get_paginator("describe_listeners").paginate(LoadBalancerArn=arn):
                for listener in page.get("Listeners", []):
                    # A listener belongs to its load balancer: owned when the load balancer is.
                    keep("elbv2-listener", listener["ListenerArn"], tags_of.get(arn), name=lb["LoadBalancerName"])
    for tg in tgs:
        keep("elbv2-target-group", tg["TargetGroupName"], tags_of.get(tg["TargetGroupArn"]), arn=tg["TargetGroupArn"])

    s3 = clients("s3")
    for b in s3.list_buckets().get("Buckets", []):
        if b["Name"].startswith(named_prefix):
            tags = _bucket_tags(s3, b["Name"])
            if tags is not None:  # None: deleted meanwhile (ListBuckets lags behind DeleteBucket)
                keep("s3-bucket", b["Name"], tags, created=as_utc(b["CreationDate"]) if b.get("CreationDate") else None)

    logs = clients("logs")
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=f"/{named_prefix}"):
        for g in page.get("logGroups", []):
            raw = logs.list_tags_log_group(logGroupName=g["logGroupName"]).get("tags", {})
            ms = g.get("creationTime")
            created = datetime.fromtimestamp(ms / 1000, UTC) if ms else None
            keep("log-group", g["logGroupName"], [{"Key": k, "Value": v} for k, v in raw.items()], created=created)

    owner = lock.holder(clients("ssm"))
    if owner is not None and owner.prefix in (prefix, "?") and (drill_id is None or owner.drill_id == drill_id):
        out.found.append(Found(lock.KIND, lock.NAME, owner.drill_id, _parse(owner.started), {"owner": asdict(owner)}))

    if gone:
        out.unchecked.append(gone)
    elif search is not None:
        try:
            for index in search.indices(f"{named_prefix}"):
                did = drill_id_of(index.name, prefix)
                if did:
                    out.found.append(Found("search-indices", index.name, did, None, {"docs": index.docs}))
        except SearchUnavailable as exc:
            out.unchecked.append(f"search indices not checked: {exc}")
    return out


def _parse(value: str) -> datetime | None:
    try:
        return as_utc(value) if value else None
    except ValueError:
        return None


def _elb_tags(elb: Any, arns: list[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(arns), 20):  # DescribeTags takes at most 20 ARNs
        for d in elb.describe_tags(ResourceArns=arns[i : i + 20]).get("TagDescriptions", []):
            out[d["ResourceArn"]] = d.get("Tags", [])
    return out


def _bucket_tags(s3: Any, bucket: str) -> list[dict[str, Any]] | None:
    try:
        return list(s3.get_bucket_tagging(Bucket=bucket).get("TagSet", []))
    except ClientError as exc:
        if error_code(exc) in ("NoSuchTagSet", "NoSuchTagSetError"):
            return []
        if error_code(exc) == "NoSuchBucket":
            return None
        raise


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
    only if it is still listed after a short, bounded re-listing.
    """
    aws = ctx.aws.aws
    gone = search_gone_reason(aws, ctx.settings)
    search = None if gone else search_api(aws, ctx.settings)
    last: list[Scan] = [Scan()]

    def clean() -> bool:
        last[0] = scan(ctx.client, ctx.names.prefix, ctx.drill_id, search, gone)
        kept_lock = ctx.options.keep
        last[0].found = [f for f in last[0].found if not (kept_lock and f.kind == lock.KIND)]
        return not last[0].found

    try:
        wait_until(clean, timeout=settle_seconds, interval=3.0, what=f"drill {ctx.drill_id} gone from the listings")
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
