"""Plan §2.5: the task definitions the services run carry the DB settings, consistently."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fixtures.meta import check
from recovery.aws import ecs as ecs_api
from recovery.aws import logs as logs_api
from recovery.aws.references import ContainerValues
from recovery.aws.session import Aws
from recovery.db import authenticates
from recovery.diagnosis import ENTRYPOINT
from recovery.secrets import Secret
from recovery.settings import Settings
from recovery.timeutil import as_utc, iso, utcnow

REQUIRED = ("RDS_DB_HOST", "RDS_DB_PASSWORD")
APPLY_AND_DEPLOY = "in the Terraform configuration's directory: terraform apply -auto-approve && {deploy_web_services}"


def _fingerprint(value: str) -> str:
    """A short digest to tell values apart in a message without showing them."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


@check("2.5", severity="critical", remediation=APPLY_AND_DEPLOY)
def test_ecs_task_definitions_carry_db_settings(
    running_task_definitions: dict[str, dict[str, Any]],
    running_container_values: dict[str, ContainerValues],
    observed: Callable[[str], None],
) -> None:
    """Every service's running task definition delivers RDS_DB_HOST and a non-empty RDS_DB_PASSWORD.

    Delivered in `environment` or through `secrets` (Secrets Manager, Parameter Store), read
    through the reference as the task's execution role would: a reference that cannot be read
    stops the tasks from starting (ResourceInitializationError).
    """
    problems = []
    for service, td in running_task_definitions.items():
        found = running_container_values[service]
        name = f"{service} runs {ecs_api.short(td['taskDefinitionArn'])}"
        unreadable = [f"{k} ({found.unreadable[k]})" for k in REQUIRED if k in found.unreadable]
        missing = [k for k in REQUIRED if not found.values.get(k) and k not in found.unreadable]
        if unreadable:
            problems.append(f"{name} whose tasks cannot start: unreadable {', '.join(unreadable)}")
        if missing:
            problems.append(f"{name} without {', '.join(missing)}")
        if not unreadable and not missing:
            sources = ", ".join(f"{k} from {found.source(k)}" for k in REQUIRED)
            observed(f"{service} ({ecs_api.short(td['taskDefinitionArn'])}): {sources}")
    assert not problems, "§6.1 symptom ahead (password authentication failed): " + "; ".join(problems)


@check("2.5", severity="high", remediation=APPLY_AND_DEPLOY)
def test_ecs_services_agree_on_db_settings(
    running_container_values: dict[str, ContainerValues], observed: Callable[[str], None]
) -> None:
    """All services point at the same DB host with the same password (compared by digest, wherever delivered)."""
    hosts: dict[str, list[str]] = {}
    passwords: dict[str, list[str]] = {}
    for service, found in running_container_values.items():
        hosts.setdefault(found.values.get("RDS_DB_HOST", "(unset)"), []).append(service)
        pw = found.values.get("RDS_DB_PASSWORD", "")
        passwords.setdefault(_fingerprint(pw) if pw else "(unset)", []).append(service)
    observed(f"{len(running_container_values)} service(s): {len(hosts)} DB host(s), {len(passwords)} password(s)")
    assert len(hosts) == 1, "services disagree on RDS_DB_HOST: " + "; ".join(
        f"{h} <- {', '.join(s)}" for h, s in hosts.items()
    )
    assert len(passwords) == 1, "services disagree on RDS_DB_PASSWORD (values not shown): " + "; ".join(
        f"password #{i + 1} <- {', '.join(s)}" for i, s in enumerate(passwords.values())
    )


@check(
    "2.5",
    severity="critical",
    remediation="point RDS_DB_HOST at the live endpoint in ecs-web-ui-service.tf and ecs-web-api-service.tf "
    "(aws rds describe-db-instances --db-instance-identifier {rds_instance} --query "
    "'DBInstances[0].Endpoint'), then " + APPLY_AND_DEPLOY,
)
def test_ecs_db_host_matches_rds_endpoint(
    running_task_definitions: dict[str, dict[str, Any]],
    running_container_values: dict[str, ContainerValues],
    rds_instance: dict[str, Any],
    settings: Settings,
    observed: Callable[[str], None],
) -> None:
    """RDS_DB_HOST of every running task definition is the live endpoint of the RDS instance."""
    endpoint = rds_instance.get("Endpoint") or {}
    address, port = endpoint.get("Address", ""), endpoint.get("Port", 5432)
    accepted = {address, f"{address}:{port}"}
    observed(f"{settings.rds_instance} endpoint {address}:{port}")
    wrong = []
    for service, td in running_task_definitions.items():
        found = running_container_values[service]
        host = found.values.get("RDS_DB_HOST", "(unset)")
        if host not in accepted:
            wrong.append(
                f"{service} ({ecs_api.short(td['taskDefinitionArn'])}) -> {host} (from {found.source('RDS_DB_HOST')})"
            )
    assert not wrong, (
        f"§6.4 symptom ahead (502 after restore): RDS_DB_HOST is not {settings.rds_instance}'s endpoint "
        f"{address}:{port}: " + "; ".join(wrong)
    )


@check(
    "6.1",
    severity="critical",
    remediation="plan §6.1: terraform console <<< 'random_password.rds_master_password.result' (compare, do not "
    "paste), then " + APPLY_AND_DEPLOY,
)
def test_ecs_db_password_authenticates(
    running_task_definitions: dict[str, dict[str, Any]],
    running_container_values: dict[str, ContainerValues],
    db_endpoint: Any,
    settings: Settings,
    observed: Callable[[str], None],
) -> None:
    """The RDS_DB_PASSWORD every service runs with opens a session on the production database."""
    failures = []
    for service, td in running_task_definitions.items():
        found = running_container_values[service]
        if not found.values.get("RDS_DB_PASSWORD"):
            continue  # reported by ecs_task_definitions_carry_db_settings
        secret = Secret(found.values["RDS_DB_PASSWORD"])
        error = authenticates(db_endpoint.host, db_endpoint.user, secret, db_endpoint.dbname)
        if error:
            source = found.source("RDS_DB_PASSWORD")
            failures.append(
                f"{service} runs {ecs_api.short(td['taskDefinitionArn'])} (password from {source}): {error}"
            )
        else:
            observed(f"{service}'s password opens a session on {db_endpoint.host}")
    assert not failures, (
        f"Password authentication failed against {settings.rds_instance} ({db_endpoint.host}) for the password "
        "the tasks run with (value not shown): " + "; ".join(failures)
    )


@check(
    "6.3",
    severity="high",
    remediation="remove the entryPoint override of container {app_container} in the task definitions so the "
    "image's own ENTRYPOINT (/usr/local/bin/resolve-db-uri.sh) runs (terraform apply), then "
    + APPLY_AND_DEPLOY
    + "; run one-off CLI commands as ECS tasks of that definition (command override only) so the entrypoint "
    "builds INVENIO_SQLALCHEMY_DATABASE_URI",
)
def test_ecs_task_definitions_keep_db_entrypoint(
    aws: Aws,
    ecs_services: dict[str, dict[str, Any]],
    running_task_definitions: dict[str, dict[str, Any]],
    settings: Settings,
    observed: Callable[[str], None],
) -> None:
    """Every service's app container starts through resolve-db-uri.sh, judged by evidence.

    Evidence: the task definition (no entryPoint is the image's own ENTRYPOINT, the script, plan
    §2.5) and the entrypoint's log lines of the running tasks. It fails only when what runs is
    shown to bypass the script: an entryPoint that replaces the image's and does not run it
    itself (then every one-off command override skips it, plan §6.3), or a running service whose
    tasks logged that the entrypoint failed. The plan's "CLI commands read config files directly"
    is not the mechanism: InvenioRDM reads INVENIO_* variables everywhere; the trap is an entrypoint
    that builds the URI at start-up, which `ecs execute-command` shells and replaced entryPoints skip.
    """
    problems = []
    for service, td in running_task_definitions.items():
        container = next((c for c in td.get("containerDefinitions", []) if c.get("name") == settings.app_container), {})
        name = f"{service} ({ecs_api.short(td['taskDefinitionArn'])})"
        env = {e["name"] for e in [*container.get("environment", []), *(container.get("secrets") or [])]}
        entry = list(container.get("entryPoint") or [])
        verdict = entrypoint_verdict(entry, list(container.get("command") or []))
        if "INVENIO_SQLALCHEMY_DATABASE_URI" in env:
            observed(f"{name}: sets INVENIO_SQLALCHEMY_DATABASE_URI itself (no entrypoint needed)")
        elif verdict:
            problems.append(f"{name} {verdict}")
        else:
            observed(f"{name}: entryPoint {json.dumps(entry) if entry else 'image default (resolve-db-uri.sh)'}")
        group = logs_api.container_log_group(container)
        if not group:
            observed(f"{name}: no awslogs group configured, no log evidence")
            continue
        since = logs_api.deployment_start(ecs_services.get(service, {}), settings.log_window_minutes)
        lines = logs_api.matching(
            logs_api.events_since(aws.client("logs"), group, since, logs_api.ENTRYPOINT_TAG), logs_api.ENTRYPOINT_TAG
        )
        if lines:
            observed(f"{name}: the script ran: {str(lines[-1].get('message', ''))[:100]} ({group})")
        elif (
            not entry
            and _started_within(ecs_services.get(service, {}), settings.log_window_minutes)
            and (logged := logs_api.events_since(aws.client("logs"), group, since, limit=100))
        ):
            # The tasks started inside the window and logged, but never through the script: the
            # image's own ENTRYPOINT is not resolve-db-uri.sh (a rebuilt or different image).
            problems.append(
                f"{name}'s tasks started after {iso(since)} and logged {len(logged)}{'+' * (len(logged) == 100)} "
                f"line(s) in {group}, none from {ENTRYPOINT}: the image's entrypoint does not run it"
            )
        else:
            observed(f"{name}: no [resolve-db-uri] line in {group} since {iso(since)} (no evidence either way)")
    assert not problems, (
        "CLI commands will fail inside containers: what runs bypasses resolve-db-uri.sh, so one-off commands "
        "(and `ecs execute-command` shells) get no INVENIO_SQLALCHEMY_DATABASE_URI and fall back to localhost: "
        + "; ".join(problems)
    )


def _started_within(service: dict[str, Any], minutes: int) -> bool:
    """Whether the service's PRIMARY deployment began in the last `minutes` (its tasks' start lines are in view:
    older ones may have left the log group's retention)."""
    primary = next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})
    created = primary.get("createdAt")
    return created is not None and as_utc(created) >= utcnow() - timedelta(minutes=minutes)


def entrypoint_verdict(entry: list[str], command: list[str]) -> str:
    """Why `entry` + `command` bypass the script for one-off commands ('' when they do not)."""
    if not entry or any(ENTRYPOINT in part for part in entry):
        return ""
    if ENTRYPOINT in " ".join(command):
        return (
            f"replaces the image's entrypoint with {json.dumps(entry)}; only its command {json.dumps(command)} "
            f"calls {ENTRYPOINT}, and a one-off task's command override replaces exactly that"
        )
    return f"replaces the image's entrypoint with {json.dumps(entry)}, which never runs {ENTRYPOINT}"
