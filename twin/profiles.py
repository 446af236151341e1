"""Production shapes the twin's account can take (`--twin-profile NAME`, repeatable).

The default account is the plan's: settings in task definition `environment`, services on a
FARGATE launch type, AWS-managed encryption. Real accounts often differ, and a green run must
predict a green run on them too. A profile reshapes the healthy account after it is seeded,
through the APIs Terraform would use (the backend only where no API can express the state, as
an instance's storage key), and is applied again after every reset. Health and the drill pass
on each; the faults still fail their checks (`tests/test_profiles.py`).

To add one: a function `(twin) -> None` and a `Profile` entry in PROFILES.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twin import shape_https
from twin.account import ACCOUNT_ID, tag_list
from twin.faults import deploy, register_container_revision

if TYPE_CHECKING:
    from twin.core import Twin

DB_SETTINGS = ("RDS_DB_PASSWORD", "RDS_DB_HOST")
SECRETS_MANAGER, SSM_PARAMETERS = "secrets-manager", "ssm-parameters"
# A Fargate service's usual strategy: one task always on demand, the rest mostly on Spot.
CAPACITY_STRATEGY = (
    {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
    {"capacityProvider": "FARGATE_SPOT", "base": 0, "weight": 3},
)


@dataclass(frozen=True)
class Profile:
    """One production shape. `apply` reshapes the seeded, healthy account."""

    name: str
    summary: str
    apply: Callable[[Twin], None]


def _prefix(twin: Twin) -> str:
    """The resource prefix of the twin's account ('invenio-default')."""
    return twin.spec.log_group_prefix.strip("/")


def _by_reference(twin: Twin, names: tuple[str, ...], store: Callable[[dict[str, str]], dict[str, str]]) -> None:
    """Every service's new revision delivers `names` through `secrets` (valueFrom from `store`), deployed."""
    services = twin.spec.services
    env = twin.task_environment(services[0])
    refs = store({n: env[n] for n in names})
    for service in services:

        def move(container: dict[str, Any]) -> None:
            kept = [e for e in container.get("environment", []) if e["name"] not in refs]
            container["environment"] = kept
            container["secrets"] = [
                *(container.get("secrets") or []),
                *({"name": n, "valueFrom": v} for n, v in sorted(refs.items())),
            ]

        deploy(twin, service, register_container_revision(twin, service, move))


def _names_for(twin: Twin, profile: str) -> tuple[str, ...]:
    """Which settings a secrets profile delivers: both, or with the other one selected, password / host."""
    if SECRETS_MANAGER in twin.active_profiles and SSM_PARAMETERS in twin.active_profiles:
        return DB_SETTINGS[:1] if profile == SECRETS_MANAGER else DB_SETTINGS[1:]
    return DB_SETTINGS


def _secrets_manager(twin: Twin) -> None:
    """One JSON secret (as RDS or Terraform write them); each setting references its key."""
    names = _names_for(twin, SECRETS_MANAGER)
    keys = {"RDS_DB_PASSWORD": "password", "RDS_DB_HOST": "host"}

    def store(values: dict[str, str]) -> dict[str, str]:
        body = {"username": twin.spec.db_user, **{keys[n]: v for n, v in values.items()}}
        arn = twin.client("secretsmanager").create_secret(
            Name=f"{_prefix(twin)}/rds-credentials",
            SecretString=json.dumps(body),
            Tags=tag_list(),
        )["ARN"]
        return {n: f"{arn}:{keys[n]}::" for n in values}

    _by_reference(twin, names, store)


def _ssm_parameters(twin: Twin) -> None:
    """One parameter per setting: the password a SecureString, the host a plain String."""
    names = _names_for(twin, SSM_PARAMETERS)

    def store(values: dict[str, str]) -> dict[str, str]:
        ssm, refs = twin.client("ssm"), {}
        for name, value in values.items():
            path = f"/{_prefix(twin)}/rds/{name.removeprefix('RDS_DB_').lower()}"
            kind = "SecureString" if name == "RDS_DB_PASSWORD" else "String"
            ssm.put_parameter(Name=path, Value=value, Type=kind, Tags=tag_list())
            refs[name] = f"arn:aws:ssm:{twin.spec.region}:{ACCOUNT_ID}:parameter{path}"
        return refs

    _by_reference(twin, names, store)


def _capacity_providers(twin: Twin) -> None:
    """The cluster has FARGATE and FARGATE_SPOT; every service uses a strategy and no launch type."""
    ecs = twin.client("ecs")
    ecs.put_cluster_capacity_providers(
        cluster=twin.spec.ecs_cluster,
        capacityProviders=[i["capacityProvider"] for i in CAPACITY_STRATEGY],
        defaultCapacityProviderStrategy=[dict(CAPACITY_STRATEGY[0])],
    )
    for service in twin.spec.services:
        # Moving a service from a launch type to a strategy needs a new deployment (ECS's rule).
        ecs.update_service(
            cluster=twin.spec.ecs_cluster,
            service=service,
            capacityProviderStrategy=[dict(i) for i in CAPACITY_STRATEGY],
            forceNewDeployment=True,
        )
    twin.settle_services()


def _kms(twin: Twin) -> None:
    """A customer-managed key on the instance, its snapshots and the buckets; a custom parameter group."""
    s = twin.spec
    kms, rds, s3 = twin.client("kms"), twin.client("rds"), twin.client("s3")
    key = kms.create_key(
        Description=f"{_prefix(twin)} data at rest",
        Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tag_list()],
    )["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=f"alias/{_prefix(twin)}-data", TargetKeyId=key)
    group = f"{_prefix(twin)}-postgres15"
    rds.create_db_parameter_group(
        DBParameterGroupName=group,
        DBParameterGroupFamily="postgres15",
        Description="InvenioRDM: slow-query log, forced SSL",
        Tags=tag_list(),
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName=group,
        Parameters=[
            {"ParameterName": "log_min_duration_statement", "ParameterValue": "1000", "ApplyMethod": "immediate"},
            {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "pending-reboot"},
        ],
    )
    rds.modify_db_instance(DBInstanceIdentifier=s.rds_instance, DBParameterGroupName=group, ApplyImmediately=True)
    # RDS cannot re-key an instance: Terraform created it with the key. Its snapshots carry it too.
    backend = twin.backend("rds")
    instance = backend.databases[s.rds_instance]
    instance.storage_encrypted, instance.kms_key_id = True, key
    for snap in backend.database_snapshots.values():
        if snap.database.db_instance_identifier == s.rds_instance:
            snap.kms_key_id = key
    # Settings delivered by reference are encrypted with it too (with secrets-manager / ssm-parameters).
    for secret in twin.backend("secretsmanager").secrets.values():
        if secret.name.startswith(f"{_prefix(twin)}/"):
            twin.client("secretsmanager").update_secret(SecretId=secret.arn, KmsKeyId=key)
    ssm = twin.client("ssm")
    for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path=f"/{_prefix(twin)}/", Recursive=True, WithDecryption=True
    ):
        for param in page["Parameters"]:
            if param["Type"] == "SecureString":
                ssm.put_parameter(
                    Name=param["Name"], Value=param["Value"], Type="SecureString", KeyId=key, Overwrite=True
                )
    for bucket in (s.files_bucket, s.backup_bucket):
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )


# Applied in this order whatever the order of selection (a name may appear once). Leave room for
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            SECRETS_MANAGER,
            "RDS_DB_PASSWORD and RDS_DB_HOST through Secrets Manager (valueFrom JSON keys)",
            _secrets_manager,
        ),
        Profile(
            SSM_PARAMETERS, "RDS_DB_PASSWORD (SecureString) and RDS_DB_HOST through SSM parameters", _ssm_parameters
        ),
        Profile(
            "capacity-providers",
            "services on a FARGATE/FARGATE_SPOT capacity-provider strategy, no launch type",
            _capacity_providers,
        ),
        Profile(
            "kms", "customer-managed KMS key on the RDS instance and buckets (SSE-KMS), custom parameter group", _kms
        ),
        Profile(
            "https",
            "HTTPS:443 with an ACM certificate, HTTP:80 redirecting, host-header rules, security groups 443/80 only",
            shape_https.apply,
        ),
    )
}


def unknown(names: tuple[str, ...]) -> list[str]:
    """The names that are not profiles (to refuse before anything starts)."""
    return [n for n in names if n not in PROFILES]


def ordered(names: tuple[str, ...]) -> tuple[str, ...]:
    """The selected profiles in application order, each once."""
    return tuple(n for n in PROFILES if n in names)
