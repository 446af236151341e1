"""Container settings delivered by reference: ECS `secrets` (Secrets Manager, SSM Parameter Store).

A task definition may deliver RDS_DB_PASSWORD and RDS_DB_HOST (plan 2.5) in `environment` or
in `secrets` as `{"name", "valueFrom"}`, which ECS reads with the task execution role when the
task starts. `valueFrom` is a Secrets Manager secret ARN, optionally followed by
`:json-key:version-stage:version-id` (each part may be empty), or an SSM parameter ARN or name
(ECS documentation, "Pass sensitive data to an Amazon ECS container"). The suite reads the same
references the tasks read (secretsmanager:GetSecretValue, ssm:GetParameter WithDecryption) and
registers every secret value it reads for redaction: values are compared, never shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from recovery.redaction import is_sensitive_key
from recovery.secrets import register

# The parts of a Secrets Manager secret ARN (arn:aws:secretsmanager:region:account:secret:name-AbCdEf).
_SECRET_ARN_PARTS = 7


@dataclass(frozen=True)
class Reference:
    """One `valueFrom`, parsed: where the value lives and which part of it the task gets."""

    service: str  # "secretsmanager" or "ssm"
    resource: str  # the secret ARN (without the JSON key part), or the parameter ARN/name
    json_key: str = ""
    version_stage: str = ""
    version_id: str = ""

    @classmethod
    def parse(cls, value_from: str) -> Reference:
        parts = value_from.split(":")
        if value_from.startswith("arn:") and len(parts) >= _SECRET_ARN_PARTS and parts[2] == "secretsmanager":
            extra = [*parts[_SECRET_ARN_PARTS:], "", "", ""]
            return cls("secretsmanager", ":".join(parts[:_SECRET_ARN_PARTS]), extra[0], extra[1], extra[2])
        return cls("ssm", value_from)

    def with_resource(self, resource: str) -> str:
        """The `valueFrom` that reads the same part of another secret or parameter."""
        if self.service == "ssm":
            return resource
        tail = ":".join((self.json_key, self.version_stage, self.version_id))
        return f"{resource}:{tail}" if tail.strip(":") else resource


@dataclass
class ContainerValues:
    """A container's settings as its tasks see them: `environment`, then `secrets` read through their references."""

    values: dict[str, str] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)  # name -> valueFrom, for the names delivered so
    unreadable: dict[str, str] = field(default_factory=dict)  # name -> why its reference could not be read

    def source(self, name: str) -> str:
        """Where a value comes from, for messages: 'environment' or the reference (never the value)."""
        return self.references.get(name, "environment")


def read(client: Callable[[str], Any], value_from: str) -> str:
    """The value a task gets for `value_from`; ClientError (NotFound, AccessDenied...) or KeyError propagate."""
    ref = Reference.parse(value_from)
    if ref.service == "ssm":
        value = str(client("ssm").get_parameter(Name=ref.resource, WithDecryption=True)["Parameter"]["Value"])
    else:
        params: dict[str, str] = {"SecretId": ref.resource}
        if ref.version_id:
            params["VersionId"] = ref.version_id
        if ref.version_stage:
            params["VersionStage"] = ref.version_stage
        value = str(client("secretsmanager").get_secret_value(**params).get("SecretString", ""))
        if ref.json_key:
            register(value)  # the whole secret (password among its keys) must not leak either
            value = str(json.loads(value)[ref.json_key])
    return value


def container_values(
    client: Callable[[str], Any], task_definition: dict[str, Any], container: str
) -> ContainerValues | None:
    """`container`'s environment and secrets as its tasks get them, or None if there is no such container.

    A reference that cannot be read (deleted secret, missing JSON key) is listed in `unreadable`:
    ECS would refuse to start the task (ResourceInitializationError). A missing permission is
    not the reference's fault and propagates (PermissionMissing names the policy file).
    """
    for c in task_definition.get("containerDefinitions", []):
        if c.get("name") != container:
            continue
        found = ContainerValues({e["name"]: e.get("value", "") for e in c.get("environment", [])})
        for s in c.get("secrets") or []:
            name, value_from = s["name"], s["valueFrom"]
            found.references[name] = value_from
            try:
                found.values[name] = read(client, value_from)
                if is_sensitive_key(name):
                    # Masked wherever evidence is written. A host is no secret, even when delivered
                    # like one: masking it would blind the messages that compare it.
                    register(found.values[name])
            except ClientError as exc:
                found.unreadable[name] = f"{exc.response.get('Error', {}).get('Code', 'error')} reading {value_from}"
            except (KeyError, ValueError):
                found.unreadable[name] = f"{value_from} names a JSON key its secret does not hold"
        return found
    return None
