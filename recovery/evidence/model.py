"""The results model: checks, the run's outcome, the drill section, human units (results.json).

Good: `passed` only when at least one check ran, none failed or errored, and no critical check
was skipped without an accepted reason; `incomplete` when one was (the run proves less than it
claims); `failed` otherwise. Field names follow DESIGN.md's contract; additions only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

OUTCOMES = ("passed", "failed", "error", "skipped")
RUN_OUTCOMES = ("passed", "failed", "incomplete")
# A skipped check of these severities leaves the run incomplete unless the deployment accepted it.
CRITICAL_SEVERITIES = ("critical", "high")

DRILL_DEFAULTS: dict[str, Any] = {
    "id": None,
    "snapshot": None,
    "phases": [],
    "rto_seconds": None,
    "rto_objective_seconds": None,
    "rpo_seconds": None,
    "rpo_objective_seconds": None,
    "leftovers": [],
}


@dataclass
class CheckResult:
    """One check as results.json carries it; `outcome` is None until a phase decides it."""

    id: str
    plan_section: str
    severity: str
    remediation: str
    outcome: str | None = None
    message: str = ""
    environment: str = ""  # "production", or "drill <id> (<site>)" for the recovered copy
    observed: list[str] = field(default_factory=list)
    title: str = ""

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "plan_section": self.plan_section,
            "severity": self.severity,
            "outcome": self.outcome or "error",
            "message": self.message if self.outcome else "did not finish (run interrupted)",
            "remediation": self.remediation,
            "observed": list(self.observed),
        }
        if self.environment:
            doc["environment"] = self.environment
        if self.title:
            doc["title"] = self.title
        return doc


def parse_accepted_skips(raw: str) -> dict[str, str]:
    """'check_id:who and why, other_id:who' -> {check_id: who}; an entry without ':' names no one."""
    accepted: dict[str, str] = {}
    for entry in raw.split(","):
        check_id, _, who = entry.partition(":")
        if check_id.strip():
            accepted[check_id.strip()] = who.strip() or "accepted (no name given)"
    return accepted


def not_checked(checks: Iterable[Mapping[str, Any]], accepted: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every skipped check: id, severity, why it was not checked, and who accepted the skip (if anyone)."""
    out = []
    for c in checks:
        if c["outcome"] != "skipped":
            continue
        out.append(
            {
                "id": c["id"],
                "severity": c["severity"],
                "plan_section": c["plan_section"],
                "reason": c["message"],
                "critical": c["severity"] in CRITICAL_SEVERITIES,
                "accepted_by": accepted.get(c["id"]),
            }
        )
    return out


def results_outcome(
    checks: Iterable[Mapping[str, Any]], accepted: Mapping[str, str] | None = None, *, collect_errors: int = 0
) -> str:
    """'failed' if anything failed, errored or did not import; 'incomplete' if a critical check was
    skipped and nobody accepted it; 'passed' if at least one check ran; otherwise 'incomplete'."""
    rows = list(checks)
    outcomes = {c["outcome"] for c in rows}
    if collect_errors or {"failed", "error"} & outcomes:
        return "failed"
    missing = [s for s in not_checked(rows, accepted or {}) if s["critical"] and not s["accepted_by"]]
    if missing or not outcomes - {"skipped"}:
        return "incomplete"
    return "passed"


def summary(checks: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(OUTCOMES, 0)
    for c in checks:
        counts[c["outcome"]] = counts.get(c["outcome"], 0) + 1
    return counts


def jsonable(data: Any) -> Any:
    """Datetimes as ISO strings with zone, sets sorted, anything else by its (masked) str."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime):
            return utc_iso(value)
        if isinstance(value, set | frozenset):
            return sorted(value, key=str)
        return str(value)  # Secret's str is masked

    return json.loads(json.dumps(data, default=default))


def utc_iso(moment: datetime) -> str:
    """The one timestamp format of the evidence: ISO-8601, seconds, UTC as Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def human_duration(seconds: float | None) -> str:
    """8.2 s, 4 min 5 s, 2 h 10 min, 3 d 4 h: a duration a person reads at a glance."""
    if seconds is None:
        return "not measured"
    s = abs(seconds)
    if s < 60:
        return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"
    if s < 3600:
        m, rest = divmod(round(s), 60)
        return f"{m} min {rest} s" if rest else f"{m} min"
    if s < 86400:
        h, rest = divmod(round(s / 60), 60)
        return f"{h} h {rest} min" if rest else f"{h} h"
    d, rest = divmod(round(s / 3600), 24)
    return f"{d} d {rest} h" if rest else f"{d} d"


def drill_section(drill: Mapping[str, Any] | None) -> dict[str, Any]:
    """The drill plugin's data with every contract key present (null when the drill never got there)."""
    data = jsonable(dict(drill or {}))
    return {**DRILL_DEFAULTS, **data}


@dataclass(frozen=True)
class Measure:
    """A measured value against its objective: 'RTO 8.2 s of 1 h objective: met'."""

    name: str
    seconds: float | None
    objective: float | None

    @property
    def met(self) -> bool | None:
        if self.seconds is None or self.objective is None:
            return None
        return self.seconds <= self.objective

    def text(self) -> str:
        if self.objective is None:
            return f"{self.name} {human_duration(self.seconds)}"
        if self.met is None:
            return f"{self.name} not measured (objective {human_duration(self.objective)})"
        verdict = "met" if self.met else "BREACHED"
        return f"{self.name} {human_duration(self.seconds)} (objective {human_duration(self.objective)}): {verdict}"


def rto(drill: Mapping[str, Any]) -> Measure:
    return Measure("RTO", number(drill.get("rto_seconds")), number(drill.get("rto_objective_seconds")))


def rpo(drill: Mapping[str, Any]) -> Measure:
    return Measure("RPO", number(drill.get("rpo_seconds")), number(drill.get("rpo_objective_seconds")))


def rpo_detail(drill: Mapping[str, Any]) -> str:
    """Why the RPO is what it is: the point-in-time lag at the start and the data actually lost."""
    lag, loss = number(drill.get("pitr_lag_seconds")), number(drill.get("data_loss_seconds"))
    parts = []
    if lag is not None:
        parts.append(f"point-in-time lag {human_duration(lag)}")
    if loss is not None:
        parts.append(f"measured data loss {human_duration(loss)}")
    return ", ".join(parts)
