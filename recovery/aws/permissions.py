"""AccessDenied, from any client of the suite, becomes one `PermissionMissing` line.

Good: an operator whose role lacks an action reads which action, on which resource, and the
policy file in `policies/` to add it to (or to attach), never a raw botocore traceback.

How: a `before-parameter-build` handler keeps the call's parameters in the request context and
an `after-call` handler (botocore emits it before raising the ClientError) raises
`PermissionMissing` instead. The action and resource come from AWS's own message ("... is not
authorized to perform: ecs:CreateCluster on resource: arn:...") when it has one; otherwise
(S3 HEAD answers a bare 403) from the operation and its parameters.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from recovery.errors import PermissionMissing
from recovery.policies import iam_action, policy_file_for

DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "AuthorizationError"}
)
_PARAMS = "turath_params"
_PERFORM = re.compile(r"not authorized to perform:? (?P<action>[A-Za-z0-9-]+:[A-Za-z0-9*]+)")
_RESOURCE = re.compile(r" on resource:? \"?(?P<resource>[^\"\s]+?)\"?(?: because|\s|$)")
_PRINCIPAL = re.compile(r"User: (?P<principal>\S+) is not authorized")
# Parameters that name what a call is about, in the order they are most telling.
_NAMES = (
    "ResourceArn",
    "resourceArn",
    "LoadBalancerArn",
    "ListenerArn",
    "TargetGroupArn",
    "RuleArn",
    "DBInstanceIdentifier",
    "TargetDBInstanceIdentifier",
    "DBSnapshotIdentifier",
    "DomainName",
    "Name",
    "logGroupName",
    "cluster",
    "clusterName",
    "service",
    "serviceName",
    "family",
    "taskDefinition",
    "CacheClusterId",
    "Names",
)


def install(client: Any, mode: str) -> Any:
    """Register the handlers on one client (`mode`: "health" or "drill", for the file to name)."""
    client.meta.events.register("before-parameter-build", _keep_params)
    client.meta.events.register("after-call", partial(_raise_if_denied, client=client, mode=mode))
    return client


def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context[_PARAMS] = dict(params)


def _raise_if_denied(
    http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], client: Any, mode: str, **_: Any
) -> None:
    status = getattr(http_response, "status_code", 200)
    if status < 400:
        return
    error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
    code = str(error.get("Code", ""))
    if code not in DENIED and not (status == 403 and code in ("403", "Forbidden")):
        return
    raise denied(
        client.meta.service_model.signing_name,
        model.name,
        context.get(_PARAMS, {}),
        str(error.get("Message", "")),
        mode,
    )


def denied(
    signing_name: str, operation: str, params: dict[str, Any], message: str, mode: str, service: str = ""
) -> PermissionMissing:
    """The PermissionMissing for a refused call (AWS's message first, the call's own names after)."""
    m = _PERFORM.search(message)
    action = m.group("action") if m else iam_action(signing_name, operation, service)
    r = _RESOURCE.search(message)
    resource = r.group("resource") if r else resource_of(signing_name, params)
    p = _PRINCIPAL.search(message)
    file, granted = policy_file_for(action, resource, mode)
    return PermissionMissing(action, resource, file, granted=granted, principal=p.group("principal") if p else "")


def resource_of(signing_name: str, params: dict[str, Any]) -> str:
    """Best name of what a call is about, from its parameters ("*" if it names nothing)."""
    if signing_name == "s3" and params.get("Bucket"):
        key = params.get("Key")
        return f"arn:aws:s3:::{params['Bucket']}" + (f"/{key}" if key else "")
    for name in _NAMES:
        value = params.get(name)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str) and value:
            return value
    return "*"
