"""ECS: services, deployments and the task definitions they run (plan 2.5, 3, 4 step 2.4)."""

from __future__ import annotations

import json
from typing import Any

from recovery.errors import NotFound


def describe_services(ecs: Any, cluster: str, services: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """name -> service description (DescribeServices takes at most 10 a call); NotFound names the missing ones.

    An INACTIVE service (deleted) counts as missing.
    """
    found: dict[str, dict[str, Any]] = {}
    failures: list[dict[str, Any]] = []
    names = list(services)
    for i in range(0, len(names), 10):
        resp = ecs.describe_services(cluster=cluster, services=names[i : i + 10])
        found.update({s["serviceName"]: s for s in resp.get("services", []) if s.get("status") != "INACTIVE"})
        failures += resp.get("failures", [])
    missing = [s for s in services if s not in found] + [
        f["arn"].rsplit("/", 1)[-1] for f in failures if f.get("reason") == "MISSING"
    ]
    if missing:
        raise NotFound(f"ECS services not found in cluster {cluster}: {', '.join(sorted(set(missing)))}")
    return found


def cluster_exists(ecs: Any, cluster: str) -> bool:
    resp = ecs.describe_clusters(clusters=[cluster])
    return any(c.get("status") == "ACTIVE" for c in resp.get("clusters", []))


def describe_task_definition(ecs: Any, arn: str) -> dict[str, Any]:
    return dict(ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"])


def container_env(task_definition: dict[str, Any], container: str) -> dict[str, str] | None:
    """The environment of `container` as a dict, or None if the container does not exist."""
    for c in task_definition.get("containerDefinitions", []):
        if c.get("name") == container:
            return {e["name"]: e.get("value", "") for e in c.get("environment", [])}
    return None


def container_image(task_definition: dict[str, Any], container: str) -> str | None:
    for c in task_definition.get("containerDefinitions", []):
        if c.get("name") == container:
            return str(c.get("image"))
    return None


def changed_settings(before: dict[str, Any], after: dict[str, Any], container: str) -> list[str]:
    """Names of what `after` changes in `container` against `before`: its image, environment variables and
    secrets (added, removed or changed). Names only: values may be passwords."""

    def settings(td: dict[str, Any]) -> dict[str, str]:
        c: dict[str, Any] = next((c for c in td.get("containerDefinitions", []) if c.get("name") == container), {})
        found = {f"env {e['name']}": str(e.get("value", "")) for e in c.get("environment", [])}
        found.update({f"secret {s['name']}": str(s.get("valueFrom", "")) for s in c.get("secrets") or []})
        found["image"] = str(c.get("image", ""))
        return found

    old, new = settings(before), settings(after)
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def family_and_revision(arn: str) -> tuple[str, int]:
    """'arn:...:task-definition/web-ui:42' -> ('web-ui', 42)."""
    name = arn.rsplit("/", 1)[-1]
    family, _, rev = name.rpartition(":")
    return family, int(rev)


def latest_active_revision(ecs: Any, family: str) -> str:
    """ARN of the newest ACTIVE revision of a family (what `terraform apply` registered last)."""
    resp = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE", sort="DESC", maxResults=10)
    arns = [a for a in resp.get("taskDefinitionArns", []) if family_and_revision(a)[0] == family]
    if not arns:
        raise NotFound(f"no ACTIVE task definition revision in family {family}")
    return str(max(arns, key=lambda a: family_and_revision(a)[1]))


def short(arn: str) -> str:
    """'arn:...:task-definition/web-ui:42' -> 'web-ui:42'."""
    return arn.rsplit("/", 1)[-1]


def run_task_placement(service: dict[str, Any]) -> list[str]:
    """`aws ecs run-task` arguments that place a one-off task where the service runs: its capacity providers
    (or launch type) and its awsvpc network. ECS refuses an awsvpc task without a network configuration."""
    args: list[str] = []
    strategy = service.get("capacityProviderStrategy") or []
    if strategy:
        args += ["--capacity-provider-strategy"]
        args += [f"capacityProvider={s['capacityProvider']},weight={s.get('weight', 1)}" for s in strategy]
    else:
        args += ["--launch-type", service.get("launchType") or "FARGATE"]
    vpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if vpc:
        args += ["--network-configuration", json.dumps({"awsvpcConfiguration": vpc}, separators=(",", ":"))]
    return args
