"""Waiting for AWS and explaining why it did not get there (plan 6.5 diagnosis).

Waiters run in short chunks with a growing delay (1 s, 2 s, 4 s ... up to `max_delay`), so a
fast target answers in a second and a slow one is not hammered, and progress is logged
between chunks; the total is bounded by `timeout` (taken from the RTO budget).
"""

from __future__ import annotations

import logging
import shlex
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from recovery.aws import ecs as ecs_api
from recovery.errors import StepFailed, WaitTimeout
from recovery.secrets import redact
from recovery.timeutil import utcnow

log = logging.getLogger(__name__)


def wait_waiter(
    client: Any,
    waiter_name: str,
    *,
    what: str,
    timeout: float,
    max_delay: float,
    progress: Callable[[dict[str, Any] | None], str] | None = None,
    **params: Any,
) -> None:
    """boto3 waiter with explicit WaiterConfig per chunk; WaitTimeout after `timeout` seconds."""
    waiter = client.get_waiter(waiter_name)
    started = time.monotonic()
    delay = 1
    while True:
        try:
            waiter.wait(**params, WaiterConfig={"Delay": delay, "MaxAttempts": 2})
            log.info("%s: reached after %.1fs", what, time.monotonic() - started)
            return
        except WaiterError as exc:
            if "Max attempts exceeded" not in str(exc):
                raise
            elapsed = time.monotonic() - started
            seen = progress(dict(exc.last_response or {})) if progress else ""
            if elapsed >= timeout:
                raise WaitTimeout(f"{what}: not reached within {timeout:.0f}s {seen}".strip()) from None
            log.info("%s: still waiting (%.0fs) %s", what, elapsed, seen)
            delay = int(min(max_delay, delay * 2)) or 1


def log_lines(logs: Any, group: str, since: datetime, stream: str | None = None, limit: int = 40) -> list[str]:
    """The last `limit` lines of a log group (or one stream) since `since`, secrets redacted."""
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": int(since.timestamp() * 1000)}
    if stream:
        kwargs["logStreamNames"] = [stream]
    lines: list[str] = []
    try:
        for _ in range(20):  # bounded: diagnosis must not page through days of logs
            resp = logs.filter_log_events(**kwargs)
            lines.extend(redact(str(e.get("message", ""))).rstrip() for e in resp.get("events", []))
            if not resp.get("nextToken"):
                break
            kwargs["nextToken"] = resp["nextToken"]
    except ClientError as exc:
        return [f"(logs of {group} unavailable: {exc})"]
    return lines[-limit:]


def log_group_of(task_definition: dict[str, Any], container: str) -> str | None:
    for c in task_definition.get("containerDefinitions", []):
        if c.get("name") == container:
            opts = (c.get("logConfiguration") or {}).get("options") or {}
            group = opts.get("awslogs-group")
            return str(group) if group else None
    return None


def stream_of(task_definition: dict[str, Any], container: str, task_arn: str) -> str | None:
    for c in task_definition.get("containerDefinitions", []):
        if c.get("name") == container:
            prefix = ((c.get("logConfiguration") or {}).get("options") or {}).get("awslogs-stream-prefix")
            if prefix:
                return f"{prefix}/{container}/{task_arn.rsplit('/', 1)[-1]}"
    return None


def diagnose_service(
    ecs: Any, logs: Any, cluster: str, service: str, container: str, since: datetime
) -> dict[str, Any]:
    """Plan 6.5: service events, why tasks stopped, and the service's recent log lines."""
    out: dict[str, Any] = {"service": service, "cluster": cluster}
    try:
        svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    except (ClientError, IndexError) as exc:
        out["error"] = f"cannot describe {service}: {exc}"
        return out
    out["deployments"] = [
        {
            "status": d.get("status"),
            "taskDefinition": ecs_api.short(d.get("taskDefinition", "?")),
            "rolloutState": d.get("rolloutState"),
            "rolloutStateReason": d.get("rolloutStateReason"),
            "running": d.get("runningCount"),
            "desired": d.get("desiredCount"),
            "failedTasks": d.get("failedTasks"),
        }
        for d in svc.get("deployments", [])
    ]
    out["events"] = [redact(str(e.get("message", ""))) for e in svc.get("events", [])[:10]]
    stopped: list[dict[str, Any]] = []
    try:
        arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="STOPPED").get("taskArns", [])[:5]
        if arns:
            for task in ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", []):
                stopped.append(
                    {
                        "task": task["taskArn"].rsplit("/", 1)[-1],
                        "stoppedReason": redact(str(task.get("stoppedReason", ""))),
                        "containers": [
                            {"name": c.get("name"), "exitCode": c.get("exitCode"), "reason": c.get("reason")}
                            for c in task.get("containers", [])
                        ],
                    }
                )
    except ClientError as exc:
        stopped.append({"error": str(exc)})
    out["stopped_tasks"] = stopped
    td_arn = svc.get("taskDefinition")
    group = None
    if td_arn:
        group = log_group_of(ecs_api.describe_task_definition(ecs, td_arn), container)
    out["log_group"] = group
    out["log_lines"] = log_lines(logs, group, since) if group else []
    return out


def rollout_progress(ecs: Any, cluster: str, expected: dict[str, str]) -> tuple[bool, list[str], list[str]]:
    """(all settled, failed services, one summary line per service) for `service -> task definition ARN`."""
    names = list(expected)
    found = {
        svc["serviceName"]: svc
        for i in range(0, len(names), 10)  # DescribeServices takes at most 10 a call
        for svc in ecs.describe_services(cluster=cluster, services=names[i : i + 10]).get("services", [])
    }
    settled = True
    failed: list[str] = []
    summary: list[str] = []
    for name, arn in expected.items():
        svc = found.get(name)
        if svc is None:
            settled = False
            failed.append(name)
            summary.append(f"{name}: missing")
            continue
        deps = svc.get("deployments", [])
        primary = next((d for d in deps if d.get("status") == "PRIMARY"), None)
        state = primary.get("rolloutState") if primary else None
        running = ecs_api.short(primary.get("taskDefinition", "?")) if primary else "-"
        summary.append(
            f"{name}: {len(deps)} deployment(s), PRIMARY {running} {state}"
            f" {svc.get('runningCount', 0)}/{svc.get('desiredCount', 0)}"
        )
        if primary is not None and primary.get("taskDefinition") == arn and state == "FAILED":
            failed.append(name)
        ok = (
            primary is not None
            and len(deps) == 1
            and primary.get("taskDefinition") == arn
            and state == "COMPLETED"
            and svc.get("runningCount", 0) == svc.get("desiredCount", -1)
            and svc.get("desiredCount", 0) > 0
        )
        settled = settled and ok
    return settled, failed, summary


def task_outcome(task: dict[str, Any], container: str) -> tuple[int | None, str]:
    exit_code = None
    reason = str(task.get("stoppedReason", ""))
    for c in task.get("containers", []):
        if c.get("name") == container:
            exit_code = c.get("exitCode")
            if c.get("reason"):
                reason = f"{reason}; container: {c.get('reason')}".strip("; ")
    return exit_code, reason


def entry_point(task_definition: dict[str, Any], container: str) -> list[str]:
    for c in task_definition.get("containerDefinitions", []):
        if c.get("name") == container:
            return [str(part) for part in c.get("entryPoint") or []]
    return []


def command_for(task_definition: dict[str, Any], container: str, command: list[str]) -> list[str]:
    """The command override that runs `command` under the container's entryPoint.

    Docker runs entryPoint + command: under `["sh", "-c"]` only the first word is the script, so
    the command goes as one shell line (else `sh -c invenio index ...` runs a bare `invenio`).
    """
    entry = entry_point(task_definition, container)
    if len(entry) >= 2 and entry[0].rsplit("/", 1)[-1] in ("sh", "bash") and entry[1] in ("-c", "-lc"):
        return [shlex.join(command)]
    return command


def run_one_off(
    ecs: Any,
    logs: Any,
    *,
    cluster: str,
    task_definition: str,
    container: str,
    command: list[str],
    network: dict[str, Any] | None,
    launch: dict[str, Any],
    started_by: str,
    timeout: float,
    max_delay: float,
    step: str,
    on_started: Callable[[str], None] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Run `command` as a one-off task through the image's entrypoint (CMD override only).

    The entrypoint (resolve-db-uri.sh) builds the database URI; overriding entryPoint would
    skip it (FACTS, plan 6.3). Returns {task, command, exit_code, reason, log_lines}; a non-zero
    exit, a task that never stops or one that cannot start is a StepFailed with the evidence.
    """
    shown = " ".join(command)
    td = ecs_api.describe_task_definition(ecs, task_definition)
    params: dict[str, Any] = {
        "cluster": cluster,
        "taskDefinition": task_definition,
        "count": 1,
        "startedBy": started_by[:36],
        "overrides": {"containerOverrides": [{"name": container, "command": command_for(td, container, command)}]},
        **launch,
    }
    if tags:  # so ecs:StopTask can be scoped by the drill tag, and a sweep can tell the task is the drill's
        params["tags"] = tags
    if network:
        params["networkConfiguration"] = {"awsvpcConfiguration": network}
    started = utcnow()
    resp = ecs.run_task(**params)
    if resp.get("failures") or not resp.get("tasks"):
        raise StepFailed(step, f"could not start `{shown}`", {"failures": resp.get("failures", [])})
    arn = resp["tasks"][0]["taskArn"]
    if on_started is not None:
        on_started(arn)
    try:
        wait_waiter(
            ecs,
            "tasks_stopped",
            what=f"one-off task `{shown}`",
            timeout=timeout,
            max_delay=max_delay,
            cluster=cluster,
            tasks=[arn],
        )
    except (WaitTimeout, WaiterError) as exc:
        raise StepFailed(step, f"`{shown}` did not finish: {exc}", {"task": arn}) from None
    task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
    exit_code, reason = task_outcome(task, container)
    group, stream = log_group_of(td, container), stream_of(td, container, arn)
    lines = log_lines(logs, group, started, stream) if group else []
    result = {"task": arn, "command": shown, "exit_code": exit_code, "reason": reason, "log_lines": lines}
    if exit_code != 0:
        raise StepFailed(step, f"`{shown}` exited with {exit_code}: {reason or 'no reason given'}", result)
    return result
