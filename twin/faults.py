"""The fault catalog: every failure the plan describes, reproducible on demand in the twin.

A fault changes the twin through the surfaces where the real failure would show: the AWS API
(a modified instance, a suspended bucket, a revision registered but not deployed), and only
where no API can express it (time, sizes) moto's backend objects. The suite is never told.

Each entry records the plan sections, the modes that detect it and the checks that must fail;
`tests/test_fault_matrix.py` proves exactly those fail, and `docs/fault-matrix.md` is generated
from this catalog.
"""

from __future__ import annotations

import json
import shlex
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from secrets import token_hex
from typing import TYPE_CHECKING, Any

from recovery.timeutil import as_utc
from twin import secretstore
from twin.account import ACCOUNT_ID, backdate_snapshot, s3_time
from twin.invenio_db import PUBLISHED_LATEST_SQL

if TYPE_CHECKING:
    from twin.core import Twin


@dataclass(frozen=True)
class Fault:
    """One reproducible failure. `health` lists the health checks that must fail under it."""

    name: str
    sections: tuple[str, ...]
    summary: str
    apply: Callable[[Twin], None]
    health: tuple[str, ...] = ()
    drill: tuple[str, ...] = ()

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(m for m, ids in (("health", self.health), ("drill", self.drill)) if ids)


# The health suite's §5 checks run on the drill's recovered copy (plan §4 step 5) once the
# reindex step has reached it.
RECOVERED = (
    "site_homepage_ok",
    "site_api_records_total_positive",
    "site_login_not_5xx",
    "db_users_present",
    "db_records_present",
    "db_admin_user_present",
    "search_index_matches_database",
    "search_query_finds_known_record",
    "site_record_file_downloads_with_checksum",
    "logs_resolve_db_uri_succeeded",
    "logs_no_password_failures",
)
# Drill checks that judge the recovered environment (fixture `verified`), and the recovered
# copy's §5 checks: a step that breaks before it is reached errors them all, the storage step
# also the download check.
DRILL_VERIFIED = (
    "drill_rto_within_objective",
    "drill_rpo_within_objective",
    "drill_restored_db_has_users_and_records",
    *RECOVERED,
)
DRILL_RESTORED = (*DRILL_VERIFIED, "drill_file_downloads_with_checksum")


# ---- helpers: each expresses a change the way an operator or Terraform would make it -----------
def _modify_rds(**kwargs: Any) -> Callable[[Twin], None]:
    def apply(twin: Twin) -> None:
        twin.client("rds").modify_db_instance(
            DBInstanceIdentifier=twin.spec.rds_instance, ApplyImmediately=True, **kwargs
        )

    return apply


def register_revision(twin: Twin, service: str, change: Callable[[dict[str, str]], None]) -> str:
    """Register a new revision of `service`'s task definition with its settings changed where they live.

    `change` sees the container's environment with its `secrets` read. A changed value that was
    delivered by reference goes into a new secret or parameter of the same kind, which the new
    revision references (how an operator points one service at another secret); the others keep
    their references, and values delivered in `environment` stay there.
    """

    def change_values(container: dict[str, Any]) -> None:
        refs = {s["name"]: s["valueFrom"] for s in container.get("secrets") or []}
        values = secretstore.resolve(container, twin.spec.region)
        before = dict(values)
        change(values)
        container["environment"] = [{"name": k, "value": v} for k, v in sorted(values.items()) if k not in refs]
        kept = []
        for name, value_from in refs.items():
            if name not in values:
                continue
            if values[name] != before[name]:
                where = f"{twin.spec.log_group_prefix.strip('/')}/{service}/{name.lower()}-{token_hex(3)}"
                value_from = secretstore.store_like(value_from, where, values[name], twin.spec.region, twin.client)
            kept.append({"name": name, "valueFrom": value_from})
        if refs:
            container["secrets"] = kept

    return register_container_revision(twin, service, change_values)


def register_container_revision(twin: Twin, service: str, change: Callable[[dict[str, Any]], None]) -> str:
    """Register a new revision of `service`'s task definition with its app container changed."""
    ecs = twin.client("ecs")
    svc = ecs.describe_services(cluster=twin.spec.ecs_cluster, services=[service])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    container = next(c for c in td["containerDefinitions"] if c["name"] == twin.spec.app_container)
    change(container)
    keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "cpu", "memory")
    spec = {k: td[k] for k in keep if k in td}
    spec["requiresCompatibilities"] = td.get("requiresCompatibilities", ["FARGATE"])
    return str(ecs.register_task_definition(**spec)["taskDefinition"]["taskDefinitionArn"])


def deploy(twin: Twin, service: str, task_definition: str) -> None:
    twin.client("ecs").update_service(
        cluster=twin.spec.ecs_cluster, service=service, taskDefinition=task_definition, forceNewDeployment=True
    )
    twin.settle_services()


def _deployed_env_change(
    services: Callable[[Twin], tuple[str, ...]], change: Callable[[dict[str, str]], None]
) -> Callable[[Twin], None]:
    def apply(twin: Twin) -> None:
        for service in services(twin):
            deploy(twin, service, register_revision(twin, service, change))

    return apply


def _web(twin: Twin) -> tuple[str, ...]:
    return tuple(s for s in twin.spec.services if s.startswith("web"))


def _first_web(twin: Twin) -> tuple[str, ...]:
    return _web(twin)[:1]


def _all(twin: Twin) -> tuple[str, ...]:
    return twin.spec.services


def _pitr_lagging(twin: Twin, lag: timedelta = timedelta(minutes=47)) -> None:
    twin.backend("rds").databases[twin.spec.rds_instance].twin_pitr_lag = lag


def _nightly_snapshot_running(twin: Twin) -> None:
    """Tonight's automated snapshot started 4 minutes ago and is still `creating` (an ordinary night)."""
    b = twin.backend("rds")
    at = datetime.now(UTC) - timedelta(minutes=4)
    data = twin.rds_data
    if data is not None:
        data.lazy_snapshots = True  # no copy and no quick transition to available: it stays in progress
    try:
        snap = b.create_db_snapshot(
            twin.spec.rds_instance, f"rds:{twin.spec.rds_instance}-{at:%Y-%m-%d-%H-%M}", snapshot_type="automated"
        )
    finally:
        if data is not None:
            data.lazy_snapshots = False
    backdate_snapshot(snap, at)
    snap.status = "creating"


def _rds_storage_full(twin: Twin) -> None:
    """The instance ran out of storage: RDS reports `storage-full` (reads work, writes fail)."""
    twin.backend("rds").databases[twin.spec.rds_instance].status = "storage-full"


def _snapshot_small(twin: Twin) -> None:
    # No API makes a snapshot report less than the instance's storage; an unusual instance can.
    now = datetime.now(UTC) - timedelta(minutes=20)
    snap = twin.backend("rds").create_db_snapshot(
        twin.spec.rds_instance, f"{twin.spec.rds_instance}-manual-{now:%Y%m%d%H%M}", snapshot_type="manual"
    )
    snap.allocated_storage = 0
    backdate_snapshot(snap, now)


def _snapshot_missed(twin: Twin) -> None:
    """Last two nights' automated snapshots never happened (backup job failing)."""
    b = twin.backend("rds")
    cutoff = datetime.now(UTC) - timedelta(hours=40)
    for sid, snap in list(b.database_snapshots.items()):
        created = datetime.fromisoformat(snap.created.replace("Z", "+00:00"))
        if snap.snapshot_type == "automated" and created > cutoff:
            del b.database_snapshots[sid]


def _s3_versioning_suspended(twin: Twin) -> None:
    twin.client("s3").put_bucket_versioning(
        Bucket=twin.spec.files_bucket, VersioningConfiguration={"Status": "Suspended"}
    )


def _s3_replication_missing(twin: Twin) -> None:
    twin.client("s3").delete_bucket_replication(Bucket=twin.spec.files_bucket)


def _cold_storage_missing(twin: Twin) -> None:
    s3 = twin.client("s3")
    bucket = twin.spec.backup_bucket
    versions = s3.list_object_versions(Bucket=bucket)
    for v in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=bucket)


def _tfstate_unversioned(twin: Twin) -> None:
    twin.client("s3").put_bucket_versioning(
        Bucket=twin.spec.tfstate_bucket, VersioningConfiguration={"Status": "Suspended"}
    )


def _tfstate_unencrypted(twin: Twin) -> None:
    twin.client("s3").delete_bucket_encryption(Bucket=twin.spec.tfstate_bucket)


def _s3_replication_partial(twin: Twin) -> None:
    """The replication rule was narrowed to one prefix: everything else is no longer replicated."""
    s3 = twin.client("s3")
    conf = s3.get_bucket_replication(Bucket=twin.spec.files_bucket)["ReplicationConfiguration"]
    for rule in conf["Rules"]:
        rule["Filter"] = {"Prefix": "uploads/2019/"}
    s3.put_bucket_replication(Bucket=twin.spec.files_bucket, ReplicationConfiguration=conf)


def _tfstate_public(twin: Twin) -> None:
    """Someone opened the state bucket to "share the state": no public-access block, Principal * may read."""
    s3 = twin.client("s3")
    bucket = twin.spec.tfstate_bucket
    s3.delete_public_access_block(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ShareState",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def _tfstate_rolled_back(twin: Twin) -> None:
    """An apply from a stale checkout wrote an older state (serial 205, fewer resources) over the current one."""
    from twin.account import MANAGED, tfstate_document

    body = tfstate_document(
        twin.password, twin.rds_endpoint(twin.spec.rds_instance), serial=205, managed=len(MANAGED) - 3
    )
    twin.client("s3").put_object(
        Bucket=twin.spec.tfstate_bucket, Key=twin.spec.tfstate_key, Body=body, ServerSideEncryption="aws:kms"
    )


def _tfstate_stale(twin: Twin) -> None:
    """Nobody has written the state to the bucket for 200 days: every version is that much older."""
    bucket = twin.backend("s3").get_bucket(twin.spec.tfstate_bucket)
    for version in bucket.keys.getlist(twin.spec.tfstate_key):
        version.last_modified = s3_time(as_utc(version.last_modified) - timedelta(days=200))


def _drop_password(env: dict[str, str]) -> None:
    env.pop("RDS_DB_PASSWORD", None)


def _wrong_password(env: dict[str, str]) -> None:
    env["RDS_DB_PASSWORD"] = "Xq7" + env.get("RDS_DB_PASSWORD", "")[3:][::-1]


def _wrong_endpoint(twin: Twin) -> None:
    """Every service points at the endpoint of an instance that no longer exists."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{sock.getsockname()[1]}"
    _deployed_env_change(_all, lambda env: env.update(RDS_DB_HOST=closed))(twin)


def _log_group_misnamed(twin: Twin) -> None:
    """Terraform renamed the web services' log groups: the tasks log to /ecs/..., the suite reads the old ones."""
    logs = twin.client("logs")

    def elsewhere(container: dict[str, Any]) -> None:
        options = container["logConfiguration"]["options"]
        options["awslogs-group"] = "/ecs" + options["awslogs-group"].replace("/invenio-default/", "/invenio-default-")
        if not logs.describe_log_groups(logGroupNamePrefix=options["awslogs-group"])["logGroups"]:
            logs.create_log_group(logGroupName=options["awslogs-group"])

    for service in _web(twin):
        deploy(twin, service, register_container_revision(twin, service, elsewhere))


def _log_group_missing(twin: Twin) -> None:
    """web-ui's log group was deleted (a cleanup script): its tasks' lines go nowhere."""
    twin.client("logs").delete_log_group(logGroupName=twin.spec.log_group(_first_web(twin)[0]))


def _stale_deployment(twin: Twin) -> None:
    """terraform apply registered new revisions; nobody forced a new deployment (plan §7)."""
    for service in _web(twin):
        register_revision(twin, service, lambda env: env.update(INVENIO_APP_REVISION="pending"))


def _service_degraded(twin: Twin) -> None:
    svc = twin.ecs_service(_web(twin)[-1])
    svc.running_count = max(svc.desired_count - 1, 0)
    svc.deployments[0]["runningCount"] = svc.running_count
    svc.events.insert(
        0,
        {
            "id": "twin-degraded",
            "createdAt": datetime.now(UTC),
            "message": f"(service {svc.name}) has started 0 tasks: (reason: task failed ELB health checks).",
        },
    )


def _deployment_failed(twin: Twin) -> None:
    """A rollout that cannot reach COMPLETED: the circuit breaker marks it FAILED."""
    service = _first_web(twin)[0]
    arn = register_revision(twin, service, lambda env: env.update(INVENIO_APP_REVISION="broken"))
    twin.fail_rollout(service, arn, "essential container in task exited (exit code 1)")


def _image_drift(twin: Twin) -> None:
    service = _first_web(twin)[0]
    ecs = twin.client("ecs")
    svc = ecs.describe_services(cluster=twin.spec.ecs_cluster, services=[service])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    for c in td["containerDefinitions"]:
        if c["name"] == twin.spec.app_container:
            c["image"] = c["image"].rsplit(":", 1)[0] + ":latest"
    keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "cpu", "memory")
    arn = ecs.register_task_definition(**{k: td[k] for k in keep if k in td})["taskDefinition"]["taskDefinitionArn"]
    deploy(twin, service, arn)


def _image_ahead_of_database(twin: Twin) -> None:
    """:develop moved on: the services now run an image with a new Alembic head the database never got."""
    from twin.invenio_db import ALEMBIC_HEADS, HEADS_LABEL

    heads = " ".join([*ALEMBIC_HEADS[1:], "f3b9c0de4a21"])

    def newer_image(container: dict[str, Any]) -> None:
        container["dockerLabels"] = {**(container.get("dockerLabels") or {}), HEADS_LABEL: heads}

    for service in twin.spec.services:
        deploy(twin, service, register_container_revision(twin, service, newer_image))


def _opensearch_processing(twin: Twin) -> None:
    twin.backend("opensearch").domains[twin.spec.opensearch_domain].processing = True


def _cache_unavailable(twin: Twin) -> None:
    twin.client("elasticache").delete_cache_cluster(CacheClusterId=twin.spec.cache_cluster)


def _broker_stopped(twin: Twin) -> None:
    mq = twin.client("mq")
    broker = next(b for b in mq.list_brokers()["BrokerSummaries"] if b["BrokerName"] == twin.spec.broker_name)
    mq.delete_broker(BrokerId=broker["BrokerId"])


FAULTS: tuple[Fault, ...] = (
    Fault(
        "backups-disabled",
        ("2.1",),
        "automated backups off (retention 0): RDS deletes the automated snapshots and PITR",
        _modify_rds(BackupRetentionPeriod=0),
        health=(
            "rds_automated_backups_enabled",
            "rds_backup_retention_at_least_7_days",
            "rds_pitr_lag_within_rpo",
            "rds_newest_automated_snapshot_recent",
            # what remains is an older manual snapshot, which misses the uploads since (plan 2.1.1)
            "rds_snapshot_checklist_passes",
        ),
    ),
    Fault(
        "retention-short",
        ("2.1",),
        "backup retention 3 days instead of 7",
        _modify_rds(BackupRetentionPeriod=3),
        health=("rds_backup_retention_at_least_7_days",),
    ),
    Fault(
        "backup-window-moved",
        ("2.1",),
        "backup window 08:00-08:30 UTC, outside 03:00-06:00",
        _modify_rds(PreferredBackupWindow="08:00-08:30"),
        health=("rds_backup_window_within_plan_window",),
    ),
    Fault(
        "pitr-lagging",
        ("5",),
        "latest restorable time 47 minutes behind now: a restore now loses today's uploads since the nightly snapshot",
        _pitr_lagging,
        health=("rds_pitr_lag_within_rpo", "rds_snapshot_checklist_passes"),
    ),
    Fault(
        "snapshot-missed",
        ("2.1",),
        "the last two nightly automated snapshots never ran",
        _snapshot_missed,
        # the newest snapshot left is two days old: it misses the uploads since (plan 2.1.1)
        health=("rds_newest_automated_snapshot_recent", "rds_snapshot_checklist_passes"),
    ),
    Fault(
        "snapshot-small",
        ("2.1.1",),
        "newest snapshot reports less than the 1 GB threshold",
        _snapshot_small,
        health=("rds_snapshot_checklist_passes",),
    ),
    Fault(
        "s3-versioning-suspended",
        ("2.2",),
        "files bucket versioning suspended",
        _s3_versioning_suspended,
        health=("s3_files_bucket_versioning_enabled",),
    ),
    Fault(
        "s3-replication-missing",
        ("2.2",),
        "replication configuration of the files bucket removed",
        _s3_replication_missing,
        health=("s3_files_bucket_replication_enabled", "s3_files_bucket_replication_covers_every_object"),
    ),
    Fault(
        "cold-storage-missing",
        ("2.2",),
        "the cold-storage bucket was deleted (it is also the replication destination)",
        _cold_storage_missing,
        health=("s3_cold_storage_bucket_exists", "s3_files_bucket_replication_enabled"),
    ),
    Fault(
        "tfstate-unversioned",
        ("2.4",),
        "Terraform state bucket versioning suspended",
        _tfstate_unversioned,
        health=("tfstate_bucket_versioning_enabled",),
    ),
    Fault(
        "tfstate-unencrypted",
        ("2.4",),
        "Terraform state bucket default encryption removed",
        _tfstate_unencrypted,
        health=("tfstate_bucket_encrypted",),
    ),
    Fault(
        "tfstate-stale",
        ("2.4",),
        "the state object in S3 was last written 200 days ago",
        _tfstate_stale,
        health=("tfstate_object_recent",),
    ),
    Fault(
        "task-def-missing-password",
        ("2.5", "6.1"),
        "web-ui's running task definition lacks RDS_DB_PASSWORD",
        _deployed_env_change(_first_web, _drop_password),
        health=(
            "ecs_task_definitions_carry_db_settings",
            "ecs_services_agree_on_db_settings",
            "logs_resolve_db_uri_succeeded",
            "site_homepage_ok",
            "site_login_not_5xx",
        ),
    ),
    Fault(
        "password-mismatch",
        ("6.1", "6.4"),
        "web-ui runs a task definition whose RDS_DB_PASSWORD does not authenticate",
        _deployed_env_change(_first_web, _wrong_password),
        health=(
            "ecs_services_agree_on_db_settings",
            "ecs_db_password_authenticates",
            "logs_no_password_failures",
            "site_login_not_5xx",
        ),
        # The drill takes the password from web-ui's running revision (plan 2.5): the restored DB
        # rejects it at the restore step, so every check of the recovered environment errors.
        drill=DRILL_RESTORED,
    ),
    Fault(
        "wrong-db-endpoint",
        ("6.4",),
        "RDS_DB_HOST of every service points at an old instance",
        _wrong_endpoint,
        health=(
            "ecs_db_host_matches_rds_endpoint",
            "site_api_records_total_positive",
            "site_login_not_5xx",
            "search_index_matches_database",
            "search_query_finds_known_record",
            "site_record_file_downloads_with_checksum",
        ),
    ),
    Fault(
        "stale-deployment",
        ("4.2.4", "7"),
        "new revisions registered by terraform apply, services still on the old ones",
        _stale_deployment,
        health=("ecs_service_runs_latest_revision",),
    ),
    Fault(
        "deployment-failed",
        ("6.5",),
        "web-ui rollout FAILED (circuit breaker), old tasks keep running",
        _deployment_failed,
        health=("ecs_service_deployment_completed",),
    ),
    Fault(
        "service-degraded",
        ("3",),
        "web-api runs fewer tasks than desired",
        _service_degraded,
        health=("ecs_service_at_desired_count",),
    ),
    Fault(
        "image-drift",
        ("3",),
        "web-ui runs :latest instead of the plan's :develop image",
        _image_drift,
        health=("ecs_service_image_expected",),
    ),
    Fault(
        "image-ahead-of-database",
        ("3",),
        "the mutable :develop image moved on: the services run heads with a new Alembic revision the database "
        "never got (invenio alembic upgrade not run)",
        _image_ahead_of_database,
        health=("db_alembic_revision_matches_image",),
    ),
    Fault(
        "opensearch-processing",
        ("2.3",),
        "the OpenSearch domain is stuck processing a configuration change",
        _opensearch_processing,
        health=("opensearch_domain_ready",),
    ),
    Fault(
        "cache-missing",
        ("3",),
        "the Redis cache cluster was deleted",
        _cache_unavailable,
        health=("elasticache_cache_available",),
    ),
    Fault(
        "broker-missing",
        ("3",),
        "the Celery broker was deleted",
        _broker_stopped,
        health=("mq_broker_running",),
    ),
    Fault(
        "nightly-snapshot-running",
        ("2.1",),
        "an ordinary night: tonight's automated snapshot is being created (status creating); yesterday's is "
        "available. Health must fail nothing",
        _nightly_snapshot_running,
    ),
    Fault(
        "rds-storage-full",
        ("2.1", "6.4"),
        "the production instance is storage-full: every backup setting is fine, writes fail",
        _rds_storage_full,
        health=("rds_instance_available",),
    ),
    Fault(
        "s3-replication-partial",
        ("2.2",),
        "the replication rule was narrowed to the prefix uploads/2019/: the other files are not replicated",
        _s3_replication_partial,
        health=("s3_files_bucket_replication_covers_every_object",),
    ),
    Fault(
        "tfstate-public",
        ("2.4", "2.5"),
        "the state bucket has no public-access block and a policy lets Principal * read the state (and its "
        "master password)",
        _tfstate_public,
        health=("tfstate_bucket_not_public",),
    ),
    Fault(
        "tfstate-rolled-back",
        ("2.4",),
        "an apply from a stale checkout wrote serial 205 with 3 fewer resources over serial 212",
        _tfstate_rolled_back,
        health=("tfstate_never_goes_backwards",),
    ),
    Fault(
        "log-group-misnamed",
        ("5.1", "6.1"),
        "the web services now log to /ecs/invenio-default-web-*; the suite reads /invenio-default/web-*",
        _log_group_misnamed,
        health=("logs_web_log_groups_receive_events",),
    ),
    Fault(
        "log-group-missing",
        ("5.1", "6.1"),
        "web-ui's log group was deleted: no log check can see its entrypoint or password lines",
        _log_group_missing,
        health=(
            "logs_web_log_groups_receive_events",
            "logs_resolve_db_uri_succeeded",
            "logs_no_password_failures",
        ),
    ),
)

CATALOG: dict[str, Fault] = {}


def lookup(name: str) -> Fault:
    try:
        return CATALOG[name]
    except KeyError:
        raise KeyError(f"unknown twin fault {name!r}; known: {', '.join(CATALOG)}") from None


# ---- data-plane faults: the database, the bucket, the index ----------------------------------
# How long ago a data fault happened: beyond the PITR lag (realism.DEFAULT_PITR_LAG), after the
# newest nightly snapshot (at least 10 minutes old, twin.account).
FAULT_AGE = timedelta(minutes=5)


def _sql(twin: Twin, statement: str | tuple[str, ...]) -> None:
    """Run SQL on the production database as its master user (what an operator's psql does).

    Several statements run in one transaction, in order (a RESTRICT key is checked at once).
    The change is back-dated by FAULT_AGE: a fault is a state production has been in for a while,
    so a restore to the latest restorable time holds it, as it would on AWS.
    """
    import psycopg

    started = datetime.now(UTC)
    with psycopg.connect(twin.db_dsn(twin.spec.rds_instance)) as conn:
        for one in (statement,) if isinstance(statement, str) else statement:
            conn.execute(one)  # type: ignore[arg-type]
    if twin.rds_data is not None:
        twin.rds_data.backdate_changes(twin.spec.rds_instance, started, FAULT_AGE)


def _oldest_record_files(twin: Twin, limit: int) -> list[tuple[str, str]]:
    import psycopg

    with psycopg.connect(twin.db_dsn(twin.spec.rds_instance)) as conn:
        rows = conn.execute(
            "SELECT r.json->>'id', f.uri FROM rdm_records_metadata r JOIN rdm_records_files rf ON rf.record_id = r.id "
            "JOIN files_object o ON o.version_id = rf.object_version_id JOIN files_files f ON f.id = o.file_id "
            "WHERE r.deletion_status = 'P' ORDER BY r.created LIMIT %s",
            (limit,),
        ).fetchall()
    return [(str(a), str(b)) for a, b in rows]


def _index_stale(twin: Twin) -> None:
    """A rebuild that stopped half way: the oldest records are missing from the search index."""
    from twin.invenio_cli import search_key

    index = twin.search_index(search_key(twin.task_environment("web-ui")))
    assert index is not None
    docs = sorted(index.documents("records"), key=lambda d: str(d.get("created")))
    for doc in docs[:120]:
        index.remove("records", str(doc["id"]))


def _index_partial_rebuild(twin: Twin) -> None:
    """The index was destroyed and rebuilt with `rdm-records rebuild-index` only (invenio-app-rdm #1816):
    records and drafts are back; users, communities, members and requests are empty."""
    from twin.invenio_cli import run_command, search_key

    env = twin.task_environment("web-ui")
    index = twin.search_index(search_key(env))
    assert index is not None
    index.destroy()
    index.init()
    run_command(["invenio", "rdm-records", "rebuild-index"], env, twin.search_index, True)
    while index.pending():
        index.process_queue(batch=5000)


def _opensearch_snapshots_failing(twin: Twin) -> None:
    """The domain's automated snapshots have failed for three days (a red cluster stops them)."""
    twin.snapshots_failing_since = datetime.now(UTC) - timedelta(days=3)


def _file_missing(twin: Twin) -> None:
    """An object the database references was deleted from the files bucket."""
    _, uri = _oldest_record_files(twin, 1)[0]
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    twin.client("s3").delete_object(Bucket=bucket, Key=key)


EXPIRE_AFTER_DAYS = 30


def _files_expired_by_lifecycle(twin: Twin) -> None:
    """A lifecycle rule meant for abandoned uploads was saved without its prefix filter.

    S3 expired every file uploaded more than 30 days ago: in the versioned files bucket each gets a
    delete marker (the data stays as a noncurrent version, restorable); newer uploads still download.
    moto stores lifecycle rules but never runs them, so the fault then does what S3 would have done,
    through the same API (DeleteObjects on the current versions older than the rule's age). The ages
    are those the twin seeded the bucket with: listing 4,400 keys over HTTP would take seconds.
    """
    s3 = twin.client("s3")
    bucket = twin.spec.files_bucket
    rule = {
        "ID": "expire-abandoned-uploads",
        "Status": "Enabled",
        "Filter": {"Prefix": ""},  # meant to be "tmp/"
        "Expiration": {"Days": EXPIRE_AFTER_DAYS},
    }
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    cutoff = datetime.now(UTC) - timedelta(days=EXPIRE_AFTER_DAYS)
    expired = [key for key, _, uploaded in twin.seed_objects() if uploaded is not None and uploaded < cutoff]
    for start in range(0, len(expired), 1000):
        batch = [{"Key": key} for key in expired[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def _no_admin_user(twin: Twin) -> None:
    """Nobody holds superuser-access any more: neither through a role nor granted directly."""
    _sql(twin, "DELETE FROM accounts_userrole WHERE role_id IN (SELECT role_id FROM access_actionsroles)")
    _sql(twin, "DELETE FROM access_actionsusers WHERE action = 'superuser-access'")


def _empty_database(twin: Twin) -> None:
    """The database was replaced by an empty one (a restore from a snapshot taken mid-migration)."""
    _sql(
        twin,
        "TRUNCATE rdm_records_files, rdm_records_metadata, rdm_drafts_metadata, rdm_versions_state, "
        "rdm_parents_metadata, pidstore_pid, files_object, files_files, files_bucket, communities_metadata, "
        "accounts_userrole, access_actionsusers, access_actionsroles, accounts_role, accounts_user CASCADE",
    )


PARTIAL_LOSS = 0.1  # above the minimum, beyond the baseline tolerance (2 %)


# Every tenth user (none of the admins), and every tenth of the older latest published records.
# The rows that point at them go first, as a cascading delete would take them (the real schema's
# keys are RESTRICT: communities_members -> accounts_user, rdm_records_files -> rdm_records_metadata).
SOME_USERS = (
    "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n "
    "FROM accounts_user WHERE id NOT IN (SELECT user_id FROM accounts_userrole)) AS u "
    f"WHERE n % {round(1 / PARTIAL_LOSS)} = 0"
)
DELETE_SOME_USERS = (
    f"CREATE TEMP TABLE doomed AS {SOME_USERS}",
    "DELETE FROM communities_members WHERE user_id IN (SELECT id FROM doomed)",
    "DELETE FROM accounts_user WHERE id IN (SELECT id FROM doomed)",
)
SOME_RECORDS = (
    "SELECT id FROM (SELECT r.id, row_number() OVER "
    "(ORDER BY r.created) AS n FROM rdm_records_metadata r JOIN rdm_versions_state v ON v.latest_id = r.id "
    f"WHERE r.json IS NOT NULL AND r.deletion_status = 'P') AS p WHERE n % {round(1 / PARTIAL_LOSS)} = 0 "
    "AND n < (SELECT count(*) FROM rdm_records_metadata) - 50"
)
DELETE_SOME_RECORDS = (
    f"CREATE TEMP TABLE doomed AS {SOME_RECORDS}",
    "DELETE FROM rdm_records_files WHERE record_id IN (SELECT id FROM doomed)",
    "DELETE FROM rdm_versions_state WHERE latest_id IN (SELECT id FROM doomed)",
    "DELETE FROM rdm_records_metadata WHERE id IN (SELECT id FROM doomed)",
)


def _legacy_metadata_unmapped(twin: Twin) -> None:
    """The three oldest public records carry a `metadata` field of an old import tool.

    Indexed long ago, before InvenioRDM's record mappings were strict (invenio-rdm-records #1050),
    production's index holds them; a rebuild under today's strict mapping refuses them. Only the
    rows change here, as a migration script writing JSON would: production's index is left as it is.
    """
    _sql(
        twin,
        "UPDATE rdm_records_metadata SET json = jsonb_set(json, '{metadata,shelfmark}', "
        "to_jsonb('MS-' || substr(id::text, 1, 6))) WHERE id IN (SELECT id FROM ("
        + PUBLISHED_LATEST_SQL
        + ") AS latest ORDER BY created LIMIT 3)",
    )


def _users_partly_deleted(twin: Twin) -> None:
    """Every tenth user account (none of the admins) was deleted: a partial loss, not an empty database."""
    _sql(twin, DELETE_SOME_USERS)


def _records_partly_deleted(twin: Twin) -> None:
    """Every tenth of the older published records was deleted from the database (rows gone, index kept)."""
    _sql(twin, DELETE_SOME_RECORDS)


def _s3_access_denied(twin: Twin) -> None:
    """A bucket policy denies the tasks' role s3:GetObject on the files bucket."""
    bucket = twin.spec.files_bucket
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyAppRead",
                "Effect": "Deny",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:role/invenio-default-task"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    twin.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def _files_location_elsewhere(twin: Twin) -> None:
    """The database's files location names a bucket the services do not use, and that is gone.

    What a sync to a new bucket leaves behind when only S3_BUCKET_NAME was changed (plan §4 step 3).
    """
    _sql(twin, f"UPDATE files_location SET uri = 's3://{twin.spec.files_bucket}-old/files'")


def _files_bucket_no_cors(twin: Twin) -> None:
    """The files bucket lost its CORS rules: browsers cannot load previews."""
    twin.client("s3").delete_bucket_cors(Bucket=twin.spec.files_bucket)


DATA_FAULTS: tuple[Fault, ...] = (
    Fault(
        "index-partial-rebuild",
        ("2.3", "4"),
        "the index was destroyed and rebuilt with `rdm-records rebuild-index` only: users, communities, members "
        "and requests indices are empty (invenio-app-rdm #1816, #1914, #2608)",
        _index_partial_rebuild,
        health=("search_indices_match_database",),
    ),
    Fault(
        "opensearch-snapshots-failing",
        ("2.3",),
        "the domain's automated snapshots have failed for 3 days: the usage statistics (stats-*) have no recent copy",
        _opensearch_snapshots_failing,
        health=("opensearch_stats_snapshot_recent",),
    ),
    Fault(
        "legacy-metadata-unmapped",
        ("2.3", "4"),
        "the three oldest public records carry a metadata field (`shelfmark`) of an old import tool: production's "
        "index, built before the mappings were strict, holds them; a rebuild refuses them "
        "(strict_dynamic_mapping_exception) and the rebuilt index misses three records",
        _legacy_metadata_unmapped,
        # Only a rebuild shows it: production's index and database agree.
        drill=("search_index_matches_database",),
    ),
    Fault(
        "users-partly-deleted",
        ("5.2", "6.2"),
        "10 % of the user accounts were deleted (above the minimum, beyond the baseline tolerance)",
        _users_partly_deleted,
        health=("db_users_present", "search_indices_match_database"),
        # A recovery carries the loss over (the restore matches production at its recovery point, and
        # the drill's indices are rebuilt from it): only the baseline shows it (plan 5.2).
        drill=("db_users_present",),
    ),
    Fault(
        "records-partly-deleted",
        ("5.2", "6.2"),
        "10 % of the older published records were deleted from the database; the index still lists them",
        _records_partly_deleted,
        health=("db_records_present", "search_index_matches_database", "search_indices_match_database"),
        drill=("db_records_present",),
    ),
    Fault(
        "index-stale",
        ("2.3", "4"),
        "the search index misses the 120 oldest records (a rebuild stopped half way)",
        _index_stale,
        health=("search_index_matches_database", "search_indices_match_database"),
    ),
    Fault(
        "file-missing",
        ("2.2", "5.3"),
        "an object the database references was deleted from the files bucket",
        _file_missing,
        health=("files_referenced_objects_exist",),
    ),
    Fault(
        "files-expired-by-lifecycle",
        ("2.2", "5.3"),
        f"a lifecycle rule saved without its prefix expired every file uploaded more than {EXPIRE_AFTER_DAYS} days "
        "ago (delete markers in the versioned files bucket); recent uploads still download",
        _files_expired_by_lifecycle,
        health=("files_referenced_objects_exist",),
        # The drill's storage step proves the bucket readable (a recent file downloads) and its
        # download check samples old files too; the §5.3 check opens only the newest record.
        drill=("drill_file_downloads_with_checksum",),
    ),
    Fault(
        "no-admin-user",
        ("5.4",),
        "no user holds superuser-access any more",
        _no_admin_user,
        health=("db_admin_user_present",),
        drill=("db_admin_user_present",),
    ),
    Fault(
        "empty-database",
        ("6.2",),
        "the production database is empty (users, records, files gone); the index still has documents",
        _empty_database,
        health=(
            "db_users_present",
            "db_records_present",
            "db_admin_user_present",
            "search_index_matches_database",
            "search_query_finds_known_record",
            "site_record_file_downloads_with_checksum",
            "files_referenced_objects_exist",
            "search_indices_match_database",
        ),
    ),
    Fault(
        "s3-access-denied",
        ("4",),
        "a bucket policy denies the tasks' role s3:GetObject on the files bucket (plan §4 step 3)",
        _s3_access_denied,
        health=("site_record_file_downloads_with_checksum",),
        # The drill's tasks run with production's task role (TURATH_DRILL_STORAGE=read): the storage
        # step cannot serve a file, so it fails and the checks after it error.
        drill=DRILL_RESTORED,
    ),
    Fault(
        "files-location-elsewhere",
        ("2.2", "4"),
        "the database's files location names another, missing bucket than the services' S3_BUCKET_NAME",
        _files_location_elsewhere,
        health=("s3_files_location_is_the_services_bucket",),
    ),
    Fault(
        "files-bucket-no-cors",
        ("2.2",),
        "the files bucket has no CORS rules: previews cannot read files from the browser",
        _files_bucket_no_cors,
        health=("s3_files_bucket_cors_allows_previews",),
    ),
)


# ---- drill faults: what only a restore shows (plan 2.1.1, 6.2, 6.3, 7) -------------------------
def _snapshots(twin: Twin, kind: str | None = None) -> list[Any]:
    """The production instance's snapshots (moto backend objects), newest first."""
    snaps = [
        s
        for s in twin.backend("rds").database_snapshots.values()
        if s.database.db_instance_identifier == twin.spec.rds_instance and kind in (None, s.snapshot_type)
    ]
    return sorted(snaps, key=lambda s: _utc(s.created), reverse=True)


def _utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _make_empty(twin: Twin, snap: Any) -> None:
    """The snapshot holds the schema and no rows (materialised so on its first restore)."""
    snap.twin_empty = True
    if twin.rds_data is not None:
        twin.rds_data.drop_snapshot(snap.db_snapshot_identifier)


ARCHIVING_STOPPED = timedelta(hours=3)  # PITR broken: the drill's default falls back on a snapshot


def _empty_snapshot(twin: Twin) -> None:
    """The newest snapshot was taken of an empty database; RDS reports it like any other.

    Transaction-log archiving stopped 3 hours ago, so the drill's default recovery point is that
    snapshot (with healthy PITR the drill would restore the latest restorable time).
    """
    _pitr_lagging(twin, ARCHIVING_STOPPED)
    _make_empty(twin, _snapshots(twin)[0])


def _snapshot_partial(twin: Twin) -> None:
    """The newest nightly snapshot lacks a tenth of the users and records production had when it was taken.

    PITR is broken (archiving stopped 3 hours ago), so the drill restores that snapshot: the restored
    database has fewer rows than production had at the recovery point (plan 6.2, partial loss).
    """
    import psycopg
    from psycopg.conninfo import make_conninfo

    _pitr_lagging(twin, ARCHIVING_STOPPED)
    assert twin.rds_data is not None, "needs the twin's data plane"
    assert twin.pg is not None, "needs the twin's data plane"
    name = twin.rds_data.snapshot_db(_snapshots(twin, "automated")[0])
    with psycopg.connect(make_conninfo(twin.pg.superuser_dsn, dbname=name)) as conn:
        for statement in DELETE_SOME_USERS:
            conn.execute(statement)  # type: ignore[arg-type]
        conn.execute("DROP TABLE doomed")
        for statement in DELETE_SOME_RECORDS:
            conn.execute(statement)  # type: ignore[arg-type]


def _snapshot_during_migration(twin: Twin) -> None:
    """The Feb 28 incident (plan 7): the nightly snapshot ran 7 minutes after a credential reset.

    Before the migration the operator followed plan 2.1.1's best practice and took a manual
    snapshot after the last upload batch; that is the newest snapshot the gate may use.
    """
    _pitr_lagging(twin, ARCHIVING_STOPPED)  # the reset stopped log archiving: the drill needs a snapshot
    backend = twin.backend("rds")
    nightly = _snapshots(twin, "automated")[0]
    taken = _utc(nightly.created)
    manual_at = taken - timedelta(minutes=100)
    manual = backend.create_db_snapshot(
        twin.spec.rds_instance,
        f"{twin.spec.rds_instance}-manual-after-upload-{manual_at:%Y%m%d%H%M}",
        snapshot_type="manual",
    )
    backdate_snapshot(manual, manual_at)
    _credentials_reset_at(twin, taken - timedelta(minutes=7))
    _make_empty(twin, nightly)


def _credentials_reset_at(twin: Twin, at: datetime) -> None:
    """RDS's event for a master password reset (ModifyDBInstance --master-user-password) at `at`.

    moto records no event for the modification and no API back-dates one: the backend's list it is.
    """
    from moto.rds.models import Event

    backend = twin.backend("rds")
    event = Event("DB_INSTANCE_RESET_MASTER_CREDENTIALS", backend.databases[twin.spec.rds_instance])
    event.date = at.astimezone(UTC).replace(tzinfo=None)
    backend.events.append(event)


def _credentials_reset_before_snapshot(twin: Twin) -> None:
    """An operator reset the master password 7 minutes before the newest snapshot was taken (plan 7).

    Log archiving kept running, so point-in-time recovery is healthy and the drill restores the
    latest restorable time; the snapshot a recovery would fall back on is the suspect one.
    """
    _credentials_reset_at(twin, _utc(_snapshots(twin)[0].created) - timedelta(minutes=7))


def _snapshot_stale(twin: Twin) -> None:
    """Scans uploaded after the newest snapshot, no manual snapshot after them, and PITR broken (plan 2.1.1).

    Uploads after the nightly snapshot are an ordinary day; without point-in-time recovery (log
    archiving stopped 3 hours ago) a restore now falls back on that snapshot and loses them.
    """
    _pitr_lagging(twin, ARCHIVING_STOPPED)
    s3 = twin.client("s3")
    stamp = datetime.now(UTC)
    for i in range(3):
        body = f"%PDF-1.4 late upload {stamp:%Y%m%d%H%M} {i}".encode()
        s3.put_object(Bucket=twin.spec.files_bucket, Key=f"uploads/{stamp:%Y/%m/%d}/scan-{i:02d}.pdf", Body=body)


def _cli_entrypoint_bypass(twin: Twin) -> None:
    """terraform now starts the app container through a shell that calls the script itself.

    Services still start through resolve-db-uri.sh (it is in their command line), so the site
    works; a one-off task overrides the command, so the script never runs and `invenio` falls
    back to its default database on localhost (plan 6.3; FACTS: the trap is the entrypoint).
    """
    from twin.ecsagent import ENTRYPOINT

    def through_shell(container: dict[str, Any]) -> None:
        entry = container.get("entryPoint") or [ENTRYPOINT]  # none: the image's own
        command = [*entry, *(container.get("command") or [])]
        container["entryPoint"] = ["/bin/sh", "-c"]
        container["command"] = ["exec " + shlex.join(command)]

    for service in twin.spec.services:
        deploy(twin, service, register_container_revision(twin, service, through_shell))


def _web_ui(twin: Twin) -> str:
    """The service that serves the site's pages (the load balancer's web-ui target)."""
    from twin.webapp import UI_SERVICE

    return next(s for s in twin.spec.services if s == UI_SERVICE or s.endswith(f"-{UI_SERVICE}"))


def _template_registered(setting: str, template: str) -> Callable[[Twin], None]:
    """terraform apply registered a web-ui revision whose `setting` names `template`; nothing deployed it.

    The template belongs to a theme the :develop image does not ship yet: production keeps running
    the revision before, and the next deployment (plan 4.2.3-4.2.4, a recovery's) rolls it out.
    """

    def apply(twin: Twin) -> None:
        register_revision(twin, _web_ui(twin), lambda env: env.update({setting: template}))

    return apply


CURATOR_NOTE = "Provenance corrected by a curator"


def _newest_upload_lost(twin: Twin) -> None:
    """The newest public upload's objects got delete markers (a cleanup script's DeleteObject), and a
    curator has since edited an older record: the newest upload is no longer the latest change."""
    import psycopg

    from recovery.db import record_titles
    from twin.invenio_db import RECORD_BY_RECID_SQL, RECORD_FILES_SQL

    with psycopg.connect(twin.db_dsn(twin.spec.rds_instance)) as conn:
        recid = record_titles(conn, limit=1)[0][0]
        record = conn.execute(RECORD_BY_RECID_SQL, (recid,)).fetchone()
        assert record is not None, f"record {recid} is not public"
        uris = [str(row[1]) for row in conn.execute(RECORD_FILES_SQL, (record[0],)).fetchall()]
    edited = _oldest_record_files(twin, 1)[0][0]
    _sql(
        twin,
        "UPDATE rdm_records_metadata SET json = jsonb_set(json, '{metadata,description}', "
        f"to_jsonb('{CURATOR_NOTE}'::text)), updated = timezone('utc', now()), version_id = version_id + 1 "
        f"WHERE json->>'id' = '{edited}' AND deletion_status = 'P'",
    )
    s3 = twin.client("s3")
    for uri in uris:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        s3.delete_object(Bucket=bucket, Key=key)


DRILL_FAULTS: tuple[Fault, ...] = (
    Fault(
        "empty-snapshot",
        ("6.2",),
        "the newest snapshot holds an empty database and PITR is broken (archiving stopped 3 h ago): the "
        "drill's default restores it and gets no users or records",
        _empty_snapshot,
        health=("rds_pitr_lag_within_rpo", "rds_snapshot_checklist_passes"),
        drill=(
            "drill_rpo_within_objective",
            "drill_restored_db_has_users_and_records",
            "drill_file_downloads_with_checksum",
            "site_api_records_total_positive",
            "db_users_present",
            "db_records_present",
            "db_admin_user_present",
            "search_query_finds_known_record",
            "site_record_file_downloads_with_checksum",
        ),
    ),
    Fault(
        "snapshot-during-migration",
        ("2.1.1", "7"),
        "the newest (nightly) snapshot was taken 7 minutes after a 'Reset master credentials' event, and log "
        "archiving stopped with the reset (PITR 3 h behind)",
        _snapshot_during_migration,
        health=("rds_pitr_lag_within_rpo", "rds_snapshot_checklist_passes"),
        drill=("drill_recovery_point_is_newest_snapshot", "drill_rpo_within_objective"),
    ),
    Fault(
        "credentials-reset-before-snapshot",
        ("2.1.1", "7"),
        "the master password was reset 7 minutes before the newest snapshot was taken; PITR is healthy, so a "
        "recovery restores the latest restorable time, but its fallback is the snapshot before",
        _credentials_reset_before_snapshot,
        health=("rds_snapshot_checklist_passes",),
        # Only the §2.1.1 verdict on the newest snapshot fails: the restore, its data and the RPO are
        # those of a healthy point-in-time recovery.
        drill=("drill_recovery_point_is_newest_snapshot",),
    ),
    Fault(
        "snapshot-stale",
        ("2.1.1",),
        "files were uploaded after the newest snapshot, no snapshot followed, and PITR is 3 h behind: a restore "
        "now loses them",
        _snapshot_stale,
        health=("rds_pitr_lag_within_rpo", "rds_snapshot_checklist_passes"),
        drill=("drill_rpo_within_objective",),
    ),
    Fault(
        "snapshot-partial",
        ("6.2", "5.2"),
        "the newest nightly snapshot lacks 10 % of the users and records production had when it was taken, and "
        "PITR is 3 h behind: the drill restores fewer rows than production had at the recovery point",
        _snapshot_partial,
        health=("rds_pitr_lag_within_rpo", "rds_snapshot_checklist_passes"),
        drill=(
            "drill_restored_db_has_users_and_records",
            "drill_rpo_within_objective",
            "db_users_present",
            "db_records_present",
        ),
    ),
    Fault(
        "cli-entrypoint-bypass",
        ("6.3",),
        "the app container starts through `sh -c`: one-off commands skip resolve-db-uri.sh and reach no DB",
        _cli_entrypoint_bypass,
        health=("ecs_task_definitions_keep_db_entrypoint",),
        drill=DRILL_VERIFIED,
    ),
    Fault(
        "frontpage-template-missing",
        ("4", "5.1"),
        "a web-ui revision registered but not deployed sets INVENIO_THEME_FRONTPAGE_TEMPLATE to a template the "
        "image lacks: production still serves the revision before; a recovery deploys it and the homepage 500s",
        _template_registered("INVENIO_THEME_FRONTPAGE_TEMPLATE", "turath_theme/frontpage.html"),
        health=("ecs_service_runs_latest_revision",),
        drill=("site_homepage_ok",),
    ),
    Fault(
        "login-template-missing",
        ("4", "6.4"),
        "a web-ui revision registered but not deployed sets INVENIO_SECURITY_LOGIN_USER_TEMPLATE to a template "
        "the image lacks: production still serves the revision before; a recovery deploys it and /login/ 500s",
        _template_registered("INVENIO_SECURITY_LOGIN_USER_TEMPLATE", "turath_theme/login_user.html"),
        health=("ecs_service_runs_latest_revision",),
        drill=("site_login_not_5xx",),
    ),
    Fault(
        "newest-upload-lost",
        ("2.2", "5.3"),
        "the newest public upload's objects have delete markers, and a curator edited an older record since: "
        "the files that changed last still download, the newest record's do not",
        _newest_upload_lost,
        health=("files_referenced_objects_exist", "site_record_file_downloads_with_checksum"),
        # The storage step samples by update time (the edited record first); the §5.3 check opens
        # the newest record, whose object is gone.
        drill=("site_record_file_downloads_with_checksum",),
    ),
)


FAULTS = FAULTS + DATA_FAULTS + DRILL_FAULTS
CATALOG.update({f.name: f for f in FAULTS})


def _teardown_blocked(twin: Twin) -> None:
    """New load balancers get deletion protection (an org rule): the drill's ALB outlives it."""
    assert twin.sites is not None, "needs the twin's data plane"
    twin.sites.protect_new_load_balancers = True


FAULTS = (
    *FAULTS,
    Fault(
        "teardown-blocked",
        ("4",),
        "an auto-remediation rule turns on deletion protection for new load balancers: teardown cannot "
        "delete the drill's ALB",
        _teardown_blocked,
        drill=("drill_left_nothing_behind",),
    ),
)
CATALOG.update({f.name: f for f in FAULTS})
