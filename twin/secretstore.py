"""ECS `secrets` in the twin: what the task execution role reads when a task starts.

ECS reads every `valueFrom` (Secrets Manager secret, optionally one JSON key of it, or an SSM
parameter) before the container starts; one that cannot be read stops the task with
`ResourceInitializationError: unable to pull secrets or registry auth ...`, and the container
never runs. The twin reads moto's backends directly (the agent runs inside the server).

`store_like` writes a value where a reference of the same kind can point at it: how an
operator (or a fault) gives one service a different secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from recovery.aws.references import Reference
from twin.account import ACCOUNT_ID, backend, tag_list


class SecretsUnavailable(Exception):
    """The task cannot start: one of its references cannot be read (the message is ECS's)."""


def _secretsmanager(region: str) -> Any:
    return backend("secretsmanager", region)


def _ssm(region: str) -> Any:
    return backend("ssm", region)


def read(value_from: str, region: str) -> str:
    """The value ECS injects for `value_from`, or SecretsUnavailable with ECS's stopped reason."""
    ref = Reference.parse(value_from)
    prefix = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed"
    if ref.service == "ssm":
        name = ref.resource.split(":parameter", 1)[-1] if ref.resource.startswith("arn:") else ref.resource
        try:
            param = _ssm(region).get_parameter(name)
        except Exception:  # moto raises for malformed names and versions
            param = None
        if param is None:
            raise SecretsUnavailable(
                f"{prefix}: unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
                f"invalid ssm parameters: {name}"
            )
        return str(param.value)
    try:
        found = _secretsmanager(region).get_secret_value(
            ref.resource, ref.version_id or None, ref.version_stage or None
        )
        text = str(found.get("SecretString") or "")
    except Exception:  # moto's SecretNotFoundException, ResourceNotFound for a deleted one
        raise SecretsUnavailable(
            f"{prefix}: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to "
            f"fetch secret {ref.resource} from secrets manager: ResourceNotFoundException: Secrets Manager can't "
            "find the specified secret."
        ) from None
    if not ref.json_key:
        return text
    try:
        return str(json.loads(text)[ref.json_key])
    except (ValueError, KeyError, TypeError):
        raise SecretsUnavailable(
            f"{prefix}: unable to retrieve secret from asm: retrieved secret from Secrets Manager did not contain "
            f"json key {ref.json_key}"
        ) from None


def resolve(container: Mapping[str, Any], region: str) -> dict[str, str]:
    """The container's environment as its process sees it: `environment`, then `secrets` read.

    A name in both: the secret is applied last and wins, the pessimistic reading (it is the one
    that would send a drill's task to production's database).
    """
    env = {e["name"]: e.get("value", "") for e in container.get("environment") or []}
    for s in container.get("secrets") or []:
        env[s["name"]] = read(s["valueFrom"], region)
    return env


def store_like(value_from: str, name: str, value: str, region: str, client: Any) -> str:
    """A new secret or parameter of the same kind as `value_from` holding `value`; its `valueFrom`.

    `client(service)` is the twin's admin client: the value is written through the API.
    """
    ref = Reference.parse(value_from)
    if ref.service == "ssm":
        param = _ssm(region).get_parameter(ref.resource.split(":parameter", 1)[-1])
        path = "/" + name.lstrip("/")  # a hierarchy, like the parameter it stands in for
        client("ssm").put_parameter(
            Name=path, Value=value, Type=getattr(param, "parameter_type", "SecureString"), Tags=tag_list()
        )
        return f"arn:aws:ssm:{region}:{ACCOUNT_ID}:parameter{path}"
    body = json.dumps({ref.json_key: value}) if ref.json_key else value
    arn = client("secretsmanager").create_secret(Name=name, SecretString=body, Tags=tag_list())["ARN"]
    return ref.with_resource(str(arn))
