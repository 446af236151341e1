"""Plan §3 and §4 step 2.4: services run, at desired count, settled, on the latest revision."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fixtures.meta import check
from recovery.aws import ecs as ecs_api
from recovery.aws.session import Aws
from recovery.settings import Settings

SERVICES_PARAM = "service"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if SERVICES_PARAM in metafunc.fixturenames:
        from fixtures.keys import SETTINGS_KEY

        services = metafunc.config.stash[SETTINGS_KEY].ecs_services
        metafunc.parametrize(SERVICES_PARAM, services, ids=list(services))


@check(
    "3",
    severity="high",
    remediation="aws ecs describe-services --cluster {ecs_cluster} --services {service} "
    "--query 'services[0].events[:5]'; aws logs tail {service_log_group} --since 10m",
)
def test_ecs_service_at_desired_count(
    service: str, ecs_services: dict[str, dict[str, Any]], settings: Settings, observed: Callable[[str], None]
) -> None:
    """The service is ACTIVE and runs as many tasks as it desires."""
    svc = ecs_services[service]
    assert svc.get("status") == "ACTIVE", f"{service} in {settings.ecs_cluster} is {svc.get('status')}"
    running, desired = svc.get("runningCount", 0), svc.get("desiredCount", 0)
    observed(f"{service} {svc.get('status')}, running {running} of {desired} desired")
    assert desired > 0, f"{service} in {settings.ecs_cluster} desires 0 tasks: it serves nothing"
    assert running >= desired, (
        f"{service} runs {running} of {desired} desired task(s) in {settings.ecs_cluster}; "
        f"latest event: {(svc.get('events') or [{}])[0].get('message', 'none')}"
    )


@check(
    "6.5",
    severity="high",
    remediation="aws logs tail {service_log_group} --since 5m; roll back to the previous deployment's revision: "
    "{rollback_service}",
)
def test_ecs_service_deployment_completed(
    service: str, ecs_services: dict[str, dict[str, Any]], settings: Settings, observed: Callable[[str], None]
) -> None:
    """Exactly one deployment, PRIMARY, rolloutState COMPLETED (not FAILED, not stuck IN_PROGRESS)."""
    deps = ecs_services[service].get("deployments", [])
    summary = ", ".join(
        f"{d.get('status')} {ecs_api.short(d.get('taskDefinition', '?'))} {d.get('rolloutState', '?')}"
        f" ({d.get('runningCount', 0)}/{d.get('desiredCount', 0)})"
        for d in deps
    )
    primary = next((d for d in deps if d.get("status") == "PRIMARY"), None)
    observed(f"{service} deployments: [{summary}]")
    assert primary is not None, f"{service} has no PRIMARY deployment: [{summary}]"
    previous = [ecs_api.short(d["taskDefinition"]) for d in deps if d is not primary and d.get("taskDefinition")]
    assert primary.get("rolloutState") == "COMPLETED", (
        f"Deployment stuck or failed: {service}'s deployment of "
        f"{ecs_api.short(primary.get('taskDefinition', '?'))} is {primary.get('rolloutState')}: "
        f"{primary.get('rolloutStateReason', '')} [{summary}]"
        + (f"; previous good revision: {previous[0]}" if previous else "")
    )
    assert len(deps) == 1, f"{service} has {len(deps)} deployments, the old one still draining: [{summary}]"


@check(
    "4.2.4",
    severity="critical",
    remediation="deploy the newest revision of the family (terraform apply registers a revision but does NOT "
    "deploy it, and --force-new-deployment alone restarts the revision the service already runs): {deploy_service}",
)
def test_ecs_service_runs_latest_revision(
    service: str,
    aws: Aws,
    running_task_definitions: dict[str, dict[str, Any]],
    settings: Settings,
    observed: Callable[[str], None],
) -> None:
    """The service runs the newest ACTIVE revision of its family (plan §7: apply is not a deployment)."""
    running = running_task_definitions[service]["taskDefinitionArn"]
    family, _ = ecs_api.family_and_revision(running)
    latest = ecs_api.latest_active_revision(aws.client("ecs"), family)
    observed(f"{service} runs {ecs_api.short(running)}; newest ACTIVE {ecs_api.short(latest)}")
    if running == latest:
        return
    changes = ecs_api.changed_settings(
        running_task_definitions[service],
        ecs_api.describe_task_definition(aws.client("ecs"), latest),
        settings.app_container,
    )
    raise AssertionError(
        f"{service} runs {ecs_api.short(running)} but {ecs_api.short(latest)} is registered: the new revision is "
        f"not deployed; it changes {', '.join(changes) or 'nothing in ' + settings.app_container}, which the next "
        "deployment (and a recovery, plan 4.2.3-4.2.4) rolls out: review them before deploying"
    )


@check(
    "3",
    severity="medium",
    remediation="set the image back to {expected_image} in the task definition and terraform apply; "
    "then {deploy_service}",
)
def test_ecs_service_image_expected(
    service: str,
    running_task_definitions: dict[str, dict[str, Any]],
    settings: Settings,
    observed: Callable[[str], None],
) -> None:
    """The app container runs the plan's image."""
    td = running_task_definitions[service]
    image = ecs_api.container_image(td, settings.app_container)
    observed(f"{service} runs {image}; expected {settings.expected_image}")
    assert image == settings.expected_image, (
        f"{service} ({ecs_api.short(td['taskDefinitionArn'])}) runs image {image}, expected {settings.expected_image}"
    )
