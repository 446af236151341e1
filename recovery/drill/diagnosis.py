"""Why a drill step failed, in the words of the plan's troubleshooting guide (plan 6).

The diagnoses here read the drill's state and clients; those health shares are in
`recovery.diagnosis`. `collect` gathers the step's diagnostics (RDS events, ECS service events
and stopped tasks, log lines) for the report; it never raises, so a diagnosis cannot hide the failure.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from recovery.aws import ecs as ecs_api
from recovery.diagnosis import ENTRYPOINT, Diagnosis, force_deployments
from recovery.drill.context import DrillContext
from recovery.drill.ecsops import diagnose_service, entry_point, log_lines
from recovery.drill.state import DrillService
from recovery.errors import RecoveryError
from recovery.secrets import redact
from recovery.timeutil import as_utc, iso, utcnow

log = logging.getLogger(__name__)


# ---- restore: the password (plan 6.1) -------------------------------------------------------------
def password_rejected(ctx: DrillContext, address: str, source: str) -> Diagnosis:
    s = ctx.settings
    service = (s.web_services or s.ecs_services or ("web-ui",))[0]
    since = utcnow() - timedelta(minutes=10)
    fatal = []
    if s.log_group:
        lines = log_lines(ctx.client("logs"), s.log_group, since, limit=500)
        fatal = [line for line in lines if "password authentication failed" in line]
    restored_from = ctx.state.recovery.source if ctx.state.recovery else "the recovery point"
    return Diagnosis(
        "§6.1 Password authentication failed",
        f"the restored DB {ctx.names.db_instance} ({address}, from {restored_from}) answers FATAL: password "
        f'authentication failed for user "{s.db_user}" to RDS_DB_PASSWORD of {source}, the revision {service} '
        f"runs (value not shown); {len(fatal)} such line(s) in {s.log_group or 'the web-ui log group'} "
        "in the last 10 min",
        f"{source}'s RDS_DB_PASSWORD is not the master password of {s.rds_instance} (a revision registered "
        "with a wrong or stale password, plan 2.5; the drill takes the password where the plan says to)",
        "compare with terraform console <<< 'random_password.rds_master_password.result'; check "
        f"aws ecs describe-task-definition --task-definition {source} --query "
        f"'taskDefinition.containerDefinitions[?name==`{s.app_container}`].[environment, secrets][][?name=="
        "`RDS_DB_PASSWORD`].[value, valueFrom]' (a valueFrom: compare the secret or parameter it names)"
        f"; then terraform apply -auto-approve; {force_deployments(s)}; verify: "
        f"aws logs tail {s.log_group or '/invenio-default/web-ui'} --since 3m | grep resolve-db-uri",
    )


# ---- storage (plan 4 step 3) ----------------------------------------------------------------------
def storage_unreadable(ctx: DrillContext, bucket: str, samples: list[dict[str, Any]]) -> Diagnosis:
    first = samples[0]
    statuses = ", ".join(str(x.get("status")) for x in samples)
    env = ctx.state.environment
    ui = next(iter(env.services.values()), None) if env else None
    role = "the tasks' role"
    try:
        if ui is not None:
            td = ecs_api.describe_task_definition(ctx.client("ecs"), ui.task_definition)
            role = str(td.get("taskRoleArn") or role)
    except (RecoveryError, ClientError, BotoCoreError):
        log.debug("no task role to name", exc_info=True)
    denies = _denying_statements(ctx, bucket)
    evidence = f"GET {first.get('url')} -> {first.get('status')} ({len(samples)} sampled file(s): {statuses})"
    if not denies and all(isinstance(x.get("status"), int) and x["status"] >= 500 for x in samples):
        return _api_not_served(ctx, evidence, first)
    if denies:
        evidence += f"; the bucket policy of s3://{bucket} denies: {'; '.join(denies)}"
    return Diagnosis(
        "§4 (step 3) Connect file storage: the recovered site cannot read the files bucket",
        evidence,
        f"the drill's tasks run with {role}, the role of production's tasks, and it may not "
        f"s3:GetObject in s3://{bucket}",
        f"aws s3api get-bucket-policy --bucket {bucket}; remove the Deny for {role} or grant it s3:GetObject "
        "(plan 4 step 3, option 1), or sync the bucket to a recovery bucket and point S3_BUCKET_NAME at it "
        "(option 2; the drill does so with TURATH_DRILL_STORAGE=clone)",
    )


def _api_not_served(ctx: DrillContext, evidence: str, first: dict[str, Any]) -> Diagnosis:
    """The API answers 5xx before any file is read: its load balancer or its tasks, not the bucket.

    The drill's load balancer copies production's listeners and rules, so a rule of production's
    that answers a fixed 5xx for the API (maintenance mode left on) shows here as it would after
    a real recovery.
    """
    body = " ".join(str(first.get("body", "")).split())[:120]
    lb = (ctx.state.environment.load_balancer or {}) if ctx.state.environment else {}
    return Diagnosis(
        "§5.1 Basic connectivity: the recovered site's API does not answer",
        evidence + (f", body {body!r}" if body else ""),
        "the drill's load balancer answers as production's does (the same listener rules): a rule or "
        "default action of production's answers this for the API (a fixed response), or the API's "
        "tasks behind it are not healthy",
        "aws elbv2 describe-rules --listener-arn <each listener of production's load balancer>; remove or "
        "correct the rule that answers the API with a fixed response (then rerun the drill); if none, "
        f"aws elbv2 describe-target-health for the drill's API target group (load balancer {lb.get('arn', '?')})",
    )


def _denying_statements(ctx: DrillContext, bucket: str) -> list[str]:
    try:
        raw = ctx.client("s3").get_bucket_policy(Bucket=bucket)["Policy"]
        statements = json.loads(raw).get("Statement", [])
    except (ClientError, BotoCoreError, ValueError, KeyError):
        return []
    out = []
    for st in statements:
        if st.get("Effect") == "Deny":
            principal = json.dumps(st.get("Principal", "*"))
            out.append(f"{st.get('Sid', '(no Sid)')} {st.get('Action')} for {principal}")
    return out


# ---- one-off CLI commands (plan 6.3) --------------------------------------------------------------
def one_off_failed(ctx: DrillContext, service: DrillService, result: dict[str, Any]) -> Diagnosis | None:
    """§6.3 when a one-off `invenio` command fell back to the localhost database; else None."""
    lines = [str(x) for x in result.get("log_lines", [])]
    if not any("localhost" in line for line in lines):
        return None
    s = ctx.settings
    ecs = ctx.client("ecs")
    entry: list[str] = []
    td_arn = service.task_definition
    try:
        entry = entry_point(ecs_api.describe_task_definition(ecs, td_arn), s.app_container)
    except (RecoveryError, ClientError, BotoCoreError):
        log.debug("cannot read the entryPoint of %s", td_arn, exc_info=True)
    source = ecs_api.short(service.source or td_arn)
    error = next((x for x in lines if "OperationalError" in x), lines[-1] if lines else "")
    task = str(result.get("task", "?")).rsplit("/", 1)[-1]
    evidence = (
        f"`{result.get('command')}` in one-off task {task} of {ecs_api.short(td_arn)} (a clone of {source}) "
        f"exited with {result.get('exit_code')}: {error.strip()}"
    )
    # No entryPoint is the image's own, which is the script (plan 2.5): not a bypass.
    bypassed = bool(entry) and not any(ENTRYPOINT in part for part in entry)
    if bypassed:
        cause = (
            f"the container's entryPoint is {json.dumps(entry) if entry else 'the image default'}, so {ENTRYPOINT} "
            "never ran for the command override and INVENIO_SQLALCHEMY_DATABASE_URI was never built; InvenioRDM "
            "fell back to its default database on localhost. The plan says CLI commands read config files "
            "directly; in fact they read INVENIO_* variables like the web app, and the trap is the skipped "
            "entrypoint that builds the URI"
        )
    else:
        cause = (
            "the command ran through the entrypoint but INVENIO_SQLALCHEMY_DATABASE_URI still points at "
            "localhost: an INVENIO_SQLALCHEMY_DATABASE_URI in the task definition or invenio.cfg overrides it"
        )
    through = f"{ENTRYPOINT} {result.get('command')}"
    one_off = json.dumps({"containerOverrides": [{"name": s.app_container, "command": [through]}]})
    fix = (
        f'restore entryPoint ["{ENTRYPOINT}"] for container {s.app_container} in the task definitions '
        f"(terraform apply -auto-approve), then {force_deployments(s)}; until then run one-off commands through "
        f"the script: aws ecs run-task --cluster {s.ecs_cluster} --task-definition {source} --overrides "
        f"'{one_off}' (or set INVENIO_SQLALCHEMY_DATABASE_URI in the task definition)"
    )
    return Diagnosis("§6.3 CLI commands fail inside containers", evidence, cause, fix)


# ---- evidence for the report --------------------------------------------------------------------
def collect(ctx: DrillContext, step: str, since: datetime | None) -> dict[str, Any]:
    """RDS events, the drill services' events, stopped tasks and log lines since the step started."""
    started = since or (utcnow() - timedelta(minutes=15))
    out: dict[str, Any] = {"step": step, "since": iso(started)}
    rds = ctx.client("rds")
    events: dict[str, Any] = {}
    for ident, start in ((ctx.settings.rds_instance, utcnow() - timedelta(days=1)), (ctx.names.db_instance, started)):
        try:
            pages = rds.get_paginator("describe_events").paginate(
                SourceIdentifier=ident, SourceType="db-instance", StartTime=start, EndTime=utcnow()
            )
            newest = [e for page in pages for e in page.get("Events", [])][-20:]  # oldest first, every page
            events[ident] = [
                {"date": iso(as_utc(e["Date"])), "message": redact(str(e.get("Message", "")))} for e in newest
            ]
        except (ClientError, BotoCoreError) as exc:
            events[ident] = [f"(unavailable: {exc})"]
    out["rds_events"] = events
    env = ctx.state.environment
    if env is not None and env.cluster and env.services:
        services = []
        for svc in env.services.values():
            try:
                services.append(
                    diagnose_service(
                        ctx.client("ecs"),
                        ctx.client("logs"),
                        env.cluster,
                        svc.name,
                        ctx.settings.app_container,
                        started,
                    )
                )
            except (ClientError, BotoCoreError, RecoveryError, KeyError) as exc:
                services.append({"service": svc.name, "error": str(exc)})
        out["ecs_services"] = services
    return out
