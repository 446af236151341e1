"""Timezone-aware UTC time and the one waiting helper."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from recovery.errors import WaitTimeout
from recovery.progress import WAITING, Event, emit

log = logging.getLogger(__name__)
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | str) -> datetime:
    """A boto3 datetime (maybe tzlocal) or an ISO string, as aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    return as_utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")


def human_age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def wait_until(
    predicate: Callable[[], T | None],
    *,
    timeout: float,
    interval: float,
    what: str,
    stop: threading.Event | None = None,
    status: Callable[[], str] | None = None,
    report_every: float = 10.0,
) -> T:
    """Poll `predicate` until it returns a truthy value; WaitTimeout after `timeout`.

    Every `report_every` seconds a progress event says what is waited for and, from `status`,
    where it stands (recovery.progress), so a 40-minute restore is never silent.
    """
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    next_report = started + report_every
    pause = stop or threading.Event()
    attempt = 0
    while True:
        attempt += 1
        result = predicate()
        now = time.monotonic()
        if result:
            log.info("%s: reached after %.1fs", what, now - started)
            return result
        if now >= deadline:
            raise WaitTimeout(f"{what}: not reached within {timeout:.0f}s ({attempt} checks)")
        if now >= next_report:
            next_report = now + report_every
            emit(Event(WAITING, what, now - started, status() if status else "", timeout))
        if pause.wait(interval):
            raise WaitTimeout(f"{what}: interrupted")
