"""RTO and RPO, measured: wall time per phase, and the data a recovery would lose.

RTO: from the start of the first phase to the end of the last recovery phase (teardown is
recorded but not part of the recovery). RPO has two parts that are reported separately:
the point-in-time lag (now - LatestRestorableTime when the drill starts: the best any restore
could do) and the measured data loss (newest change in production before the drill started
minus newest change in the restored database). `rpo_seconds` is the worse of the two; adding
them would count the same minutes twice when the drill restores to the latest restorable time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from recovery.progress import PHASE_END, PHASE_START, Event, emit
from recovery.timeutil import as_utc, iso, utcnow

TEARDOWN = "teardown"
NOT_RECOVERY = (TEARDOWN, "verify")  # RTO: provision + restore + redeploy + storage + reindex


@dataclass
class Phase:
    name: str
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str = "running"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at) if self.finished_at else None,
            "seconds": self.seconds,
            "outcome": self.outcome,
        }


@dataclass
class DrillClock:
    """Phases with timestamps; RTO and RPO against their objectives (settings.rto/rpo_seconds)."""

    rto_objective_seconds: int
    rpo_objective_seconds: int
    now: Callable[[], datetime] = utcnow
    phases: list[Phase] = field(default_factory=list)
    pitr_lag_seconds: float | None = None
    data_loss_seconds: float | None = None
    _mono: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[Phase]:
        """Time one phase; its outcome is 'passed' or 'failed' (the exception propagates).

        A phase already running under that name (its operation was started early) goes on.
        """
        current = self.running(name) or self.start(name)
        try:
            yield current
        except BaseException:
            self.finish(current, "failed")
            raise
        self.finish(current, "passed")

    def start(self, name: str) -> Phase:
        current = Phase(name, self.now())
        self.phases.append(current)
        self._mono[name] = time.monotonic()
        emit(Event(PHASE_START, name))
        return current

    def finish(self, current: Phase, outcome: str) -> None:
        # Monotonic elapsed time, anchored on the wall-clock start: immune to clock steps.
        elapsed = time.monotonic() - self._mono.get(current.name, time.monotonic())
        current.finished_at = current.started_at + timedelta(seconds=elapsed)
        current.outcome = outcome
        emit(Event(PHASE_END, current.name, elapsed, outcome))

    def running(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name and p.finished_at is None), None)

    def finish_running(self, name: str, outcome: str) -> None:
        """Finish phase `name` if it is still running (a phase that spans several checks)."""
        for current in self.phases:
            if current.name == name and current.finished_at is None:
                self.finish(current, outcome)

    @property
    def started_at(self) -> datetime | None:
        return self.phases[0].started_at if self.phases else None

    def elapsed(self) -> float:
        start = self.started_at
        return (self.now() - start).total_seconds() if start else 0.0

    def remaining(self, minimum: float = 60.0) -> float:
        """Seconds left of the RTO objective (at least `minimum`, so a late step still gets a chance)."""
        return max(minimum, self.rto_objective_seconds - self.elapsed())

    def rto_seconds(self) -> float | None:
        recovery = [p for p in self.phases if p.name not in NOT_RECOVERY and p.finished_at is not None]
        if not recovery or self.started_at is None:
            return None
        end = max(p.finished_at for p in recovery if p.finished_at is not None)
        return round((end - self.started_at).total_seconds(), 3)

    def measure_pitr_lag(self, latest_restorable: datetime | str | None, at: datetime | None = None) -> None:
        if latest_restorable is not None:
            self.pitr_lag_seconds = round(((at or self.now()) - as_utc(latest_restorable)).total_seconds(), 3)

    def measure_data_loss(self, production_newest: datetime | None, restored_newest: datetime | None) -> None:
        if production_newest is not None and restored_newest is not None:
            self.data_loss_seconds = round(max(0.0, (production_newest - restored_newest).total_seconds()), 3)

    def rpo_seconds(self) -> float | None:
        parts = [p for p in (self.pitr_lag_seconds, self.data_loss_seconds) if p is not None]
        return max(parts) if parts else None

    def summary(self) -> dict[str, Any]:
        phases = [p.as_dict() for p in self.phases]
        return {
            "phases": phases,
            "critical_path": critical_path(phases),
            "rto_seconds": self.rto_seconds(),
            "rto_objective_seconds": self.rto_objective_seconds,
            "rpo_seconds": self.rpo_seconds(),
            "rpo_objective_seconds": self.rpo_objective_seconds,
            "pitr_lag_seconds": self.pitr_lag_seconds,
            "data_loss_seconds": self.data_loss_seconds,
        }

    def restore_phases(self, saved: list[dict[str, Any]]) -> None:
        """Resume: phases finished by the earlier run count towards this drill's RTO."""
        for p in saved:
            if p.get("finished_at") and p.get("outcome") == "passed":
                self.phases.append(
                    Phase(p["name"], as_utc(p["started_at"]), as_utc(p["finished_at"]), p.get("outcome", "passed"))
                )


def critical_path(phases: list[dict[str, Any]]) -> list[str]:
    """The recovery phases the RTO waited on, first to last: from the last one to end, each
    predecessor is the phase that ended last before it began (a phase that ran inside another,
    as provisioning does while the database restores, is not on the path)."""
    timed = [
        (as_utc(p["started_at"]), as_utc(p["finished_at"]), str(p["name"]))
        for p in phases
        if p.get("started_at") and p.get("finished_at") and p.get("name") not in NOT_RECOVERY
    ]
    if not timed:
        return []
    slack = timedelta(milliseconds=50)  # back-to-back phases: one ends as the next begins
    path = [max(timed, key=lambda t: t[1])]
    while True:
        before = [t for t in timed if t[1] <= path[-1][0] + slack and t not in path]
        if not before:
            return [name for _, _, name in reversed(path)]
        path.append(max(before, key=lambda t: t[1]))
