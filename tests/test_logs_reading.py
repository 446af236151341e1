"""Reading CloudWatch Logs on a busy group: the lines sought are found whatever the volume around them.

Seen: the log checks read the window oldest first and stopped at 5,000 events, so on a group whose
window starts at a weeks-old deployment the newest entrypoint line was never read.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from recovery.aws import logs as logs_api
from twin.core import Twin

GROUP = "/test/busy-web-ui"


def _put(logs: object, stream: str, messages: list[str], start_ms: int) -> None:
    events = [{"timestamp": start_ms + i, "message": m} for i, m in enumerate(messages)]
    for i in range(0, len(events), 5000):  # PutLogEvents: at most 10,000 events and 1 MB per call
        logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events[i : i + 5000])  # type: ignore[attr-defined]


def test_the_newest_entrypoint_line_is_found_behind_thousands_of_requests(fresh_twin: Twin) -> None:
    logs = fresh_twin.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="web/app/1")
    start = int((time.time() - 3600) * 1000)
    ok = f"{logs_api.SUCCESS} (host db.internal)"
    broken = f"{logs_api.ENTRYPOINT_TAG} ERROR: could not resolve the DB URI"
    _put(logs, "web/app/1", [ok] + [f"GET /api/records?page={i} 200" for i in range(5000)] + [broken], start)
    since = datetime.fromtimestamp(start / 1000, tz=UTC) - timedelta(seconds=1)

    unfiltered = logs_api.events_since(logs, GROUP, since)
    assert len(unfiltered) == 5000  # the old reading: the first 5,000 ...
    assert broken not in {e["message"] for e in unfiltered}  # ... and not the newest line

    lines = logs_api.matching(
        logs_api.events_since(logs, GROUP, since, logs_api.ENTRYPOINT_TAG), logs_api.ENTRYPOINT_TAG
    )
    assert [e["message"] for e in lines] == [ok, broken]
    assert logs_api.events_since(logs, GROUP, since, "password authentication failed") == []
