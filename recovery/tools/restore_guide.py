"""restore_rds_guide.sh (plan 4): the manual recovery's exact commands, with this account's identifiers.

Good: every command pastes into a shell as it is, with the snapshot the drill's gate would
choose, the production instance's subnet group, security groups, parameter group and class,
the task definition families, cluster, services and log groups read from the account. Only
read-only calls are made. For when the automated drill cannot be used.

Where the plan is wrong the guide does what is true (FACTS.md): the redeploy names
`--task-definition <family>` (force-new-deployment alone redeploys the old revision); the
reindex uses `invenio rdm rebuild-all-indices` and runs through the image's entrypoint as a
one-off task (an `execute-command` shell skips it and has no database URI); log lines are read
with `filter-log-events` (`aws logs tail` exists only in AWS CLI v2).
"""

from __future__ import annotations

import json
import logging
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recovery import gate
from recovery.aws import ecs as ecs_api
from recovery.aws import rds as rds_api
from recovery.aws.session import Aws
from recovery.errors import StepFailed
from recovery.settings import Settings
from recovery.timeutil import iso, utcnow

log = logging.getLogger(__name__)

REINDEX = (
    ["invenio", "index", "destroy", "--yes-i-know"],
    ["invenio", "index", "init"],
    ["invenio", "rdm", "rebuild-all-indices"],
)


class Raw(str):
    """A shell expression (`"$VAR"`, `$(...)`) rendered as written, never quoted."""


@dataclass(frozen=True)
class Command:
    """One shell line: `argv` (an `aws` one is checked against botocore's model), maybe assigned to a variable."""

    argv: tuple[str, ...]
    assign: str = ""

    def line(self) -> str:
        text = " ".join(a if isinstance(a, Raw) else shlex.quote(a) for a in self.argv)
        return f"{self.assign}=$({text})" if self.assign else text


@dataclass
class Step:
    section: str
    title: str
    notes: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)


@dataclass
class Guide:
    """The steps, and the identifiers they were filled with (for the reader and for tests)."""

    steps: list[Step]
    identifiers: dict[str, Any]

    def text(self) -> str:
        lines = [
            "# Manual recovery of plan section 4 (restore_rds_guide.sh), generated "
            f"{self.identifiers['generated']} from the account's current state.",
            "# Paste step by step; read each step's notes first. Nothing below has been run.",
            f"export AWS_DEFAULT_REGION={shlex.quote(self.identifiers['region'])}",
        ]
        for step in self.steps:
            lines += ["", f"# --- §{step.section} {step.title}"]
            lines += [f"# {note}" for note in step.notes]
            lines += [c.line() for c in step.commands]
        return "\n".join(lines) + "\n"

    def commands(self) -> list[Command]:
        return [c for s in self.steps for c in s.commands]


class _Aws:
    """Builds `aws` argv with the endpoint option when the suite talks to an AWS-compatible endpoint."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint = endpoint_url

    def __call__(self, service: str, *args: str, assign: str = "") -> Command:
        extra = ("--endpoint-url", self.endpoint) if self.endpoint else ()
        return Command(("aws", service, *args, *extra), assign)


def build(aws: Aws, settings: Settings, now: datetime | None = None) -> Guide:
    """Read the account (read-only) and fill plan §4's commands."""
    now = now or utcnow()
    rds, ecs = aws.client("rds"), aws.client("ecs")
    instance = rds_api.describe_instance(rds, settings.rds_instance)
    decision, refused = _recovery_point(aws, settings, now)
    services = ecs_api.describe_services(ecs, settings.ecs_cluster, settings.ecs_services)
    families: dict[str, str] = {}
    log_groups: dict[str, str] = {}
    for name, svc in services.items():
        td = ecs_api.describe_task_definition(ecs, svc["taskDefinition"])
        families[name] = str(td["family"])
        group = _log_group(td, settings.app_container)
        if group:
            log_groups[name] = group
    ids: dict[str, Any] = {
        "generated": iso(now),
        "region": settings.region,
        "instance": settings.rds_instance,
        "restored_instance": f"{settings.rds_instance}-restored-{now.strftime('%Y%m%d-%H%M')}",
        "snapshot": decision.snapshot_id if decision else None,
        "restore_time": _restore_time(decision),
        "reason": str(getattr(decision, "reason", "") or ""),
        "instance_class": instance.get("DBInstanceClass", ""),
        "subnet_group": (instance.get("DBSubnetGroup") or {}).get("DBSubnetGroupName", ""),
        "security_groups": [g["VpcSecurityGroupId"] for g in instance.get("VpcSecurityGroups", [])],
        "parameter_group": next((g["DBParameterGroupName"] for g in instance.get("DBParameterGroups", [])), ""),
        "multi_az": bool(instance.get("MultiAZ")),
        "cluster": settings.ecs_cluster,
        "services": list(services),
        "families": families,
        "log_groups": log_groups,
        "files_bucket": settings.files_bucket,
        "site_url": settings.site_url,
        "refused": refused,
    }
    a = _Aws(settings.endpoint_url)
    steps = [
        _verify_step(a, ids),
        _restore_step(a, ids),
        _point_step(a, ids, settings.app_container),
        _redeploy_step(a, ids),
        _storage_step(a, ids),
        _reindex_step(a, ids, services, settings),
        _check_step(a, ids),
    ]
    return Guide(steps, ids)


def _recovery_point(aws: Aws, settings: Settings, now: datetime) -> tuple[gate.GateDecision | None, str]:
    try:
        decision = gate.choose(
            aws.client("rds"),
            aws.client("s3"),
            instance_id=settings.rds_instance,
            files_bucket=settings.files_bucket,
            min_gb=settings.snapshot_min_gb,
            now=now,
            restore_time=settings.restore_time,
            last_upload_time=settings.last_upload_time,
            rpo_seconds=settings.rpo_seconds,
            max_age_hours=settings.snapshot_max_age_hours,
        )
    except StepFailed as exc:
        log.warning("no snapshot passes the §2.1.1 checklist: the guide restores to the latest restorable time")
        return None, exc.message
    return decision, ""


def _restore_time(decision: gate.GateDecision | None) -> str:
    if decision is None or decision.use_latest:
        return "latest"
    if decision.mode == "point-in-time" and decision.restore_time is not None:
        return iso(decision.restore_time)
    return ""


def _log_group(td: dict[str, Any], container: str) -> str:
    for c in td.get("containerDefinitions", []):
        if c.get("name") == container:
            return str(((c.get("logConfiguration") or {}).get("options") or {}).get("awslogs-group", ""))
    return ""


def _verify_step(a: _Aws, ids: dict[str, Any]) -> Step:
    step = Step("2.1.1", "Verify the recovery point before restoring")
    if ids["refused"]:
        step.notes.append(f"The drill's gate refuses every snapshot ({ids['refused']}): restore to a point in time.")
    elif ids["snapshot"]:
        step.notes.append(f"The drill's gate chooses snapshot {ids['snapshot']}: {ids['reason']}")
    else:
        step.notes.append(f"The drill's gate chooses point-in-time recovery ({ids['restore_time']}): {ids['reason']}")
    step.commands += [
        a(
            "rds",
            "describe-db-snapshots",
            "--db-instance-identifier",
            ids["instance"],
            "--query",
            "DBSnapshots[*].[DBSnapshotIdentifier,OriginalSnapshotCreateTime,AllocatedStorage,Status]",
            "--output",
            "table",
        ),
        a(
            "rds",
            "describe-events",
            "--source-identifier",
            ids["instance"],
            "--source-type",
            "db-instance",
            "--duration",
            "20160",
            "--query",
            "Events[*].[Date,Message]",
            "--output",
            "table",
        ),
    ]
    if ids["snapshot"]:
        step.commands.append(
            a(
                "rds",
                "describe-db-snapshots",
                "--db-snapshot-identifier",
                ids["snapshot"],
                "--query",
                "DBSnapshots[0].[OriginalSnapshotCreateTime,AllocatedStorage,Status]",
                "--output",
                "text",
            )
        )
    return step


def _placement(ids: dict[str, Any]) -> list[str]:
    args = ["--db-instance-class", ids["instance_class"]]
    if ids["subnet_group"]:  # without one, RDS places the instance in the default VPC
        args += ["--db-subnet-group-name", ids["subnet_group"]]
    if ids["security_groups"]:
        args += ["--vpc-security-group-ids", *ids["security_groups"]]
    if ids["parameter_group"]:  # without it RDS uses the default group (FACTS)
        args += ["--db-parameter-group-name", ids["parameter_group"]]
    args += ["--multi-az" if ids["multi_az"] else "--no-multi-az", "--no-publicly-accessible"]
    return args


def _restore_step(a: _Aws, ids: dict[str, Any]) -> Step:
    step = Step("4.2.2", "Restore the RDS instance next to production")
    step.notes.append(
        f"Same subnet group, security groups, parameter group and class as {ids['instance']}; "
        "about 10-40 minutes. The password is the production one (plan 2.5)."
    )
    restored = ids["restored_instance"]
    step.commands.append(Command(("RESTORED=" + restored,)))
    if ids["snapshot"]:
        step.commands.append(
            a(
                "rds",
                "restore-db-instance-from-db-snapshot",
                "--db-instance-identifier",
                Raw('"$RESTORED"'),
                "--db-snapshot-identifier",
                ids["snapshot"],
                *_placement(ids),
            )
        )
    else:
        when = (
            ["--use-latest-restorable-time"]
            if ids["restore_time"] in ("", "latest")
            else ["--restore-time", ids["restore_time"]]
        )
        step.commands.append(
            a(
                "rds",
                "restore-db-instance-to-point-in-time",
                "--source-db-instance-identifier",
                ids["instance"],
                "--target-db-instance-identifier",
                Raw('"$RESTORED"'),
                *when,
                *_placement(ids),
            )
        )
    step.commands += [
        a("rds", "wait", "db-instance-available", "--db-instance-identifier", Raw('"$RESTORED"')),
        a(
            "rds",
            "describe-db-instances",
            "--db-instance-identifier",
            Raw('"$RESTORED"'),
            "--query",
            "join(`:`, [DBInstances[0].Endpoint.Address, to_string(DBInstances[0].Endpoint.Port)])",
            "--output",
            "text",
            assign="ENDPOINT",
        ),
        Command(("echo", Raw('"$ENDPOINT"'))),
    ]
    return step


def _point_step(a: _Aws, ids: dict[str, Any], container: str) -> Step:
    step = Step("4.2.3", "Point the task definitions at the restored database")
    step.notes += [
        "The plan's way: set RDS_DB_HOST to $ENDPOINT in ecs-web-ui-service.tf / ecs-web-api-service.tf, then",
        "  cd ~/Projects/inveniordm-terraform && terraform apply -auto-approve",
        "Without Terraform, register a new revision of each family with the new RDS_DB_HOST",
        "(the .json files hold the task environment, the database password included: delete them after):",
    ]
    edit = (
        f'(.containerDefinitions[] | select(.name == "{container}") | .environment[] '
        '| select(.name == "RDS_DB_HOST") | .value) = $host '
        "| del(.taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities, "
        ".registeredAt, .registeredBy, .deregisteredAt)"
    )
    for family in dict.fromkeys(ids["families"].values()):
        step.commands += [
            Command(
                (
                    *a(
                        "ecs", "describe-task-definition", "--task-definition", family, "--query", "taskDefinition"
                    ).argv,
                    Raw(">"),
                    f"{family}.json",
                )
            ),
            Command(
                ("jq", "--arg", "host", Raw('"$ENDPOINT"'), edit, f"{family}.json", Raw(">"), f"{family}.new.json")
            ),
            a("ecs", "register-task-definition", "--cli-input-json", f"file://{family}.new.json"),
        ]
    return step


def _redeploy_step(a: _Aws, ids: dict[str, Any]) -> Step:
    step = Step("4.2.4", "Redeploy every service on its family's newest revision")
    step.notes.append(
        "--task-definition <family> moves the service to the newest ACTIVE revision; --force-new-deployment "
        "alone restarts the old one. The worker reads the database too, so it is redeployed with the web services."
    )
    for name in ids["services"]:
        step.commands.append(
            a(
                "ecs",
                "update-service",
                "--cluster",
                ids["cluster"],
                "--service",
                name,
                "--task-definition",
                ids["families"][name],
                "--force-new-deployment",
            )
        )
    step.commands += [
        a("ecs", "wait", "services-stable", "--cluster", ids["cluster"], "--services", *ids["services"]),
        a(
            "ecs",
            "describe-services",
            "--cluster",
            ids["cluster"],
            "--services",
            *ids["services"],
            "--query",
            "services[*].[serviceName,taskDefinition,deployments[0].rolloutState,runningCount]",
            "--output",
            "table",
        ),
    ]
    return step


def _storage_step(a: _Aws, ids: dict[str, Any]) -> Step:
    step = Step("4.3", "Connect file storage")
    step.notes.append(
        f"The restored records point at s3://{ids['files_bucket']} (files_files.uri); the tasks' role must read it."
    )
    step.commands.append(a("s3api", "head-bucket", "--bucket", ids["files_bucket"]))
    return step


def _reindex_step(a: _Aws, ids: dict[str, Any], services: dict[str, dict[str, Any]], settings: Settings) -> Step:
    step = Step("4.4", "Rebuild the search indices from the restored database")
    ui = next((s for s in settings.web_services if s in services and "api" not in s), next(iter(services)))
    svc = services[ui]
    step.notes += [
        f"One-off tasks of {ids['families'][ui]} through the image's entrypoint (it builds the database URI;",
        "an execute-command shell skips it). Indexing is asynchronous: compare counts when the queue drains.",
    ]
    placement = ecs_api.run_task_placement(svc)
    for command in REINDEX:
        overrides = json.dumps({"containerOverrides": [{"name": settings.app_container, "command": command}]})
        step.commands += [
            a(
                "ecs",
                "run-task",
                "--cluster",
                ids["cluster"],
                "--task-definition",
                ids["families"][ui],
                *placement,
                "--overrides",
                overrides,
                "--query",
                "tasks[0].taskArn",
                "--output",
                "text",
                assign="TASK",
            ),
            a("ecs", "wait", "tasks-stopped", "--cluster", ids["cluster"], "--tasks", Raw('"$TASK"')),
            a(
                "ecs",
                "describe-tasks",
                "--cluster",
                ids["cluster"],
                "--tasks",
                Raw('"$TASK"'),
                "--query",
                f"tasks[0].containers[?name==`{settings.app_container}`].exitCode",
                "--output",
                "text",
            ),
        ]
    return step


def _check_step(a: _Aws, ids: dict[str, Any]) -> Step:
    step = Step("4.5", "Verify the application")
    site = ids["site_url"]
    step.commands += [
        Command(("curl", "-k", "-sS", "-o", "/dev/null", "-w", "Home: HTTP %{http_code}\\n", f"{site}/")),
        Command(("curl", "-k", "-sS", f"{site}/api/records?size=1", Raw("|"), "jq", ".hits.total")),
    ]
    for name, group in ids["log_groups"].items():
        if not name.startswith("web"):
            continue
        step.commands.append(
            a(
                "logs",
                "filter-log-events",
                "--log-group-name",
                group,
                "--start-time",
                Raw("$(( ($(date +%s) - 600) * 1000 ))"),
                "--filter-pattern",
                '"resolve-db-uri"',
                "--query",
                "events[*].message",
                "--output",
                "text",
            )
        )
    step.notes.append('Expected in the logs: "[resolve-db-uri] DB URI resolved successfully".')
    return step
