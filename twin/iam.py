"""The twin's IAM: the suite's principals hold exactly `policies/*.json`, and every call is judged.

Why not moto's own access control (`INITIAL_NO_AUTH_ACTION_COUNT`): in moto 5.2.1
(moto/core/responses.py `call_action`, moto/iam/access_control.py) every non-S3 call is
authorised against resource "*", so a statement scoped to `arn:...:cluster/invenio-drill-*`
never matches and least-privilege policies deny everything; S3 is judged under moto's own
action names (`s3:GetBucketEncryption`, `s3:ListObjectsV2`, `s3:HeadBucket`) that are not IAM
actions, so a policy parliament accepts would be refused; and conditions are only evaluated for
keys moto supplies (none of `aws:RequestTag`, `aws:ResourceTag`, `iam:PassedToService`).

So the twin authorises at its endpoint (the WSGI middleware in twin/awsserver.py): each
request becomes the IAM actions and resource ARNs AWS would authorise (the tagging action when
tags are passed at creation, `iam:PassRole` for the roles a task definition names), judged
against the principal's policy files with `recovery.policies` (wildcards as IAM matches them;
conditions are not evaluated: the tests prove the tag conditions from the recorded calls).
A refusal is AWS's own error with AWS's own message, so the suite meets it as it would on AWS.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from recovery.policies import MODES, Policy, iam_action, load

ADMIN_KEY = "twin-access-key"  # the twin's own seeding, agents and fault injection
USER_ARN = "arn:aws:iam::{account}:user/{name}"


@dataclass(frozen=True)
class Access:
    """One authorisation AWS makes for a call: an IAM action on a resource ARN."""

    action: str
    resource: str


@dataclass
class Principal:
    """An IAM user of the twin's account holding policy files (None: the twin's admin)."""

    name: str
    access_key: str
    secret_key: str
    policies: list[Policy] | None = field(default=None)

    def arn(self, account: str) -> str:
        return USER_ARN.format(account=account, name=self.name)

    def denial(self, accesses: tuple[Access, ...]) -> Access | None:
        """The first access none of the principal's policies allows, or None."""
        if self.policies is None:
            return None
        for access in accesses:
            if access.action == "sts:GetCallerIdentity":  # AWS never refuses it
                continue
            if not any(p.allows(access.action, access.resource) for p in self.policies):
                return access
        return None


def suite_principals() -> dict[str, Principal]:
    """The principals the suite runs as: health (health.json) and drill (its files), plus the admin."""
    return {
        "admin": Principal("twin-admin", ADMIN_KEY, "twin-secret-key"),
        "health": Principal("turath-health", "AKIATURATHHEALTH0001", "twin-health-secret", _files("health")),
        "drill": Principal("turath-drill", "AKIATURATHDRILL00001", "twin-drill-secret", _files("drill")),
        "tools": Principal("turath-tools", "AKIATURATHTOOLS00001", "twin-tools-secret", _files("tools")),
    }


def _files(mode: str) -> list[Policy]:
    return [load(f) for f in MODES[mode]]


class Enforcer:
    """Who holds which key, and whether a call is allowed. Thread-safe; policies can be swapped."""

    def __init__(self, account: str, enabled: bool = True) -> None:
        self.account = account
        self.enabled = enabled
        self.principals = suite_principals()
        self._by_key = {p.access_key: p for p in self.principals.values()}
        self._lock = threading.Lock()

    def principal(self, access_key: str) -> Principal | None:
        return self._by_key.get(access_key)

    @contextmanager
    def revoked(self, file: str, action: str) -> Iterator[None]:
        """Every principal holding `file` loses `action` from it (tests of a missing permission)."""
        with self._lock:
            saved = {name: list(p.policies) for name, p in self.principals.items() if p.policies is not None}
            for p in self.principals.values():
                if p.policies is not None:
                    p.policies = [_without(pol, action) if pol.file == file else pol for pol in p.policies]
        try:
            yield
        finally:
            with self._lock:
                for name, policies in saved.items():
                    self.principals[name].policies = policies


def _without(policy: Policy, action: str) -> Policy:
    doc = json.loads(json.dumps(policy.document))
    for s in doc["Statement"]:
        acts = s.get("Action", [])
        if isinstance(acts, list):
            s["Action"] = [a for a in acts if a.lower() != action.lower()] or ["none:NoAction"]
        elif acts.lower() == action.lower():
            s["Action"] = ["none:NoAction"]
    return replace(policy, document=doc)


# ---- request -> accesses ---------------------------------------------------------------------


def accesses(
    service: str,
    operation: str,
    params: dict[str, Any],
    *,
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: dict[str, str],
    region: str,
    account: str,
) -> tuple[Access, ...]:
    """What AWS authorises for one request (`operation` empty for REST calls: derived here)."""
    if service == "s3" and path.startswith("/v20180820/"):  # S3 Control: account-level settings
        op = rest_operation("s3control", method, path)
        return (Access(iam_action("s3", op or f"{method} {path}", "s3control"), "*"),)
    if service == "s3":
        return _s3(method, path, query, headers)
    if not operation:
        operation = rest_operation(service, method, path)
        if not operation:
            return (Access(f"{service}:{method} {path}", "*"),)
    arn = _Arns(service, region, account)
    action = iam_action(service, operation)
    resources = arn.of(operation, params)
    out = [Access(action, r) for r in resources]
    tags = params.get("tags") or params.get("Tags") or _members(params, "Tags")
    if tags and operation.startswith(("Create", "Register", "Run", "Restore", "Put")) and operation != "PutLogEvents":
        tag_action = {
            "ecs": "ecs:TagResource",
            "logs": "logs:TagResource",
            "ssm": "ssm:AddTagsToResource",
            "elasticloadbalancing": "elasticloadbalancing:AddTags",
            "rds": "rds:AddTagsToResource",
        }.get(service)
        if tag_action:
            out.append(Access(tag_action, resources[0]))
    for role in _roles(service, operation, params):
        out.append(Access("iam:PassRole", role))
    out += [Access(a, key) for key in _restore_keys(service, operation, params, region) for a in _KEY_ACTIONS]
    out += [Access("kms:Decrypt", key) for key in _decrypt_keys(service, operation, params, region)]
    return tuple(out)


def _customer_key(key: str, region: str) -> list[str]:
    """[ARN] of `key` (id, ARN or alias) when it is a customer-managed key; AWS-managed keys need no grant."""
    from twin.account import backend

    kms = backend("kms", region)
    if not key:
        return []
    try:
        found = kms.keys.get(kms.get_key_id(key))  # an id or key ARN; aliases of AWS-managed keys are not stored
    except Exception:
        return []
    return [found.arn] if found is not None and found.key_manager == "CUSTOMER" else []


def _decrypt_keys(service: str, operation: str, params: dict[str, Any], region: str) -> list[str]:
    """The customer-managed key a read of a secret value decrypts with, on the caller's behalf (kms:ViaService)."""
    from twin.account import backend

    if service == "secretsmanager" and operation == "GetSecretValue":
        secret = backend("secretsmanager", region).secrets.get(str(params.get("SecretId", "")))
        return _customer_key(str(getattr(secret, "kms_key_id", "") or ""), region)
    if service == "ssm" and operation == "GetParameter" and params.get("WithDecryption"):
        name = str(params.get("Name", ""))
        param = backend("ssm", region).get_parameter(name.split(":parameter", 1)[-1] if ":parameter/" in name else name)
        if param is not None and param.parameter_type == "SecureString":
            return _customer_key(str(param.keyid or ""), region)
    return []


# A restore of an instance encrypted with a customer-managed key: RDS creates a grant on the key
# for the new instance, on the caller's behalf (kms:ViaService rds), after describing it.
_KEY_ACTIONS = ("kms:DescribeKey", "kms:CreateGrant")


def _restore_keys(service: str, operation: str, params: dict[str, Any], region: str) -> list[str]:
    """The customer-managed key a restore encrypts with (the snapshot's, or the source instance's)."""
    if service != "rds" or not operation.startswith("RestoreDBInstance"):
        return []
    from twin.account import backend

    rds = backend("rds", region)
    source: Any = None
    if operation == "RestoreDBInstanceFromDBSnapshot":  # automated snapshot ids start "rds:" themselves
        snapshot = str(params.get("DBSnapshotIdentifier", ""))
        source = rds.database_snapshots.get(snapshot.split(":snapshot:", 1)[-1])
    else:
        source = rds.databases.get(str(params.get("SourceDBInstanceIdentifier", "")).rsplit(":", 1)[-1])
    return _customer_key(str(getattr(source, "kms_key_id", "") or ""), region)


def _members(params: dict[str, Any], name: str) -> list[str]:
    """Query-protocol lists: `Tags.member.1.Key=...` flattened keys."""
    return [k for k in params if k.startswith(f"{name}.member.") or k.startswith(f"{name}.Tag.")]


def _roles(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Roles a call hands to ECS tasks: what `iam:PassRole` is checked on."""
    if service != "ecs":
        return []
    if operation == "RegisterTaskDefinition":
        return [r for r in (params.get("taskRoleArn"), params.get("executionRoleArn")) if r]
    if operation == "RunTask":
        overrides = params.get("overrides") or {}
        return [r for r in (overrides.get("taskRoleArn"), overrides.get("executionRoleArn")) if r]
    return []


@dataclass(frozen=True)
class _Arns:
    service: str
    region: str
    account: str

    def arn(self, rest: str, service: str = "") -> str:
        return f"arn:aws:{service or self.service}:{self.region}:{self.account}:{rest}"

    def of(self, operation: str, p: dict[str, Any]) -> list[str]:
        fn = getattr(self, f"_{self.service.replace('-', '_')}", None)
        found = fn(operation, p) if fn is not None else None
        return found or ["*"]

    def _ecs(self, op: str, p: dict[str, Any]) -> list[str] | None:
        def name(v: str) -> str:
            return v.rsplit("/", 1)[-1]

        def cluster(v: str | None) -> str:
            return v if v and v.startswith("arn:") else self.arn(f"cluster/{v or 'default'}")

        def taskdef(v: str) -> str:
            return v if v.startswith("arn:") else self.arn(f"task-definition/{v if ':' in v else v + ':*'}")

        if op == "CreateCluster":
            return [cluster(p.get("clusterName"))]
        if op == "DeleteCluster":
            return [cluster(p.get("cluster"))]
        if op in ("CreateService", "UpdateService", "DeleteService"):
            svc = p.get("serviceName") or p.get("service") or ""
            return [svc if svc.startswith("arn:") else self.arn(f"service/{name(cluster(p.get('cluster')))}/{svc}")]
        if op in ("RegisterTaskDefinition",):
            return [self.arn(f"task-definition/{p.get('family', '')}:*")]
        if op in ("DeregisterTaskDefinition", "RunTask"):
            return [taskdef(p.get("taskDefinition", ""))]
        if op == "DeleteTaskDefinitions":
            return [taskdef(t) for t in p.get("taskDefinitions", [])]
        if op == "StopTask":
            task = p.get("task", "")
            return [task if task.startswith("arn:") else self.arn(f"task/{name(cluster(p.get('cluster')))}/{task}")]
        if op in ("TagResource", "UntagResource"):
            return [p.get("resourceArn", "*")]
        return None

    def _elasticloadbalancing(self, op: str, p: dict[str, Any]) -> list[str] | None:
        if op == "CreateLoadBalancer":
            return [self.arn(f"loadbalancer/app/{p.get('Name', '')}/new")]
        if op == "CreateTargetGroup":
            return [self.arn(f"targetgroup/{p.get('Name', '')}/new")]
        if op in ("AddTags", "RemoveTags"):
            return [v for k, v in sorted(p.items()) if k.startswith("ResourceArns.member.")]
        if op.startswith(("Create", "Delete", "Modify", "Register", "Deregister", "Set")):
            for key in ("RuleArn", "ListenerArn", "TargetGroupArn", "LoadBalancerArn"):
                if p.get(key):
                    return [p[key]]
        return None

    def _rds(self, op: str, p: dict[str, Any]) -> list[str] | None:
        def db(v: str) -> str:
            return v if v.startswith("arn:") else self.arn(f"db:{v}")

        if op == "RestoreDBInstanceFromDBSnapshot":
            snap = p.get("DBSnapshotIdentifier", "")
            snap_arn = snap if snap.startswith("arn:") else self.arn(f"snapshot:{snap}")
            return [db(p.get("DBInstanceIdentifier", "")), snap_arn]
        if op == "RestoreDBInstanceToPointInTime":
            out = [db(p.get("TargetDBInstanceIdentifier", ""))]
            if p.get("SourceDBInstanceIdentifier"):
                out.append(db(p["SourceDBInstanceIdentifier"]))
            return out
        if op in ("DeleteDBInstance", "ModifyDBInstance", "RebootDBInstance", "CreateDBSnapshot"):
            return [db(p.get("DBInstanceIdentifier", ""))]
        if op in ("AddTagsToResource", "RemoveTagsFromResource"):
            return [p.get("ResourceName", "*")]
        return None

    def _logs(self, op: str, p: dict[str, Any]) -> list[str] | None:
        group = p.get("logGroupName")
        if group and not op.startswith(("Describe", "Filter")):
            return [self.arn(f"log-group:{group}")]
        if op in ("TagResource", "UntagResource"):
            return [p.get("resourceArn", "*")]
        return None

    def _secretsmanager(self, op: str, p: dict[str, Any]) -> list[str] | None:
        # A bare name stands for the secret's ARN (which AWS completes with six random characters).
        secret = p.get("SecretId")
        if secret:
            return [secret if secret.startswith("arn:") else self.arn(f"secret:{secret}")]
        return None

    def _ssm(self, op: str, p: dict[str, Any]) -> list[str] | None:
        name = p.get("Name") or (p.get("ResourceId") if op == "AddTagsToResource" else None)
        if name and not op.startswith("Describe"):
            return [name if name.startswith("arn:") else self.arn(f"parameter/{name.lstrip('/')}")]
        return None


# S3: (method, query marker) -> IAM action, bucket level and object level.
_S3_BUCKET = {
    "GET": {
        "versioning": "GetBucketVersioning",
        "replication": "GetReplicationConfiguration",
        "encryption": "GetEncryptionConfiguration",
        "lifecycle": "GetLifecycleConfiguration",
        "policy": "GetBucketPolicy",
        "location": "GetBucketLocation",
        "tagging": "GetBucketTagging",
        "acl": "GetBucketAcl",
        "cors": "GetBucketCORS",
        "logging": "GetBucketLogging",
        "versions": "ListBucketVersions",
        "uploads": "ListBucketMultipartUploads",
        "publicAccessBlock": "GetBucketPublicAccessBlock",
        "ownershipControls": "GetBucketOwnershipControls",
        "object-lock": "GetBucketObjectLockConfiguration",
        "notification": "GetBucketNotification",
        "website": "GetBucketWebsite",
        "accelerate": "GetAccelerateConfiguration",
        "requestPayment": "GetBucketRequestPayment",
        "": "ListBucket",
    },
    "HEAD": {"": "ListBucket"},
    "PUT": {
        "versioning": "PutBucketVersioning",
        "replication": "PutReplicationConfiguration",
        "encryption": "PutEncryptionConfiguration",
        "lifecycle": "PutLifecycleConfiguration",
        "policy": "PutBucketPolicy",
        "tagging": "PutBucketTagging",
        "acl": "PutBucketAcl",
        "cors": "PutBucketCORS",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "ownershipControls": "PutBucketOwnershipControls",
        "notification": "PutBucketNotification",
        "": "CreateBucket",
    },
    "DELETE": {
        "policy": "DeleteBucketPolicy",
        "tagging": "PutBucketTagging",
        "lifecycle": "PutLifecycleConfiguration",
        "encryption": "PutEncryptionConfiguration",
        "replication": "PutReplicationConfiguration",
        "cors": "PutBucketCORS",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "": "DeleteBucket",
    },
    "POST": {"delete": "DeleteObject", "": "PutObject"},
}


def _s3(method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[Access, ...]:
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return (Access("s3:ListAllMyBuckets", "*"),)
    if not key:
        table = _S3_BUCKET.get(method, {})
        action = next((a for marker, a in table.items() if marker and marker in query), table.get("", method))
        if method == "GET" and "encryption" not in query and "versions" in query:
            action = "ListBucketVersions"
        return (Access(f"s3:{action}", f"arn:aws:s3:::{bucket}"),)
    arn = f"arn:aws:s3:::{bucket}/{key}"
    version = "versionId" in query
    if method in ("GET", "HEAD"):
        if "tagging" in query:
            action = "GetObjectVersionTagging" if version else "GetObjectTagging"
        elif "acl" in query:
            action = "GetObjectVersionAcl" if version else "GetObjectAcl"
        elif "attributes" in query:
            action = "GetObjectVersionAttributes" if version else "GetObjectAttributes"
        elif "uploadId" in query:
            action = "ListMultipartUploadParts"
        else:
            action = "GetObjectVersion" if version else "GetObject"
        return (Access(f"s3:{action}", arn),)
    if method == "DELETE":
        if "uploadId" in query:
            return (Access("s3:AbortMultipartUpload", arn),)
        if "tagging" in query:
            return (Access("s3:DeleteObjectVersionTagging" if version else "s3:DeleteObjectTagging", arn),)
        return (Access("s3:DeleteObjectVersion" if version else "s3:DeleteObject", arn),)
    if method == "PUT" and "tagging" in query:
        return (Access("s3:PutObjectTagging", arn),)
    out = [Access("s3:PutObject", arn)]  # PUT, copies, parts, multipart create/complete
    source = headers.get("x-amz-copy-source", "")
    if source:
        src, _, qs = source.lstrip("/").partition("?")
        out.append(Access("s3:GetObjectVersion" if "versionId=" in qs else "s3:GetObject", f"arn:aws:s3:::{src}"))
    return tuple(out)


@cache
def _rest_routes(service: str) -> tuple[tuple[str, str, str], ...]:
    """(method, path regex, operation) of a REST service's botocore models, most specific first."""
    import re

    import botocore.session

    names = {"es": ("opensearch", "es")}.get(service, (service,))
    session = botocore.session.get_session()
    routes: list[tuple[str, str, str]] = []
    for name in names:
        try:
            model = session.get_service_model(name)
        except Exception:  # no model of that name in this botocore
            continue
        for op in model.operation_names:
            http = model.operation_model(op).http
            template = http.get("requestUri", "/").split("?", 1)[0]
            rx = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(template))
            rx = re.sub(r"\\\{[^}]+\\\}", "[^/]+", rx)
            routes.append((http.get("method", "GET"), f"^{rx}/?$", op))
    routes.sort(key=lambda r: -len(r[1]))
    return tuple(routes)


def rest_operation(service: str, method: str, path: str) -> str:
    import re

    for m, rx, op in _rest_routes(service):
        if m == method and re.match(rx, path):
            return op
    return ""
