"""Seed a moto server as the Turath production account (control plane only).

Everything is created through the AWS APIs (boto3 against the twin's endpoint), as Terraform
would, except what the APIs cannot express: back-dated snapshot times and bulk S3 objects,
which are set on moto's backend objects (in-process only; moto's state is ours to steer).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.backends import get_backend

from recovery.timeutil import as_utc
from twin import rdsdata
from twin.invenio_db import ALEMBIC_HEADS, HEADS_LABEL

log = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
IMAGE = "ghcr.io/alabarazi/turath-rdm:develop"
TAGS = {"Project": "turath", "Environment": "production", "ManagedBy": "terraform"}


@dataclass(frozen=True)
class AccountSpec:
    """Names of the production resources (the plan's identifiers, from the suite's settings)."""

    region: str
    rds_instance: str = "invenio-default-rds"
    db_user: str = "inveniordm_user"
    db_name: str = "invenio"
    ecs_cluster: str = "invenio-default-cluster"
    services: tuple[str, ...] = ("web-ui", "web-api", "worker")
    app_container: str = "app"
    log_group_prefix: str = "/invenio-default"
    files_bucket: str = "invenio-default-files"
    backup_bucket: str = "invenio-default-cold-storage"
    tfstate_bucket: str = "invenio-default-tfstate"
    tfstate_key: str = "inveniordm-terraform/terraform.tfstate"
    opensearch_domain: str = "invenio-default-search"
    cache_cluster: str = "invenio-default-redis"
    broker_name: str = "invenio-default-mq"
    allocated_storage_gib: int = 100
    records: int = 2000
    alb_name: str = "invenio-default-alb"
    desired: dict[str, int] = field(default_factory=lambda: {"web-ui": 2, "web-api": 2, "worker": 1})

    def log_group(self, service: str) -> str:
        return f"{self.log_group_prefix}/{service}"


def tag_list(extra: dict[str, str] | None = None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in {**TAGS, **(extra or {})}.items()]


def backend(service: str, region: str) -> Any:
    """moto's in-process backend for `service` in the twin's account and region (S3 is global)."""
    backends = get_backend(service)[ACCOUNT_ID]  # type: ignore[call-overload]
    return backends["global"] if "global" in backends else backends[region]


class AccountSeeder:
    """Creates the production account. `clients(service)` returns a boto3 client for the twin."""

    def __init__(self, spec: AccountSpec, clients: Callable[[str], Any]) -> None:
        self.spec = spec
        self.clients = clients

    # ---- RDS (plan 2.1) -------------------------------------------------------------------
    def rds(self, password: str, now: datetime) -> None:
        s = self.spec
        rds = self.clients("rds")
        rds.create_db_instance(
            DBInstanceIdentifier=s.rds_instance,
            DBInstanceClass="db.t4g.medium",
            Engine="postgres",
            EngineVersion="15.8",
            DBName=s.db_name,
            MasterUsername=s.db_user,
            MasterUserPassword=password,
            AllocatedStorage=s.allocated_storage_gib,
            StorageEncrypted=True,
            BackupRetentionPeriod=7,
            PreferredBackupWindow="03:00-03:30",
            PreferredMaintenanceWindow="sun:04:00-sun:04:30",
            CopyTagsToSnapshot=True,
            Tags=tag_list(),
        )
        b = backend("rds", s.region)
        # moto takes one automated snapshot at creation; replace it with a week of nightly ones.
        for sid in [k for k, v in b.database_snapshots.items() if v.snapshot_type == "automated"]:
            del b.database_snapshots[sid]
        instance = b.databases[s.rds_instance]
        instance.instance_create_time = (now - timedelta(days=270)).isoformat()
        for days_ago in range(7, 0, -1):
            at = (now - timedelta(days=days_ago)).replace(hour=3, minute=12, second=31, microsecond=0)
            if at > now:
                continue
            self.snapshot(f"rds:{s.rds_instance}-{at:%Y-%m-%d-%H-%M}", "automated", at)
        today = now.replace(hour=3, minute=12, second=31, microsecond=0)
        if today <= now - timedelta(minutes=10):
            self.snapshot(f"rds:{s.rds_instance}-{today:%Y-%m-%d-%H-%M}", "automated", today)
        manual = now - timedelta(days=3, hours=5)
        self.snapshot(f"{s.rds_instance}-manual-pre-upgrade-{manual:%Y%m%d}", "manual", manual)

    def snapshot(self, snapshot_id: str, kind: str, at: datetime) -> Any:
        """Create a snapshot through moto's backend with a back-dated creation time."""
        b = backend("rds", self.spec.region)
        snap = b.create_db_snapshot(self.spec.rds_instance, snapshot_id, snapshot_type=kind, tags=tag_list())
        backdate_snapshot(snap, at)
        return snap

    # ---- S3 (plan 2.2, 2.4) ---------------------------------------------------------------
    def s3(
        self,
        objects: Iterable[tuple[str, bytes, datetime | None]],
        tfstate: list[tuple[bytes, timedelta]],
        now: datetime,
    ) -> None:
        s = self.spec
        s3 = self.clients("s3")
        loc = {} if s.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": s.region}}
        for bucket in (s.files_bucket, s.backup_bucket, s.tfstate_bucket):
            s3.create_bucket(Bucket=bucket, **loc)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_list()})
            s3.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
        for bucket, algo in (
            (s.files_bucket, "AES256"),
            (s.backup_bucket, "AES256"),
            (s.tfstate_bucket, "aws:kms"),
        ):
            s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algo}}]
                },
            )
        # Previews (PDF.js, Mirador) read files from the browser.
        cors = {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"]}
        s3.put_bucket_cors(Bucket=s.files_bucket, CORSConfiguration={"CORSRules": [{**cors, "MaxAgeSeconds": 3000}]})
        s3.put_bucket_replication(
            Bucket=s.files_bucket,
            ReplicationConfiguration={
                "Role": f"arn:aws:iam::{ACCOUNT_ID}:role/invenio-default-s3-replication",
                "Rules": [
                    {
                        "ID": "files-to-cold-storage",
                        "Priority": 1,
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "DeleteMarkerReplication": {"Status": "Disabled"},
                        "Destination": {
                            "Bucket": f"arn:aws:s3:::{s.backup_bucket}",
                            "StorageClass": "GLACIER_IR",
                        },
                    }
                ],
            },
        )
        b = backend("s3", s.region)
        count = 0
        for key, data, uploaded in objects:
            obj = b.put_object(s.files_bucket, key, data)
            if uploaded is not None:
                obj.last_modified = s3_time(uploaded)  # the day the book was uploaded, not the seeding
            count += 1
        log.debug("seeded %d objects into %s", count, s.files_bucket)
        for body, ago in tfstate:  # every apply wrote a version (the bucket is versioned)
            s3.put_object(Bucket=s.tfstate_bucket, Key=s.tfstate_key, Body=body, ServerSideEncryption="aws:kms")
            b.get_object(s.tfstate_bucket, s.tfstate_key).last_modified = s3_time(now - ago)

    # ---- network and load balancer ---------------------------------------------------------
    def network(self) -> dict[str, Any]:
        """The VPC the services and the load balancer live in (private subnets in two AZs)."""
        ec2 = self.clients("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{self.spec.region}{az}")[
                "Subnet"
            ]["SubnetId"]
            for i, az in ((1, "a"), (2, "b"))
        ]
        sg = ec2.create_security_group(GroupName="invenio-default-ecs", Description="ECS tasks", VpcId=vpc)["GroupId"]
        return {"vpc": vpc, "subnets": subnets, "security_groups": [sg]}

    def load_balancer(self, network: dict[str, Any]) -> dict[str, str]:
        """The site's ALB: /api/* to web-api, everything else to web-ui (returns role -> TG ARN)."""
        elb = self.clients("elbv2")
        lb = elb.create_load_balancer(
            Name=self.spec.alb_name,
            Subnets=network["subnets"],
            SecurityGroups=network["security_groups"],
            Scheme="internet-facing",
            Type="application",
            Tags=tag_list(),
        )["LoadBalancers"][0]["LoadBalancerArn"]
        groups = {}
        for role in ("web-ui", "web-api"):
            groups[role] = elb.create_target_group(
                Name=f"invenio-default-{role}",
                Protocol="HTTP",
                Port=5000,
                VpcId=network["vpc"],
                TargetType="ip",
                HealthCheckPath="/ping",
            )["TargetGroups"][0]["TargetGroupArn"]
        listener = elb.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": groups["web-ui"]}],
        )["Listeners"][0]["ListenerArn"]
        elb.create_rule(
            ListenerArn=listener,
            Priority=10,
            Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
            Actions=[{"Type": "forward", "TargetGroupArn": groups["web-api"]}],
        )
        return groups

    # ---- ECS, logs (plan 2.5, 3, 4 step 2.4) ----------------------------------------------
    def ecs(
        self,
        env_for: Callable[[str], dict[str, str]],
        network: dict[str, Any] | None = None,
        target_groups: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """Cluster, two revisions per family (the older one stale), services on the newest."""
        s = self.spec
        ecs, logs = self.clients("ecs"), self.clients("logs")
        ecs.create_cluster(clusterName=s.ecs_cluster, tags=[{"key": k, "value": v} for k, v in TAGS.items()])
        running: dict[str, str] = {}
        for service in s.services:
            logs.create_log_group(logGroupName=s.log_group(service), tags=TAGS)
            logs.put_retention_policy(logGroupName=s.log_group(service), retentionInDays=30)
            arn = ""
            for revision_env in (
                {**env_for(service), "INVENIO_APP_REVISION": "previous"},
                env_for(service),
            ):
                arn = ecs.register_task_definition(**self.task_definition(service, revision_env))["taskDefinition"][
                    "taskDefinitionArn"
                ]
            extra: dict[str, Any] = {}
            if network is not None:
                extra["networkConfiguration"] = {
                    "awsvpcConfiguration": {
                        "subnets": network["subnets"],
                        "securityGroups": network["security_groups"],
                        "assignPublicIp": "DISABLED",
                    }
                }
            if target_groups and service in target_groups:
                extra["loadBalancers"] = [
                    {"targetGroupArn": target_groups[service], "containerName": s.app_container, "containerPort": 5000}
                ]
            ecs.create_service(
                cluster=s.ecs_cluster,
                serviceName=service,
                taskDefinition=arn,
                desiredCount=s.desired.get(service, 1),
                launchType="FARGATE",
                **extra,
                deploymentConfiguration={
                    "deploymentCircuitBreaker": {"enable": True, "rollback": False},
                    "maximumPercent": 200,
                    "minimumHealthyPercent": 100,
                },
                tags=[{"key": k, "value": v} for k, v in TAGS.items()],
            )
            running[service] = arn
        return running

    def task_definition(self, service: str, env: dict[str, str]) -> dict[str, Any]:
        s = self.spec
        return {
            "family": f"invenio-default-{service}",
            "taskRoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/invenio-default-task",
            "executionRoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/invenio-default-task-execution",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "1024",
            "memory": "2048",
            "containerDefinitions": [
                {
                    "name": s.app_container,
                    "image": IMAGE,
                    "memory": 2048,
                    "essential": True,
                    # No entryPoint: the image's own ENTRYPOINT is resolve-db-uri.sh (plan 2.5).
                    # The image's CI declares its Alembic heads with the deployment (`invenio alembic heads`).
                    "dockerLabels": {HEADS_LABEL: " ".join(ALEMBIC_HEADS)},
                    "command": ["celery-worker"] if service == "worker" else ["uwsgi", "/opt/invenio/uwsgi.ini"],
                    "environment": [{"name": k, "value": v} for k, v in sorted(env.items())],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": s.log_group(service),
                            "awslogs-region": s.region,
                            "awslogs-stream-prefix": "app",
                        },
                    },
                }
            ],
            "tags": [{"key": k, "value": v} for k, v in TAGS.items()],
        }

    # ---- OpenSearch, cache, broker (plan 2.3, 3) -------------------------------------------
    def services(self) -> None:
        s = self.spec
        self.clients("opensearch").create_domain(
            DomainName=s.opensearch_domain,
            EngineVersion="OpenSearch_2.11",
            ClusterConfig={"InstanceType": "t3.medium.search", "InstanceCount": 1},
            EncryptionAtRestOptions={"Enabled": True},
            TagList=tag_list(),
        )
        self.clients("elasticache").create_cache_cluster(
            CacheClusterId=s.cache_cluster,
            Engine="redis",
            CacheNodeType="cache.t4g.small",
            NumCacheNodes=1,
            Tags=tag_list(),
        )
        self.clients("mq").create_broker(
            BrokerName=s.broker_name,
            EngineType="RABBITMQ",
            EngineVersion="3.13",
            DeploymentMode="SINGLE_INSTANCE",
            HostInstanceType="mq.t3.micro",
            PubliclyAccessible=False,
            AutoMinorVersionUpgrade=True,
            Users=[{"Username": "invenio", "Password": "celery-broker-pass-00"}],
            Tags=TAGS,
        )


def s3_time(moment: datetime) -> datetime:
    """An S3 object's LastModified as moto's backend keeps it: naive UTC. ListObjectVersions sorts the
    versions against a naive epoch, so one aware time among them answers 500 for the whole bucket."""
    return as_utc(moment).replace(tzinfo=None)


def backdate_snapshot(snap: Any, at: datetime) -> None:
    """The snapshot was taken at `at`: long finished, so available (not `creating` like a new one)."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    snap.created = stamp
    snap.original_snapshot_create_time = stamp
    snap.status = "available"
    data = rdsdata.active()
    if data is not None and not data.lazy_snapshots:
        # Copied when created through the API: copy it again, lazily, as of its new date.
        data.drop_snapshot(snap.db_snapshot_identifier)


LINEAGE = "5d0c7e5e-7b8a-4c0e-9b8e-1f3d1c2b7a10"
# What the Turath configuration manages besides the password, as (type, name).
MANAGED = (
    ("aws_db_instance", "rds"),
    ("aws_s3_bucket", "files"),
    ("aws_s3_bucket", "cold_storage"),
    ("aws_s3_bucket_replication_configuration", "files"),
    ("aws_ecs_cluster", "main"),
    ("aws_ecs_task_definition", "web_ui"),
    ("aws_ecs_task_definition", "web_api"),
    ("aws_ecs_task_definition", "worker"),
    ("aws_ecs_service", "web_ui"),
    ("aws_ecs_service", "web_api"),
    ("aws_ecs_service", "worker"),
    ("aws_opensearch_domain", "search"),
)


def tfstate_document(
    password: str, endpoint: str, lineage: str = LINEAGE, serial: int = 212, managed: int = len(MANAGED)
) -> bytes:
    """A Terraform state like the Turath one: it holds the generated master password (plan 2.5).

    `serial` grows with every apply; `managed` is how many of MANAGED it holds besides the password.
    """
    resources: list[dict[str, Any]] = [
        {
            "mode": "managed",
            "type": "random_password",
            "name": "rds_master_password",
            "provider": 'provider["registry.terraform.io/hashicorp/random"]',
            "instances": [{"schema_version": 3, "attributes": {"length": 32, "special": False, "result": password}}],
        }
    ]
    resources += [
        {
            "mode": "managed",
            "type": kind,
            "name": name,
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [{"schema_version": 0, "attributes": {"id": f"{name}-{serial}"}}],
        }
        for kind, name in MANAGED[:managed]
    ]
    state = {
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": serial,
        "lineage": lineage,
        "outputs": {"rds_endpoint": {"value": endpoint, "type": "string"}},
        "resources": resources,
    }
    return json.dumps(state, indent=2).encode()


def tfstate_history(password: str, endpoint: str) -> list[tuple[bytes, timedelta]]:
    """The state's versions in the bucket, oldest first, with how long ago each was written."""
    return [
        (tfstate_document(password, endpoint, serial=198, managed=len(MANAGED) - 2), timedelta(days=41)),
        (tfstate_document(password, endpoint, serial=211, managed=len(MANAGED) - 1), timedelta(days=9)),
        (tfstate_document(password, endpoint, serial=212), timedelta(days=2, hours=3)),
    ]
