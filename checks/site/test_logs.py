"""Plan §5.1 log checks: the entrypoint resolved the DB URI; no password failures (§6.1).

Production's log groups under `-m health`; those of the drill's web task definitions under
`-m drill` (plan §4 step 5).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fixtures.meta import BOTH_MODES, check
from recovery import diagnosis
from recovery.aws import ecs as ecs_api
from recovery.aws import logs as logs_api
from recovery.aws.session import Aws
from recovery.environment import Environment, production, service_log_group
from recovery.settings import Settings
from recovery.timeutil import as_utc, human_age, iso, utcnow

TAIL = "aws logs tail {log_group} --since {log_window_minutes}m | grep resolve-db-uri"
# A log check without its group has no evidence either way; the group is logs_web_log_groups_receive_events' fix.
GROUP_FIRST = (
    "nothing to read in {groups}: apply the fix of logs_web_log_groups_receive_events first (it names where the "
    "tasks log, or creates the group and restarts the services logging there), then run this check again"
)


def _window_start(aws: Aws, settings: Settings, environment: Environment) -> datetime:
    """Since the web-ui tasks started (their PRIMARY deployment), or the configured window."""
    start = utcnow() - timedelta(minutes=settings.log_window_minutes)
    web = environment.web_services[:1]
    if not web:
        return start
    svc = ecs_api.describe_services(aws.client("ecs"), environment.cluster, web)[web[0]]
    for dep in svc.get("deployments", []):
        if dep.get("status") == "PRIMARY" and dep.get("createdAt"):
            start = min(start, as_utc(dep["createdAt"]) - timedelta(minutes=1))
    return start


@check("5.1", severity="high", remediation=TAIL + "; if the ERROR line shows, plan §6.1 step 2-3", modes=BOTH_MODES)
def test_logs_resolve_db_uri_succeeded(
    aws: Aws,
    settings: Settings,
    environment: Environment,
    observed: Callable[[str], None],
    remedy: Callable[..., None],
) -> None:
    """The newest resolve-db-uri line of the running web-ui tasks is 'DB URI resolved successfully'."""
    since = _window_start(aws, settings, environment)
    group = environment.log_group
    exists = logs_api.describe_group(aws.client("logs"), group) is not None
    if not exists:
        remedy(GROUP_FIRST, groups=group)
    assert exists, (
        f"log group {group} does not exist: no evidence either way (TURATH_LOG_GROUP misnamed, or the tasks log "
        "elsewhere: see logs_web_log_groups_receive_events)"
    )
    events = logs_api.events_since(aws.client("logs"), group, since, logs_api.ENTRYPOINT_TAG)
    lines = logs_api.matching(events, logs_api.ENTRYPOINT_TAG)
    assert lines, f"no [resolve-db-uri] line in {group} since {iso(since)}: tasks did not start"
    last = lines[-1]["message"]
    observed(f"{len(lines)} [resolve-db-uri] line(s) in {group} since {iso(since)}; newest: {last[:100]}")
    assert logs_api.SUCCESS in last, f"the newest entrypoint line in {group} is: {last}"


@check(
    "6.1",
    severity="critical",
    remediation="plan §6.1: compare the password in Terraform state with the task definition "
    "(terraform console <<< 'random_password.rds_master_password.result'), then terraform apply -auto-approve "
    "&& {deploy_web_services}",
    modes=BOTH_MODES,
)
def test_logs_no_password_failures(
    aws: Aws,
    settings: Settings,
    environment: Environment,
    observed: Callable[[str], None],
    remedy: Callable[..., None],
) -> None:
    """No 'password authentication failed' in the web log groups within the window."""
    since = utcnow() - timedelta(minutes=settings.log_window_minutes)
    found = {}
    groups = sorted(set(environment.log_groups.values()))
    missing = logs_api.missing_groups(aws.client("logs"), groups)
    if missing:
        remedy(GROUP_FIRST, groups=", ".join(missing))
    assert not missing, (
        f"log group(s) {', '.join(missing)} do not exist: password failures cannot be seen (TURATH_LOG_GROUP "
        "misnamed, or the tasks log elsewhere: see logs_web_log_groups_receive_events)"
    )
    for group in groups:
        events = logs_api.events_since(aws.client("logs"), group, since, logs_api.PASSWORD_FAILED)
        hits = logs_api.matching(events, logs_api.PASSWORD_FAILED)
        observed(
            f"{group}: {len(hits)} '{logs_api.PASSWORD_FAILED}' line(s) in the last {settings.log_window_minutes} min"
        )
        if hits:
            found[group] = hits
    assert not found, "Password authentication failed: " + "; ".join(
        f"{len(h)} FATAL line(s) in {g} in the last {settings.log_window_minutes} min, last: {h[-1]['message'][:160]}"
        for g, h in found.items()
    )


RECEIVING_HOURS = 24  # a live web service logs every day (load balancer health checks, requests)
LOG_CONFIGURATION = (
    "aws ecs describe-task-definition --task-definition {web_ui_revision} --query "
    "'taskDefinition.containerDefinitions[].logConfiguration'"
)


@check(
    "5.1",
    severity="high",
    remediation=LOG_CONFIGURATION + "; if the tasks log elsewhere, set TURATH_LOG_GROUP to the awslogs-group "
    "of web-ui (the other services log under the same name with theirs); if the group of web-ui is missing, "
    "create it and restart web-ui (the awslogs driver creates its stream when a task starts): "
    "aws logs create-log-group --log-group-name {log_group}; {restart_web_ui}",
)
def test_logs_web_log_groups_receive_events(
    aws: Aws,
    settings: Settings,
    running_task_definitions: dict[str, dict[str, Any]],
    observed: Callable[[str], None],
    remedy: Callable[..., None],
) -> None:
    """The web services' log groups the suite reads exist, are where the running tasks log, and received
    events in the last day: every log check (plan §5.1, §6.1) is only evidence if they do."""
    logs = aws.client("logs")
    groups = production(settings).log_groups
    # Where each service's tasks really log (the app container's awslogs-group), for every service.
    actual = {
        service: logs_api.container_log_group(
            next((c for c in td.get("containerDefinitions", []) if c.get("name") == settings.app_container), {})
        )
        for service, td in running_task_definitions.items()
    }
    problems, elsewhere, missing = [], {}, []
    for service, group in groups.items():
        if actual.get(service) and actual[service] != group:
            problems.append(f"{service}'s tasks log to {actual[service]}, the suite reads {group}")
            elsewhere[service] = actual[service]
            continue
        if logs_api.describe_group(logs, group) is None:
            problems.append(f"log group {group} of {service} does not exist")
            missing.append(group)
            continue
        newest = logs_api.newest_event_time(logs, group)
        if newest is None:
            problems.append(f"{group} of {service} has never received an event")
            continue
        age = (utcnow() - newest).total_seconds()
        observed(f"{group} ({service}): newest event {human_age(age)} ago")
        if age > RECEIVING_HOURS * 3600:
            problems.append(f"{group} of {service} received nothing for {human_age(age)}")
    fixes = [_read_elsewhere(settings, groups, actual)] if elsewhere else []
    for group in missing:
        # Running tasks lost their stream with the group: only new tasks log to the recreated one.
        restarts = [diagnosis.restart(settings.ecs_cluster, s) for s, g in actual.items() if g == group]
        fixes.append("; ".join([f"aws logs create-log-group --log-group-name {group}", *restarts]))
    if fixes:
        remedy(LOG_CONFIGURATION + "; " + "; ".join(fixes))
    assert not problems, "the log checks would look in the wrong place: " + "; ".join(problems)


def _read_elsewhere(settings: Settings, groups: dict[str, str], actual: dict[str, str]) -> str:
    """The web services log to other groups: read those (one setting, if they follow web-ui's name), or send
    the tasks back to the groups the suite reads (their task definitions)."""
    web_ui = next(iter(groups))
    found = actual.get(web_ui, "")
    if found and all(service_log_group(found, web_ui, s) == actual.get(s, "") for s in groups):
        return (
            f"the services log to {', '.join(sorted(actual[s] for s in groups))}: read those, set TURATH_LOG_GROUP "
            f"where the suite runs (environment or .env): export TURATH_LOG_GROUP={found}"
        )
    moved = ", ".join(f"{s} to {groups[s]}" for s in groups if actual.get(s) and actual[s] != groups[s])
    return (
        f"point the awslogs-group of the app container back ({moved}) in the task definitions; in the directory "
        "of the Terraform configuration: terraform apply -auto-approve && {deploy_web_services}"
    )
