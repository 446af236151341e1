"""The drill's safety invariant, enforced on every AWS call its clients make.

Good: a drill client may read anything, and may change only what this drill created. A
mutating call (anything not Describe/List/Get/Head/...) must name only drill-named targets
for this drill id; otherwise it is refused before it leaves the process, with `UnsafeCall`.

How: `before-parameter-build` keeps the caller's parameters in the request context, and a
`before-call` handler (the last event before botocore signs and sends) judges them. Which
parameters name the *target* is listed per operation, because some name a read-only source
(the production snapshot a restore reads, the production bucket a copy reads). For operations
not listed, every identifier-like parameter must be drill-owned, and a call with none is
refused: the guard fails closed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from recovery.drill.naming import DrillNames
from recovery.errors import RecoveryError

log = logging.getLogger(__name__)

READ_PREFIXES = ("Describe", "List", "Get", "Head", "Filter", "Search", "Lookup", "Select", "Check")

# (service, operation) -> parameters that name what the call changes.
TARGETS: dict[tuple[str, str], tuple[str, ...]] = {
    ("rds", "RestoreDBInstanceFromDBSnapshot"): ("DBInstanceIdentifier",),
    ("rds", "RestoreDBInstanceToPointInTime"): ("TargetDBInstanceIdentifier",),
    ("rds", "DeleteDBInstance"): ("DBInstanceIdentifier",),
    ("rds", "ModifyDBInstance"): ("DBInstanceIdentifier",),
    ("rds", "AddTagsToResource"): ("ResourceName",),
    ("ecs", "CreateCluster"): ("clusterName",),
    ("ecs", "DeleteCluster"): ("cluster",),
    ("ecs", "RegisterTaskDefinition"): ("family",),
    ("ecs", "DeregisterTaskDefinition"): ("taskDefinition",),
    ("ecs", "DeleteTaskDefinitions"): ("taskDefinitions",),
    ("ecs", "CreateService"): ("cluster", "serviceName", "taskDefinition"),
    ("ecs", "UpdateService"): ("cluster", "service", "taskDefinition"),
    ("ecs", "DeleteService"): ("cluster", "service"),
    ("ecs", "RunTask"): ("cluster", "taskDefinition"),
    ("ecs", "StopTask"): ("cluster", "task"),
    ("ecs", "TagResource"): ("resourceArn",),
    ("elbv2", "CreateLoadBalancer"): ("Name",),
    ("elbv2", "CreateTargetGroup"): ("Name",),
    ("elbv2", "CreateListener"): ("LoadBalancerArn",),
    ("elbv2", "CreateRule"): ("ListenerArn",),
    ("elbv2", "DeleteLoadBalancer"): ("LoadBalancerArn",),
    ("elbv2", "DeleteTargetGroup"): ("TargetGroupArn",),
    ("elbv2", "DeleteListener"): ("ListenerArn",),
    ("elbv2", "DeleteRule"): ("RuleArn",),
    ("elbv2", "AddTags"): ("ResourceArns",),
    ("s3", "CreateBucket"): ("Bucket",),
    ("s3", "DeleteBucket"): ("Bucket",),
    ("s3", "PutBucketTagging"): ("Bucket",),
    ("s3", "PutObject"): ("Bucket",),
    ("s3", "CopyObject"): ("Bucket",),  # CopySource is the production bucket, read only
    ("s3", "DeleteObject"): ("Bucket",),
    ("s3", "DeleteObjects"): ("Bucket",),
    # Managed copies of objects over 8 MiB are multipart: the parts land in the drill's bucket.
    ("s3", "CreateMultipartUpload"): ("Bucket",),
    ("s3", "UploadPartCopy"): ("Bucket",),  # CopySource is the production bucket, read only
    ("s3", "UploadPart"): ("Bucket",),
    ("s3", "CompleteMultipartUpload"): ("Bucket",),
    ("s3", "AbortMultipartUpload"): ("Bucket",),
    ("ssm", "PutParameter"): ("Name",),
    ("ssm", "DeleteParameter"): ("Name",),
    ("logs", "CreateLogGroup"): ("logGroupName",),
    ("logs", "DeleteLogGroup"): ("logGroupName",),
    ("logs", "PutRetentionPolicy"): ("logGroupName",),
}

# Identifier-like parameter names judged for operations not in TARGETS.
_IDENTIFIER_HINTS = ("Identifier", "Name", "Arn", "Bucket", "cluster", "service", "family", "task", "Id")


class UnsafeCall(RecoveryError):
    """The drill tried to change something it did not create; the call was not made."""

    def __init__(self, service: str, operation: str, targets: list[str], reason: str) -> None:
        shown = ", ".join(targets) or "no target identifier"
        super().__init__(
            f"refused {service}:{operation} on {shown}: {reason} (the drill changes only its own resources)"
        )
        self.service = service
        self.operation = operation
        self.targets = targets


@dataclass(frozen=True)
class Allowed:
    """One exact exception: `operation` of `service` may target `identifier` (e.g. the drill lock)."""

    service: str
    operation: str
    identifier: str


@dataclass(frozen=True)
class Call:
    """One call a guarded client made (or, in plan mode, would have made)."""

    service: str
    operation: str
    params: dict[str, Any]
    mutating: bool


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def targets_of(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    keys = TARGETS.get((service, operation))
    if keys is None:
        keys = tuple(k for k in params if any(h in k for h in _IDENTIFIER_HINTS))
    found: list[str] = []
    for key in keys:
        found.extend(_strings(params.get(key)))
    return found


class Guard:
    """Judges and records the calls of the clients it is installed on."""

    def __init__(
        self,
        names: DrillNames,
        allowed: Iterable[Allowed] = (),
        on_call: Callable[[Call], None] | None = None,
        read_only: bool = False,
    ) -> None:
        self.names = names
        self.read_only = read_only
        self.allowed = tuple(allowed)
        self.on_call = on_call
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def judge(self, service: str, operation: str, params: dict[str, Any]) -> None:
        """Raise UnsafeCall unless the call is a read or targets only this drill's resources."""
        if not is_mutating(operation):
            return
        targets = targets_of(service, operation, params)
        if self.read_only:
            raise UnsafeCall(service, operation, targets, "this drill client is read-only (plan mode)")
        if any(a.service == service and a.operation == operation and targets == [a.identifier] for a in self.allowed):
            return
        if not targets:
            raise UnsafeCall(service, operation, targets, "no target to prove drill ownership")
        foreign = [t for t in targets if not self.names.owns(t)]
        if foreign:
            raise UnsafeCall(service, operation, targets, f"not drill {self.names.drill_id}'s: {', '.join(foreign)}")

    def install(self, client: Any) -> Any:
        """Register the guard on a boto3 client (its own event emitter); returns the client."""
        service = client.meta.service_model.service_name  # "elbv2", "rds", "ecs", "s3", ...

        def keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["turath_params"] = dict(params)

        def before_call(model: Any, context: dict[str, Any], **_: Any) -> None:
            params = context.get("turath_params", {})
            call = Call(service, model.name, params, is_mutating(model.name))
            with self._lock:
                self.calls.append(call)
            self.judge(service, model.name, params)
            if self.on_call is not None:
                self.on_call(call)

        client.meta.events.register("before-parameter-build", keep_params, unique_id=f"turath-keep-{id(self)}")
        client.meta.events.register("before-call", before_call, unique_id=f"turath-guard-{id(self)}")
        return client

    def mutating_calls(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.mutating]
