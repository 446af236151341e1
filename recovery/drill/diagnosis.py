"""Why a drill step failed, in the words of the plan's troubleshooting guide (plan 6, 2.1.1, 7).

Good: a failure reads, in this order, as the symptom the plan names ("§6.3 CLI commands fail
inside containers"), the evidence with real identifiers, the root cause (the real mechanism
where the plan is wrong about it) and the fix as the plan's commands with the real cluster,
service, instance and snapshot filled in. Never a password: messages are built from
identifiers and log lines, which are redacted before they get here.

`collect` gathers the step's diagnostics (RDS events, ECS service events and stopped tasks,
log lines) for the report; it never raises, so a diagnosis cannot hide the failure.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from recovery.aws import ecs as ecs_api
from recovery.drill.context import DrillContext
from recovery.drill.ecsops import diagnose_service, entry_point, log_lines
from recovery.errors import RecoveryError
from recovery.secrets import redact
from recovery.settings import Settings
from recovery.timeutil import as_utc, human_age, iso, utcnow

log = logging.getLogger(__name__)

ENTRYPOINT = "/usr/local/bin/resolve-db-uri.sh"
# The plan's 2.1.1 warning signs, by the key a gate row records for each of its reasons.
SIGNS = {
    "unavailable": "Snapshot not available",
    "small": "Snapshot < 1 GB (likely empty or partial database)",
    "during-change": "Snapshot timestamp during migration (may have incomplete schema)",
    "older-than-upload": "Snapshot older than expected (may be missing recent records)",
}
CAUSES = {
    "unavailable": "the snapshot is still being created, failed or is being deleted",
    "small": "the snapshot reports less storage than the plan's threshold (AllocatedStorage is the "
    "instance's provisioned size, so this means an unusual instance, not necessarily an empty one)",
    "during-change": "the snapshot was taken while the master credentials were reset or the schema "
    "migrated, and may hold an incomplete schema or an empty database (plan 7, incident of Feb 28)",
    "older-than-upload": "data was uploaded after the snapshot and no manual snapshot followed the "
    "upload (plan 2.1.1 best practice): a restore from it loses those uploads",
}


@dataclass(frozen=True)
class Diagnosis:
    """Symptom (as the plan names it, with its section), evidence, root cause, fix."""

    symptom: str
    evidence: str
    cause: str
    fix: str

    def text(self) -> str:
        return f"{self.symptom}: {self.evidence}. Root cause: {self.cause}. Fix: {self.fix}"

    def within(self, section: str) -> str:
        """The text inside a check's message, which already starts with `§<section>`."""
        return without_section(self.text(), section)


def without_section(text: str, section: str) -> str:
    return text.removeprefix(f"§{section} ")


def empty_restore(
    s: Settings, recovery: dict[str, Any], restored: dict[str, int], production: dict[str, int] | None, instance: str
) -> Diagnosis:
    """Plan 6.2: the restore worked and holds no data."""
    source = recovery.get("snapshot")
    rows: list[dict[str, Any]] = recovery.get("rows") or []
    row = next((r for r in rows if r.get("snapshot") == source), {})
    where = (
        f"snapshot {source} (created {row.get('created', '?')}, {row.get('allocated_gib', '?')} GiB)"
        if source
        else f"point in time {recovery.get('recovery_point')}"
    )
    had = ""
    if production:
        had = f"; production had {production['users']} users and {production['records']} published records then"
    verify = ""
    if source:
        verify = (
            f"aws rds describe-db-snapshots --db-snapshot-identifier {source} "
            "--query 'DBSnapshots[0].[SnapshotCreateTime,AllocatedStorage]'; "
        )
    return Diagnosis(
        "§6.2 Empty database after restore",
        f"the restored DB {instance} from {where} has {restored['users']} users and {restored['records']} "
        f"published records{had}",
        "the snapshot was taken during a migration or before the data was loaded; its size could not tell "
        "(AllocatedStorage is the instance's provisioned size, not the data), only a restore-and-count can",
        f"{verify}identify a snapshot with data: {checklist_command(s.rds_instance)}; restore a newer snapshot "
        "or a point in time: pytest -m drill --restore-time latest; if no good snapshot exists, re-upload the "
        "data from the source files",
    )


# ---- commands of the plan, with real identifiers ------------------------------------------------
def checklist_command(instance: str) -> str:
    return (
        f"aws rds describe-db-snapshots --db-instance-identifier {instance} --query "
        "'DBSnapshots[*].[DBSnapshotIdentifier,SnapshotCreateTime,AllocatedStorage,Status]' --output table"
    )


def manual_snapshot_command(instance: str) -> str:
    return (
        f"aws rds create-db-snapshot --db-instance-identifier {instance} "
        f"--db-snapshot-identifier {instance}-manual-$(date -u +%Y%m%d%H%M)"
    )


def events_command(instance: str) -> str:
    return f"aws rds describe-events --source-identifier {instance} --source-type db-instance --duration 1440"


def force_deployments(s: Settings) -> str:
    return "; ".join(
        f"aws ecs update-service --cluster {s.ecs_cluster} --service {svc} --force-new-deployment"
        for svc in (s.web_services or s.ecs_services)
    )


# ---- the snapshot gate (plan 2.1.1, 6.2, 7) ------------------------------------------------------
def _sign(row: dict[str, Any]) -> str:
    signs = row.get("signs") or ["unavailable"]
    return str(signs[0])


def gate_refused(instance: str, bucket: str, checklist: list[dict[str, Any]], upload: datetime | None) -> Diagnosis:
    """No snapshot passes the checklist: what the newest one shows, and how to recover anyway."""
    if not checklist:
        return Diagnosis(
            "§2.1 No snapshot to restore",
            f"{instance} has no automated or manual snapshot",
            "automated backups are off or were never taken",
            f"restore a point in time: pytest -m drill --restore-time latest; then {manual_snapshot_command(instance)}",
        )
    newest = checklist[0]
    sign = _sign(newest)
    evidence = (
        f"no snapshot of {instance} passes the checklist ({len(checklist)} candidates); the newest, "
        f"{newest['snapshot']} ({newest['created']}), is refused: {'; '.join(newest['reasons'])}"
    )
    if upload is not None and sign == "older-than-upload":
        evidence += f"; last upload to s3://{bucket} at {iso(upload)}"
    return Diagnosis(
        f"§2.1.1 {SIGNS[sign]}",
        evidence,
        CAUSES[sign],
        "restore a point in time instead: pytest -m drill --restore-time latest (plan 2.1 PITR), or take a "
        f"manual snapshot after the last upload: {manual_snapshot_command(instance)}; review: "
        f"{checklist_command(instance)}",
    )


def newest_refused(instance: str, checklist: list[dict[str, Any]], chosen: str) -> Diagnosis | None:
    """The gate passed an older snapshot: why the newest was unusable (None if it chose the newest)."""
    if not checklist or checklist[0]["snapshot"] == chosen:
        return None
    newest = checklist[0]
    used = next((r for r in checklist if r["snapshot"] == chosen), None)
    newer = checklist[: checklist.index(used)] if used is not None else checklist[:1]
    older = ""
    if used is not None:
        gap = (as_utc(newest["created"]) - as_utc(used["created"])).total_seconds()
        older = f" ({used['created']}, {human_age(gap)} older)"
    sign = _sign(newest)
    fix = f"review the events around it: {events_command(instance)}; "
    fix += f"once the change is over take a manual snapshot: {manual_snapshot_command(instance)}; "
    fix += f"until then restore {chosen} (plan 6.2: identify a snapshot with data)"
    return Diagnosis(
        f"§2.1.1 {SIGNS[sign]}",
        f"the newest snapshot of {instance}, {newest['snapshot']} ({newest['created']}), is unusable: "
        f"{'; '.join(newest['reasons'])}; the drill restored {chosen}{older} instead "
        f"({len(newer)} newer snapshot(s) refused)",
        CAUSES[sign],
        fix,
    )


# ---- restore: the password (plan 6.1) -------------------------------------------------------------
def password_rejected(ctx: DrillContext, address: str) -> Diagnosis:
    s = ctx.settings
    source = ctx.state.get("password_source") or "the running task definition"
    service = (s.web_services or s.ecs_services or ("web-ui",))[0]
    since = utcnow() - timedelta(minutes=10)
    fatal = []
    if s.log_group:
        lines = log_lines(ctx.client("logs"), s.log_group, since, limit=500)
        fatal = [line for line in lines if "password authentication failed" in line]
    recovery = ctx.state.get("recovery") or {}
    restored_from = recovery.get("snapshot") or f"point in time {recovery.get('recovery_point')}"
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
        f"'taskDefinition.containerDefinitions[?name==`{s.app_container}`].environment[?name==`RDS_DB_PASSWORD`]'"
        f"; then terraform apply -auto-approve; {force_deployments(s)}; verify: "
        f"aws logs tail {s.log_group or '/invenio-default/web-ui'} --since 3m | grep resolve-db-uri",
    )


# ---- storage (plan 4 step 3) ----------------------------------------------------------------------
def storage_unreadable(ctx: DrillContext, bucket: str, samples: list[dict[str, Any]]) -> Diagnosis:
    first = samples[0]
    statuses = ", ".join(str(x.get("status")) for x in samples)
    services: dict[str, dict[str, Any]] = (ctx.state.get("environment") or {}).get("services", {})
    ui = next(iter(services.values()), {})
    role = "the tasks' role"
    try:
        td = ecs_api.describe_task_definition(ctx.client("ecs"), ui["task_definition"])
        role = str(td.get("taskRoleArn") or role)
    except (KeyError, RecoveryError, ClientError, BotoCoreError):
        log.debug("no task role to name", exc_info=True)
    denies = _denying_statements(ctx, bucket)
    evidence = f"GET {first.get('url')} -> {first.get('status')} ({len(samples)} sampled file(s): {statuses})"
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
def one_off_failed(ctx: DrillContext, service: dict[str, Any], result: dict[str, Any]) -> Diagnosis | None:
    """§6.3 when a one-off `invenio` command fell back to the localhost database; else None."""
    lines = [str(x) for x in result.get("log_lines", [])]
    if not any("localhost" in line for line in lines):
        return None
    s = ctx.settings
    ecs = ctx.client("ecs")
    entry: list[str] = []
    td_arn = str(service.get("task_definition", ""))
    try:
        entry = entry_point(ecs_api.describe_task_definition(ecs, td_arn), s.app_container)
    except (RecoveryError, ClientError, BotoCoreError):
        log.debug("cannot read the entryPoint of %s", td_arn, exc_info=True)
    source = ecs_api.short(str(service.get("source") or td_arn))
    error = next((x for x in lines if "OperationalError" in x), lines[-1] if lines else "")
    task = str(result.get("task", "?")).rsplit("/", 1)[-1]
    evidence = (
        f"`{result.get('command')}` in one-off task {task} of {ecs_api.short(td_arn)} (a clone of {source}) "
        f"exited with {result.get('exit_code')}: {error.strip()}"
    )
    bypassed = not any(ENTRYPOINT in part for part in entry)
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


# ---- rollouts (plan 6.5) --------------------------------------------------------------------------
def rollout_failed(s: Settings, failed: list[str], lines: list[str], stuck: bool) -> Diagnosis:
    state = "stuck IN_PROGRESS" if stuck else "FAILED"
    return Diagnosis(
        "§6.5 Deployment stuck or failed",
        f"rollout {state} for {', '.join(failed)}: {'; '.join(lines)}",
        "the new tasks do not start or do not pass the load balancer's health check (image, DB connection, "
        "resources); see the service events, stopped reasons and log lines attached to the report",
        f"aws logs tail {s.log_group or '/invenio-default/web-ui'} --since 5m; roll production back if its "
        f"revision is the broken one: aws ecs update-service --cluster {s.ecs_cluster} --service <SERVICE> "
        "--task-definition <PREVIOUS_GOOD_REVISION>",
    )


# ---- evidence for the report --------------------------------------------------------------------
def collect(ctx: DrillContext, step: str, since: datetime | None) -> dict[str, Any]:
    """RDS events, the drill services' events, stopped tasks and log lines since the step started."""
    started = since or (utcnow() - timedelta(minutes=15))
    out: dict[str, Any] = {"step": step, "since": iso(started)}
    rds = ctx.client("rds")
    events: dict[str, Any] = {}
    for ident, start in ((ctx.settings.rds_instance, utcnow() - timedelta(days=1)), (ctx.names.db_instance, started)):
        try:
            resp = rds.describe_events(
                SourceIdentifier=ident, SourceType="db-instance", StartTime=start, EndTime=utcnow()
            )
            events[ident] = [
                {"date": iso(as_utc(e["Date"])), "message": redact(str(e.get("Message", "")))}
                for e in resp.get("Events", [])[-20:]
            ]
        except (ClientError, BotoCoreError) as exc:
            events[ident] = [f"(unavailable: {exc})"]
    out["rds_events"] = events
    env = ctx.state.get("environment") or {}
    cluster = env.get("cluster")
    if cluster and env.get("services"):
        services = []
        for svc in env["services"].values():
            try:
                services.append(
                    diagnose_service(
                        ctx.client("ecs"), ctx.client("logs"), cluster, svc["name"], ctx.settings.app_container, started
                    )
                )
            except (ClientError, BotoCoreError, RecoveryError, KeyError) as exc:
                services.append({"service": svc.get("name"), "error": str(exc)})
        out["ecs_services"] = services
    return out
