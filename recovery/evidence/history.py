"""reports/history.jsonl: one line per run, and the trend the drill report shows.

Good: every run that files evidence appends exactly one JSON line (mode, outcome, RTO and each
phase's seconds, RPO, counts, commit); the report compares this run's phases with the last runs of
the same mode and target and flags a phase beyond its budget or well beyond its median.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recovery.evidence.model import number

NAME = "history.jsonl"
TREND_RUNS = 10
# "Well beyond its median": more than twice the median of the earlier runs, and by more than this
# many seconds, so that sub-second twin phases do not raise alarms on noise.
MEDIAN_FACTOR, MEDIAN_SLACK_SECONDS = 2.0, 5.0


def parse_budgets(raw: str) -> dict[str, float]:
    """'restore=2400,redeploy=600' -> {phase: seconds}; malformed entries raise ValueError."""
    budgets: dict[str, float] = {}
    for entry in raw.split(","):
        if not entry.strip():
            continue
        name, sep, value = entry.partition("=")
        if not sep:
            raise ValueError(f"expected PHASE=SECONDS, got {entry.strip()!r}")
        budgets[name.strip()] = float(value)
    return budgets


def entry(results: Mapping[str, Any], commit: str | None, run: str) -> dict[str, Any]:
    """The history line of one results.json document."""
    drill = results.get("drill") or {}
    return {
        "run": run,
        "mode": results["mode"],
        "target": results.get("target"),
        "account": results.get("account"),
        "started_at": results.get("started_at"),
        "outcome": results["outcome"],
        "summary": results.get("summary", {}),
        "commit": commit,
        "rto_seconds": drill.get("rto_seconds"),
        "rpo_seconds": drill.get("rpo_seconds"),
        "pitr_lag_seconds": drill.get("pitr_lag_seconds"),
        "data_loss_seconds": drill.get("data_loss_seconds"),
        "phases": {p["name"]: p.get("seconds") for p in drill.get("phases", []) if isinstance(p, dict)},
    }


def read(path: Path) -> list[dict[str, Any]]:
    """Every readable line (a torn last line from a killed run is skipped)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def append(path: Path, line: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")


def trend(earlier: list[dict[str, Any]], current: Mapping[str, Any], budgets: Mapping[str, float]) -> dict[str, Any]:
    """The last runs of the same mode and target, and the phases of this run that regressed."""
    same = [h for h in earlier if h.get("mode") == current["mode"] and h.get("target") == current.get("target")]
    recent = same[-TREND_RUNS:]
    flags = []
    for name, seconds in (current.get("phases") or {}).items():
        value = number(seconds)
        if value is None:
            continue
        budget = budgets.get(name)
        if budget is not None and value > budget:
            flags.append({"phase": name, "seconds": value, "why": f"beyond its budget of {budget:g} s"})
            continue
        past = [v for h in recent if (v := number((h.get("phases") or {}).get(name))) is not None]
        if len(past) >= 3:
            median = statistics.median(past)
            if value > MEDIAN_FACTOR * median and value - median > MEDIAN_SLACK_SECONDS:
                flags.append(
                    {
                        "phase": name,
                        "seconds": value,
                        "why": f"well beyond its median of {median:.1f} s over {len(past)} runs",
                    }
                )
    return {"runs": [*recent, dict(current)], "flags": flags}
