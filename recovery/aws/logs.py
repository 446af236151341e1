"""CloudWatch Logs: fetch by time window and match in Python (moto, and filter patterns beyond
plain terms, are unreliable; FACTS.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from recovery.aws.session import error_code

SUCCESS = "[resolve-db-uri] DB URI resolved successfully"
PASSWORD_FAILED = "password authentication failed"


def events_since(logs: Any, group: str, since: datetime, limit: int = 5000) -> list[dict[str, Any]]:
    """Events of `group` from `since` on, oldest first (at most `limit`)."""
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": int(since.timestamp() * 1000)}
    try:
        while len(out) < limit:
            page = logs.filter_log_events(**kwargs)
            out.extend(page.get("events", []))
            token = page.get("nextToken")
            if not token or not page.get("events"):
                break
            kwargs["nextToken"] = token
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return []
        raise
    return sorted(out, key=lambda e: e.get("timestamp", 0))


def matching(events: list[dict[str, Any]], needle: str) -> list[dict[str, Any]]:
    low = needle.lower()
    return [e for e in events if low in str(e.get("message", "")).lower()]
