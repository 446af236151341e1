"""Plan §5.1 log checks: the entrypoint resolved the DB URI; no password failures (§6.1).

Production's log groups under `-m health`; those of the drill's web task definitions under
`-m drill` (plan §4 step 5).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fixtures.meta import BOTH_MODES, check
from recovery.aws import ecs as ecs_api
from recovery.aws import logs as logs_api
from recovery.aws.session import Aws
from recovery.environment import Environment
from recovery.settings import Settings
from recovery.timeutil import as_utc, iso, utcnow

TAIL = "aws logs tail {log_group} --since {log_window_minutes}m | grep resolve-db-uri"


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
def test_logs_resolve_db_uri_succeeded(aws: Aws, settings: Settings, environment: Environment) -> None:
    """The newest resolve-db-uri line of the running web-ui tasks is 'DB URI resolved successfully'."""
    since = _window_start(aws, settings, environment)
    group = environment.log_group
    events = logs_api.events_since(aws.client("logs"), group, since)
    lines = logs_api.matching(events, "[resolve-db-uri]")
    assert lines, f"no [resolve-db-uri] line in {group} since {iso(since)}: tasks did not start"
    last = lines[-1]["message"]
    assert logs_api.SUCCESS in last, f"the newest entrypoint line in {group} is: {last}"


@check(
    "6.1",
    severity="critical",
    remediation="plan §6.1: compare the password in Terraform state with the task definition "
    "(terraform console <<< 'random_password.rds_master_password.result'), then terraform apply -auto-approve "
    "&& {deploy_web_services}",
    modes=BOTH_MODES,
)
def test_logs_no_password_failures(aws: Aws, settings: Settings, environment: Environment) -> None:
    """No 'password authentication failed' in the web log groups within the window."""
    since = utcnow() - timedelta(minutes=settings.log_window_minutes)
    found = {}
    for group in sorted(set(environment.log_groups.values())):
        hits = logs_api.matching(logs_api.events_since(aws.client("logs"), group, since), logs_api.PASSWORD_FAILED)
        if hits:
            found[group] = hits
    assert not found, "Password authentication failed: " + "; ".join(
        f"{len(h)} FATAL line(s) in {g} in the last {settings.log_window_minutes} min, last: {h[-1]['message'][:160]}"
        for g, h in found.items()
    )
