"""One drill per target (account + region) at a time: the SSM parameter `/turath-recovery/drill-lock`.

Why SSM: creating a parameter that already exists fails atomically (Overwrite=False), it needs
no table of its own, it is regional like everything a drill touches, and it changes nothing of
production. The name does not depend on TURATH_DRILL_PREFIX: two operators with different
prefixes on one account still exclude each other.

The value records the owner (drill id, host, pid, prefix, start) and a heartbeat the running
drill renews every TURATH_DRILL_HEARTBEAT_SECONDS. A lock whose heartbeat is older than
TURATH_DRILL_LOCK_STALE_SECONDS belongs to a dead drill: `python -m recovery sweep --drill-id ID
--apply` removes it with the drill's resources. A lock with a fresh heartbeat is never taken
over, so no operator action can destroy a drill that is still running.

IAM: ssm:GetParameter, ssm:PutParameter, ssm:AddTagsToResource (tags at creation),
ssm:DeleteParameter on this one parameter's ARN. PutParameter with Overwrite=True rejects Tags,
so heartbeats send none.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from recovery.aws.session import error_code
from recovery.drill.ledger import DELETED, GONE
from recovery.errors import RecoveryError
from recovery.timeutil import as_utc, human_age, iso, utcnow

log = logging.getLogger(__name__)

NAME = "/turath-recovery/drill-lock"
KIND = "drill-lock"


class LockHeld(RecoveryError):
    """Another drill holds the target's drill lock."""


@dataclass(frozen=True)
class Owner:
    """Who holds the lock, and when it last said it was alive."""

    drill_id: str
    host: str
    pid: int
    prefix: str
    started: str
    heartbeat: str

    def age_seconds(self, now: datetime) -> float:
        """Seconds since the last heartbeat (a lock with an unreadable heartbeat counts as old)."""
        try:
            return (now - as_utc(self.heartbeat)).total_seconds()
        except ValueError:
            return float("inf")

    def alive(self, now: datetime, stale_seconds: float) -> bool:
        return self.age_seconds(now) <= stale_seconds

    def describe(self, now: datetime) -> str:
        return (
            f"drill {self.drill_id} (prefix {self.prefix}, started {self.started} on {self.host} pid {self.pid}, "
            f"last heartbeat {human_age(self.age_seconds(now))} ago)"
        )

    def value(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def parse(cls, raw: str) -> Owner:
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        return cls(
            drill_id=str(data.get("drill_id") or raw),
            host=str(data.get("host", "?")),
            pid=int(data.get("pid") or 0),
            prefix=str(data.get("prefix", "?")),
            started=str(data.get("started", "")),
            heartbeat=str(data.get("heartbeat") or data.get("started") or ""),
        )


def holder(ssm: Any) -> Owner | None:
    """The lock's owner, or None if nobody holds it."""
    try:
        value = ssm.get_parameter(Name=NAME)["Parameter"]["Value"]
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return None
        raise
    return Owner.parse(str(value))


def acquire(ssm: Any, drill_id: str, prefix: str, tags: list[dict[str, str]], stale_seconds: float) -> Owner:
    """Take the lock for `drill_id`, or LockHeld naming the holder and what to do.

    Resuming one's own drill re-takes a lock that still names it.
    """
    now = utcnow()
    current = holder(ssm)
    if current is not None and current.drill_id == drill_id:
        renewed = Owner(drill_id, socket.gethostname(), os.getpid(), prefix, current.started, iso(now))
        ssm.put_parameter(Name=NAME, Value=renewed.value(), Type="String", Overwrite=True)
        return renewed
    owner = Owner(drill_id, socket.gethostname(), os.getpid(), prefix, iso(now), iso(now))
    try:
        ssm.put_parameter(
            Name=NAME,
            Value=owner.value(),
            Type="String",
            Overwrite=False,
            Description="Turath recovery drill lock: one drill per account and region at a time",
            Tags=tags,
        )
    except ClientError as exc:
        if error_code(exc) != "ParameterAlreadyExists":
            raise
        other = holder(ssm)
        raise LockHeld(_refusal(other, now, stale_seconds)) from None
    return owner


def _refusal(other: Owner | None, now: datetime, stale_seconds: float) -> str:
    if other is None:
        return f"{NAME} was taken and released while this drill started: run it again"
    if other.alive(now, stale_seconds):
        return f"{other.describe(now)} holds {NAME} and is alive: wait for it to finish"
    return (
        f"{other.describe(now)} holds {NAME} but stopped renewing it (stale after {stale_seconds:.0f} s): remove "
        f"what it left and its lock with: python -m recovery sweep --drill-id {other.drill_id} --apply"
    )


def release(ssm: Any, drill_id: str) -> str:
    """Delete the lock if `drill_id` holds it; GONE if it is free or someone else's."""
    current = holder(ssm)
    if current is None or current.drill_id != drill_id:
        return GONE
    try:
        ssm.delete_parameter(Name=NAME)
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return GONE
        raise
    return DELETED


class Heartbeat:
    """Renews the lock's heartbeat from a daemon thread while the drill runs.

    It only ever overwrites a lock that still names its drill; if the lock was removed (a sweep
    judged the drill dead) it stops and says so rather than re-creating it.
    """

    def __init__(self, ssm: Any, owner: Owner, every_seconds: float) -> None:
        self._ssm = ssm
        self._owner = owner
        self._every = max(1.0, every_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, name=f"drill-lock-{self._owner.drill_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def beat(self) -> bool:
        current = holder(self._ssm)
        if current is None or current.drill_id != self._owner.drill_id:
            log.error("drill %s no longer holds %s; heartbeat stopped", self._owner.drill_id, NAME)
            return False
        self._owner = Owner(**{**asdict(self._owner), "heartbeat": iso(utcnow())})
        self._ssm.put_parameter(Name=NAME, Value=self._owner.value(), Type="String", Overwrite=True)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                if not self.beat():
                    return
            except (ClientError, BotoCoreError) as exc:  # a missed beat is retried; staleness is minutes
                log.warning("drill lock heartbeat failed: %s", exc)
