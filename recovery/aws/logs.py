"""CloudWatch Logs: fetch by time window and match in Python (moto, and filter patterns beyond
plain terms, are unreliable; FACTS.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from recovery.aws.session import error_code
from recovery.timeutil import as_utc, utcnow

ENTRYPOINT_TAG = "[resolve-db-uri]"
SUCCESS = f"{ENTRYPOINT_TAG} DB URI resolved successfully"
PASSWORD_FAILED = "password authentication failed"


def events_since(
    logs: Any, group: str, since: datetime, phrase: str | None = None, limit: int = 5000
) -> list[dict[str, Any]]:
    """Events of `group` from `since` on, oldest first (at most `limit`); [] if the group does not exist.

    With `phrase`, CloudWatch selects the events containing it (a quoted-term filter pattern, case
    sensitive), so a busy group's volume does not crowd out the lines sought; the caller still
    matches in Python. Follows nextToken to the end: an empty page does not end FilterLogEvents'
    pagination.
    """
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": int(since.timestamp() * 1000)}
    if phrase:
        kwargs["filterPattern"] = '"' + phrase.replace('"', '\\"') + '"'
    try:
        while len(out) < limit:
            page = logs.filter_log_events(**kwargs)
            out.extend(page.get("events", []))
            token = page.get("nextToken")
            if not token or token == kwargs.get("nextToken"):
                break
            kwargs["nextToken"] = token
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return []
        raise
    return sorted(out, key=lambda e: e.get("timestamp", 0))[:limit]


def matching(events: list[dict[str, Any]], needle: str) -> list[dict[str, Any]]:
    low = needle.lower()
    return [e for e in events if low in str(e.get("message", "")).lower()]


def describe_group(logs: Any, group: str) -> dict[str, Any] | None:
    """The log group named exactly `group` (DescribeLogGroups, every page), or None."""
    kwargs: dict[str, Any] = {"logGroupNamePrefix": group}
    while True:
        page = logs.describe_log_groups(**kwargs)
        for found in page.get("logGroups", []):
            if found.get("logGroupName") == group:
                return dict(found)
        token = page.get("nextToken")
        if not token:
            return None
        kwargs["nextToken"] = token


def newest_event_time(logs: Any, group: str) -> datetime | None:
    """When `group` last received an event (the newest stream's lastEventTimestamp), or None."""
    try:
        page = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True, limit=5)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    stamps = [s.get("lastEventTimestamp") or s.get("lastIngestionTime") for s in page.get("logStreams", [])]
    newest = max((int(t) for t in stamps if t), default=None)
    return None if newest is None else datetime.fromtimestamp(newest / 1000, tz=UTC)


def container_log_group(container: dict[str, Any]) -> str:
    """The awslogs group a container definition sends its output to ('' if none)."""
    conf = container.get("logConfiguration") or {}
    if conf.get("logDriver") != "awslogs":
        return ""
    return str((conf.get("options") or {}).get("awslogs-group", ""))


def deployment_start(service: dict[str, Any], window_minutes: int) -> datetime:
    """Since when the running tasks log: their PRIMARY deployment's start, or the window, whichever is earlier."""
    start = utcnow() - timedelta(minutes=window_minutes)
    for dep in service.get("deployments", []):
        if dep.get("status") == "PRIMARY" and dep.get("createdAt"):
            start = min(start, as_utc(dep["createdAt"]) - timedelta(minutes=1))
    return start


def missing_groups(logs: Any, groups: list[str]) -> list[str]:
    """The groups of `groups` that do not exist (for validating the configuration up front)."""
    return [g for g in groups if g and describe_group(logs, g) is None]
