"""Failures grouped by root cause: a failed drill step first with the checks it broke under it,
then the failed checks from the bottom of the stack up (data, deployment, storage, search, site).

Good: the person on call reads the cause before its consequences (an empty restored database
before the site that shows no records).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# Lower layers explain higher ones: a database without data explains a site without records.
_LAYERS = (
    "drill_restored_db",
    "drill_recovery_point",
    "rds_",
    "db_",
    "tfstate_",
    "ecs_",
    "logs_",
    "elasticache_",
    "mq_",
    "s3_",
    "files_",
    "drill_file",
    "opensearch_",
    "search_",
    "site_",
    "drill_rpo",
    "drill_rto",
    "drill_",
)
_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_STEP = re.compile(r"drill step '(?P<step>\w+)'")


def layer(check_id: str) -> int:
    return next((i for i, prefix in enumerate(_LAYERS) if check_id.startswith(prefix)), len(_LAYERS))


def step_of(check: Mapping[str, Any]) -> str | None:
    match = _STEP.search(str(check.get("message", "")))
    return match["step"] if match and check["outcome"] == "error" else None


def groups(checks: Iterable[Mapping[str, Any]], failed_step: str | None = None) -> list[dict[str, Any]]:
    """[{"cause": text, "check": the root check or None, "dependents": [checks]}], root cause first."""
    bad = [c for c in checks if c["outcome"] in ("failed", "error")]
    by_step: dict[str, list[Mapping[str, Any]]] = {}
    rest = []
    for c in bad:
        step = step_of(c)
        if step:
            by_step.setdefault(step, []).append(c)
        else:
            rest.append(c)
    out: list[dict[str, Any]] = []
    steps = list(by_step)
    if failed_step and failed_step not in steps:
        steps.insert(0, failed_step)
    elif failed_step:
        steps.remove(failed_step)
        steps.insert(0, failed_step)
    for step in steps:
        out.append({"cause": f"drill step '{step}' failed", "check": None, "dependents": by_step.get(step, [])})
    rest.sort(key=lambda c: (c["outcome"] != "failed", layer(c["id"]), _SEVERITY.get(c["severity"], 9)))
    out.extend({"cause": c["message"].split("\n")[0], "check": c, "dependents": []} for c in rest)
    return out


def root_cause(checks: Iterable[Mapping[str, Any]], failed_step: str | None = None) -> str | None:
    """One line: what to look at first (its fix is in the evidence, not in this line)."""
    found = groups(checks, failed_step)
    if not found:
        return None
    first = found[0]
    if first["check"] is None:
        diagnosis = next((d["message"] for d in first["dependents"] if d.get("message")), "")
        text = f"{first['cause']}: {diagnosis.split(' [error:')[0]}" if diagnosis else str(first["cause"])
    else:
        text = str(first["cause"])
    return text.split(" Fix: ")[0].rstrip(".")
