"""Validate a drill before it spends anything: every input parsed, every name legal, every source there.

Good: a drill that is doomed by its inputs is refused before the first call that creates
anything, with one line per problem naming the setting to fix. Read-only calls only
(DescribeDBInstances/Snapshots/Events, DescribeClusters/Services/TaskDefinition,
DescribeLogGroups, HeadBucket), so `--plan` runs it too.

The production RDS instance may be gone (that is the disaster the plan exists for); a name that
no instance, snapshot or retained automated backup knows is a typo and refused.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from recovery import gate
from recovery.aws import ecs as ecs_api
from recovery.aws import rds as rds_api
from recovery.aws import s3 as s3_api
from recovery.aws.session import error_code
from recovery.drill.naming import ELB_NAME_MAX, DrillNames
from recovery.errors import ConfigError, NotFound, RecoveryError
from recovery.settings import Settings
from recovery.timeutil import utcnow

Clients = Callable[[str], Any]

# Any drill's name, whatever its prefix: `<prefix>-drill-d<6>` (naming.DrillNames.base).
DRILL_STYLE = re.compile(r"-drill-d[a-z0-9]{6}(?:$|[-/:])")
RDS_ID = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}(?<!-)$")
ECS_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")
BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
LOG_GROUP = re.compile(r"^[\w#/.-]{1,512}$")


class InvalidDrill(RecoveryError):
    """The drill's inputs are wrong: one ConfigError per problem, found before anything was created."""

    def __init__(self, problems: list[ConfigError]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Findings:
    """What validation learned on the way (read by the steps and the plan)."""

    instance_exists: bool = True
    notes: list[str] = field(default_factory=list)


def name_problems(s: Settings, names: DrillNames, storage: str) -> list[ConfigError]:
    """Every name the drill will create, against its service's limits (AWS documentation)."""
    out: list[ConfigError] = []
    setting = "TURATH_DRILL_PREFIX"

    def bad(kind: str, name: str, rule: str) -> None:
        out.append(ConfigError(setting, f"the drill's {kind} name {name!r} {rule}; choose a shorter or simpler prefix"))

    elb = [names.name("alb"), *(names.name(f"tg-{r}") for r in ("ui", "api"))]
    long = [f"{n!r} ({len(n)})" for n in elb if len(n) > ELB_NAME_MAX]
    if long:
        out.append(
            ConfigError(
                setting,
                f"the drill's ELBv2 names exceed {ELB_NAME_MAX} characters: {', '.join(long)}; the prefix may "
                f"have at most {ELB_NAME_MAX - len(names.name('tg-api')) + len(names.prefix)} characters",
            )
        )
    if not RDS_ID.match(names.db_instance):
        bad("RDS instance", names.db_instance, "is not 1-63 letters, digits or single hyphens starting with a letter")
    ecs_names = [names.cluster, *(names.service(x) for x in s.ecs_services)]
    for name in ecs_names:
        if not ECS_NAME.match(name):
            bad("ECS", name, "is not 1-255 letters, digits, hyphens or underscores")
    for svc in s.ecs_services:
        if not LOG_GROUP.match(names.log_group(svc)):
            bad("log group", names.log_group(svc), "is not a valid CloudWatch Logs group name")
    if storage == "clone" and not BUCKET.match(names.files_bucket):
        bad("S3 bucket", names.files_bucket, "is not 3-63 lowercase letters, digits, dots or hyphens")
    return out


def collision_problems(s: Settings, names: DrillNames) -> list[ConfigError]:
    """Production names that look like a drill's, or equal one: the guard could then touch production."""
    out: list[ConfigError] = []
    production = {
        "TURATH_ECS_CLUSTER": [s.ecs_cluster],
        "TURATH_ECS_SERVICES": list(s.ecs_services),
        "TURATH_RDS_INSTANCE": [s.rds_instance],
        "TURATH_FILES_BUCKET": [s.files_bucket],
        "TURATH_LOG_GROUP": [s.log_group] if s.log_group else [],
    }
    drill_names = {names.cluster, names.db_instance, names.files_bucket, names.name("alb")}
    drill_names |= {names.service(x) for x in s.ecs_services} | {names.log_group(x) for x in s.ecs_services}
    for setting, values in production.items():
        for value in values:
            if DRILL_STYLE.search(value):
                out.append(
                    ConfigError(
                        setting,
                        f"{value!r} is named like a drill resource (<prefix>-drill-<id>): the drill only "
                        "reads production, so production must not carry drill names",
                    )
                )
            elif value in drill_names:
                out.append(ConfigError(setting, f"{value!r} equals a name this drill would create"))
    return out


def source_problems(s: Settings, clients: Clients, findings: Findings) -> list[ConfigError]:
    """What the drill reads exists: instance (or its snapshots/backups), cluster, services, log groups, bucket."""
    out: list[ConfigError] = []
    rds = clients("rds")
    try:
        rds_api.describe_instance(rds, s.rds_instance)
    except NotFound:
        findings.instance_exists = False
        if instance_known(rds, s.rds_instance):
            findings.notes.append(f"production instance {s.rds_instance} is gone; its snapshots or backups remain")
        else:
            out.append(
                ConfigError(
                    "TURATH_RDS_INSTANCE",
                    f"no RDS instance, snapshot, automated backup or recent RDS event names {s.rds_instance!r} "
                    f"in {s.region}",
                )
            )
    ecs = clients("ecs")
    if not ecs_api.cluster_exists(ecs, s.ecs_cluster):
        out.append(ConfigError("TURATH_ECS_CLUSTER", f"no active ECS cluster {s.ecs_cluster!r} in {s.region}"))
        return out  # services and their log groups cannot be read without the cluster
    try:
        services = ecs_api.describe_services(ecs, s.ecs_cluster, s.ecs_services)
    except NotFound as exc:
        out.append(ConfigError("TURATH_ECS_SERVICES", str(exc)))
        services = {}
    groups = {s.log_group: "TURATH_LOG_GROUP"} if s.log_group else {}
    for name, svc in services.items():
        td = ecs_api.describe_task_definition(ecs, str(svc["taskDefinition"]))
        group = _log_group(td, s.app_container)
        if group:
            groups.setdefault(group, f"the task definition of {name} ({ecs_api.short(td['taskDefinitionArn'])})")
    logs = clients("logs")
    for group, source in groups.items():
        if not log_group_exists(logs, group):
            setting = source if source.startswith("TURATH_") else "TURATH_LOG_GROUP"
            where = "" if source.startswith("TURATH_") else f" (named by {source})"
            out.append(ConfigError(setting, f"no CloudWatch log group {group!r}{where}"))
    if not s3_api.bucket_exists(clients("s3"), s.files_bucket):
        out.append(ConfigError("TURATH_FILES_BUCKET", f"no S3 bucket {s.files_bucket!r} (or no access to it)"))
    return out


def _log_group(td: dict[str, Any], container: str) -> str | None:
    for c in td.get("containerDefinitions", []):
        if c.get("name") == container:
            options = (c.get("logConfiguration") or {}).get("options") or {}
            group = options.get("awslogs-group")
            return str(group) if group else None
    return None


def log_group_exists(logs: Any, group: str) -> bool:
    """DescribeLogGroups by prefix, matched exactly (the prefix also matches longer names)."""
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=group):
        if any(g.get("logGroupName") == group for g in page.get("logGroups", [])):
            return True
    return False


def instance_known(rds: Any, instance_id: str) -> bool:
    """A snapshot, an automated backup or an RDS event names the instance: it existed here."""
    try:
        return bool(rds_api.instance_traces(rds, instance_id, utcnow()))
    except ClientError as exc:
        if "NotFound" in error_code(exc):
            return False
        raise


def option_problems(s: Settings, restore_time: str, provisioner: str, terraform_dir: str) -> list[ConfigError]:
    out: list[ConfigError] = []
    for parse in (
        lambda: gate.parse_restore_time(restore_time),
        lambda: gate.upload_time(lambda: [], s.last_upload_time),
    ):
        try:
            parse()
        except ConfigError as exc:
            out.append(exc)
    if provisioner == "terraform":
        if not Path(terraform_dir).is_dir():
            out.append(ConfigError("TURATH_TERRAFORM_DIR", f"{terraform_dir!r} is not a directory"))
        if shutil.which("terraform") is None:
            out.append(ConfigError("TURATH_PROVISIONER", "terraform is not on PATH"))
    return out


def validate(
    s: Settings,
    names: DrillNames,
    clients: Clients,
    *,
    restore_time: str,
    storage: str,
    provisioner: str,
    terraform_dir: str,
) -> Findings:
    """Every problem at once, as InvalidDrill; else what validation found out."""
    findings = Findings()
    problems = option_problems(s, restore_time, provisioner, terraform_dir)
    problems += name_problems(s, names, storage)
    problems += collision_problems(s, names)
    if not problems:  # names first: a bad prefix needs no AWS call to be refused
        problems += source_problems(s, clients, findings)
    if problems:
        raise InvalidDrill(problems)
    return findings
