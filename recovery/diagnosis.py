"""Diagnoses in the words of the plan's troubleshooting guide (plan 6, 2.1.1, 7), for health and drill.

Good: a failure reads, in this order, as the symptom the plan names ("§6.2 Empty database after
restore"), the evidence with real identifiers, the root cause (the real mechanism where the plan
is wrong about it) and the fix as the plan's commands with the real identifiers filled in. Never
a password: messages are built from identifiers and log lines, redacted before they get here.
The drill's own diagnoses, which read its state, are in `recovery.drill.diagnosis`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recovery.errors import StepFailed
from recovery.settings import Settings
from recovery.timeutil import as_utc, human_age, iso

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

    @property
    def section(self) -> str:
        """The plan section the symptom is filed under ('6.1' of '§6.1 Password ...')."""
        head = self.symptom.split(" ", 1)[0]
        return head.removeprefix("§") if head.startswith("§") else ""

    def failed(self, step: str, diagnostics: dict[str, Any] | None = None) -> StepFailed:
        """The drill step failure this diagnosis explains, with its fields (nothing to parse later)."""
        return StepFailed(
            step,
            self.text(),
            diagnostics,
            symptom=self.symptom,
            evidence=self.evidence,
            cause=self.cause,
            fix=self.fix,
            plan_section=self.section,
        )

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
            "--query 'DBSnapshots[0].[OriginalSnapshotCreateTime,AllocatedStorage]'; "
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
        "'DBSnapshots[*].[DBSnapshotIdentifier,OriginalSnapshotCreateTime,AllocatedStorage,Status]' --output table"
    )


def manual_snapshot_command(instance: str) -> str:
    return (
        f"aws rds create-db-snapshot --db-instance-identifier {instance} "
        f"--db-snapshot-identifier {instance}-manual-$(date -u +%Y%m%d%H%M)"
    )


def events_command(instance: str) -> str:
    return f"aws rds describe-events --source-identifier {instance} --source-type db-instance --duration 1440"


def service_family(cluster: str, service: str) -> str:
    """The task-definition family a service runs, as a shell substitution the fix evaluates (plan §2.5's style)."""
    return (
        f'"$(aws ecs describe-services --cluster {cluster} --services {service} '
        "--query 'services[0].taskDefinition' --output text | sed 's|.*/||; s/:[0-9]*$//')\""
    )


def running_revision(cluster: str, service: str) -> str:
    """The task definition a service runs, as a shell substitution the fix evaluates."""
    return (
        f'"$(aws ecs describe-services --cluster {cluster} --services {service} '
        "--query 'services[0].taskDefinition' --output text)\""
    )


def service_network(cluster: str, service: str) -> str:
    """A service's network configuration as `run-task --network-configuration` takes it, as a shell substitution."""
    return (
        f'"$(aws ecs describe-services --cluster {cluster} --services {service} '
        "--query 'services[0].networkConfiguration' --output json)\""
    )


def restart(cluster: str, service: str) -> str:
    """New tasks of the revision the service runs (a new deployment of its current task definition)."""
    return f"aws ecs update-service --cluster {cluster} --service {service} --force-new-deployment"


def deploy_newest(cluster: str, service: str) -> str:
    """Deploy the newest revision of the service's family: `--force-new-deployment` alone restarts the
    revision the service already runs (real ECS and the twin alike), so a registered fix stays undeployed."""
    newest = (
        f'"$(aws ecs describe-task-definition --task-definition {service_family(cluster, service)} '
        '--query taskDefinition.taskDefinitionArn --output text)"'
    )
    return (
        f"aws ecs update-service --cluster {cluster} --service {service} --task-definition {newest} "
        "--force-new-deployment"
    )


def rollback(cluster: str, service: str) -> str:
    """Back to the revision of the service's previous (ACTIVE, not PRIMARY) deployment, read from ECS."""
    previous = (
        f'"$(aws ecs describe-services --cluster {cluster} --services {service} --query '
        "'services[0].deployments[?status!=`PRIMARY`] | [0].taskDefinition' --output text)\""
    )
    return f"aws ecs update-service --cluster {cluster} --service {service} --task-definition {previous}"


def force_deployments(s: Settings) -> str:
    return "; ".join(deploy_newest(s.ecs_cluster, svc) for svc in (s.web_services or s.ecs_services))


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


# ---- rollouts (plan 6.5) --------------------------------------------------------------------------
def rollout_failed(s: Settings, failed: list[str], lines: list[str], stuck: bool) -> Diagnosis:
    state = "stuck IN_PROGRESS" if stuck else "FAILED"
    return Diagnosis(
        "§6.5 Deployment stuck or failed",
        f"rollout {state} for {', '.join(failed)}: {'; '.join(lines)}",
        "the new tasks do not start or do not pass the load balancer's health check (image, DB connection, "
        "resources); see the service events, stopped reasons and log lines attached to the report",
        f"aws logs tail {s.log_group or '/invenio-default/web-ui'} --since 5m; roll production back if its "
        "revision is the broken one: "
        + "; ".join(rollback(s.ecs_cluster, svc) for svc in (s.web_services or s.ecs_services)),
    )
