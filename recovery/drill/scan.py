"""Find a drill's resources in the account, not in a local file: what teardown, the leak check and sweep act on.

Ownership is strict: a resource is a drill's only when its name is drill-named AND it carries
the tag `drill-id=<id>` (search indices, which carry no tags, by their drill prefix inside the
search service; the lock by its owner record). Something named like a drill but untagged is
returned apart (`Scan.foreign`), so it can be reported and left alone. Every listing is read
fully (paginators; DescribeTags in twenties, DescribeServices in tens).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from recovery.aws import ecs as ecs_api
from recovery.aws.opensearch import SearchApi, Unreachable, domain_endpoint
from recovery.aws.session import Aws, error_code
from recovery.drill import lock
from recovery.drill.ledger import Entry
from recovery.drill.naming import TAG_CREATED, TAG_ID, drill_id_of
from recovery.errors import NotFound
from recovery.settings import Settings
from recovery.timeutil import as_utc, iso

Clients = Callable[[str], Any]


# ---- the search service ---------------------------------------------------------------------
def _endpoint(aws: Aws, settings: Settings) -> str:
    """The domain's endpoint; NotFound when the domain does not exist (or is being deleted)."""
    try:
        status = aws.client("opensearch").describe_domain(DomainName=settings.opensearch_domain)["DomainStatus"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise NotFound(f"OpenSearch domain {settings.opensearch_domain} does not exist") from None
        raise
    if status.get("Deleted"):
        raise NotFound(f"OpenSearch domain {settings.opensearch_domain} is being deleted")
    return domain_endpoint(aws.client("opensearch"), settings.opensearch_domain)


def search_api(aws: Aws, settings: Settings) -> SearchApi | None:
    """The search data plane (TURATH_SEARCH_URL, else the domain's endpoint), or None when the
    domain does not exist (then no index can)."""
    try:
        endpoint = settings.search_url or _endpoint(aws, settings)
    except NotFound:
        return None
    return SearchApi(endpoint, aws.session.get_credentials(), settings.region, settings.verify_tls, mode="drill")


def search_gone_reason(aws: Aws, settings: Settings) -> str:
    """Why no index can exist ('' if the domain exists)."""
    try:
        _endpoint(aws, settings)
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
        except Unreachable as exc:
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
