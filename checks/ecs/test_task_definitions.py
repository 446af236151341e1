"""Plan §2.5: the task definitions the services run carry the DB settings, consistently."""

from __future__ import annotations

import hashlib
from typing import Any

from fixtures.meta import check
from recovery.aws import ecs as ecs_api
from recovery.db import authenticates
from recovery.secrets import Secret
from recovery.settings import Settings

REQUIRED = ("RDS_DB_HOST", "RDS_DB_PASSWORD")
APPLY_AND_DEPLOY = "in the Terraform configuration's directory: terraform apply -auto-approve && {deploy_web_services}"


def _env(tds: dict[str, dict[str, Any]], service: str, container: str) -> dict[str, str]:
    env = ecs_api.container_env(tds[service], container)
    assert env is not None, f"{ecs_api.short(tds[service]['taskDefinitionArn'])} has no container named {container!r}"
    return env


def _fingerprint(value: str) -> str:
    """A short digest to tell values apart in a message without showing them."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


@check("2.5", severity="critical", remediation=APPLY_AND_DEPLOY)
def test_ecs_task_definitions_carry_db_settings(
    running_task_definitions: dict[str, dict[str, Any]], settings: Settings
) -> None:
    """Every service's running task definition has RDS_DB_HOST and a non-empty RDS_DB_PASSWORD."""
    problems = []
    for service, td in running_task_definitions.items():
        env = _env(running_task_definitions, service, settings.app_container)
        missing = [k for k in REQUIRED if not env.get(k)]
        if missing:
            problems.append(f"{service} runs {ecs_api.short(td['taskDefinitionArn'])} without {', '.join(missing)}")
    assert not problems, "§6.1 symptom ahead (password authentication failed): " + "; ".join(problems)


@check("2.5", severity="high", remediation=APPLY_AND_DEPLOY)
def test_ecs_services_agree_on_db_settings(
    running_task_definitions: dict[str, dict[str, Any]], settings: Settings
) -> None:
    """All services point at the same DB host with the same password."""
    hosts: dict[str, list[str]] = {}
    passwords: dict[str, list[str]] = {}
    for service in running_task_definitions:
        env = _env(running_task_definitions, service, settings.app_container)
        hosts.setdefault(env.get("RDS_DB_HOST", "(unset)"), []).append(service)
        pw = env.get("RDS_DB_PASSWORD", "")
        passwords.setdefault(_fingerprint(pw) if pw else "(unset)", []).append(service)
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
    running_task_definitions: dict[str, dict[str, Any]], rds_instance: dict[str, Any], settings: Settings
) -> None:
    """RDS_DB_HOST of every running task definition is the live endpoint of the RDS instance."""
    endpoint = rds_instance.get("Endpoint") or {}
    address, port = endpoint.get("Address", ""), endpoint.get("Port", 5432)
    accepted = {address, f"{address}:{port}"}
    wrong = []
    for service, td in running_task_definitions.items():
        host = _env(running_task_definitions, service, settings.app_container).get("RDS_DB_HOST", "(unset)")
        if host not in accepted:
            wrong.append(f"{service} ({ecs_api.short(td['taskDefinitionArn'])}) -> {host}")
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
    running_task_definitions: dict[str, dict[str, Any]], db_endpoint: Any, settings: Settings
) -> None:
    """The RDS_DB_PASSWORD every service runs with opens a session on the production database."""
    failures = []
    for service, td in running_task_definitions.items():
        env = _env(running_task_definitions, service, settings.app_container)
        if not env.get("RDS_DB_PASSWORD"):
            continue  # reported by ecs_task_definitions_carry_db_settings
        error = authenticates(db_endpoint.host, db_endpoint.user, Secret(env["RDS_DB_PASSWORD"]), db_endpoint.dbname)
        if error:
            failures.append(f"{service} runs {ecs_api.short(td['taskDefinitionArn'])}: {error}")
    assert not failures, (
        f"Password authentication failed against {settings.rds_instance} ({db_endpoint.host}) for the password "
        "the tasks run with (value not shown): " + "; ".join(failures)
    )


@check(
    "6.3",
    severity="high",
    remediation='restore entryPoint ["/usr/local/bin/resolve-db-uri.sh"] for container {app_container} in the '
    "task definitions (terraform apply), then " + APPLY_AND_DEPLOY + "; run one-off CLI commands as ECS tasks of "
    "that definition (command override only) so the entrypoint builds INVENIO_SQLALCHEMY_DATABASE_URI",
)
def test_ecs_task_definitions_keep_db_entrypoint(
    running_task_definitions: dict[str, dict[str, Any]], settings: Settings
) -> None:
    """Every service's app container starts through resolve-db-uri.sh, or sets the DB URI itself.

    The plan's §6.3 says CLI commands "read config files directly"; in fact InvenioRDM reads
    INVENIO_* variables everywhere, and the trap is an entrypoint that builds the URI at start-up:
    anything that skips it (ecs execute-command shells, a replaced entryPoint) has no database.
    """
    problems = []
    for service, td in running_task_definitions.items():
        container = next((c for c in td.get("containerDefinitions", []) if c.get("name") == settings.app_container), {})
        entry = container.get("entryPoint") or []
        env = {e["name"] for e in container.get("environment", [])}
        if not any("resolve-db-uri" in part for part in entry) and "INVENIO_SQLALCHEMY_DATABASE_URI" not in env:
            problems.append(
                f"{service} ({ecs_api.short(td['taskDefinitionArn'])}) entryPoint={entry or 'image default'}"
            )
    assert not problems, (
        "CLI commands will fail inside containers: no resolve-db-uri.sh entrypoint and no "
        "INVENIO_SQLALCHEMY_DATABASE_URI, so the app and one-off tasks fall back to localhost: " + "; ".join(problems)
    )
