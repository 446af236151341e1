"""Compliance controls (controls.json beside this module) judged from a run's checks and drill.

Good: each control reads control -> what it asks (our words) -> the checks and drill evidence
that answer it -> outcome. A control is `met` only when every mapped check of this run passed and
every drill evidence it names was shown; `not met` when one failed; otherwise it is `partly
evidenced` or `not evidenced by this run` (a health run cannot show a restore) and says what is
missing. `tests/test_controls.py` keeps every named check id in the check registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from recovery.evidence.model import number

PATH = Path(__file__).with_name("controls.json")
DRILL_EVIDENCE = {
    "restore": "the drill restored and verified a copy",
    "rto": "RTO measured within its objective",
    "rpo": "RPO measured within its objective",
    "teardown": "the drill left nothing behind",
}
MET, NOT_MET, PARTLY, NOT_EVIDENCED = "met", "not met", "partly evidenced", "not evidenced by this run"


def load(path: Path = PATH) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data["controls"])


def drill_evidence(drill: Mapping[str, Any] | None) -> dict[str, bool | None]:
    """What the drill section shows: True shown, False shown to fail, None not shown by this run."""
    if not drill or not drill.get("phases"):
        return dict.fromkeys(DRILL_EVIDENCE)
    phases = {p.get("name"): p.get("outcome") for p in drill.get("phases", []) if isinstance(p, dict)}
    failed = drill.get("failed_step")
    rto, rto_obj = number(drill.get("rto_seconds")), number(drill.get("rto_objective_seconds"))
    rpo, rpo_obj = number(drill.get("rpo_seconds")), number(drill.get("rpo_objective_seconds"))
    return {
        "restore": (not failed and phases.get("verify") == "passed") if "verify" in phases or failed else None,
        "rto": None if rto is None or rto_obj is None else rto <= rto_obj,
        "rpo": None if rpo is None or rpo_obj is None else rpo <= rpo_obj,
        "teardown": None if "teardown" not in phases else not drill.get("leftovers"),
    }


def judge(
    controls: Iterable[Mapping[str, Any]], checks: Iterable[Mapping[str, Any]], drill: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """results.json `controls`: per control, its mapped checks with their outcomes and its outcome."""
    outcomes: dict[str, str] = {}
    for c in checks:  # a per-environment check may run twice; the worse outcome counts
        prev = outcomes.get(c["id"])
        if prev is None or _rank(c["outcome"]) > _rank(prev):
            outcomes[c["id"]] = c["outcome"]
    shown = drill_evidence(drill)
    out = []
    for control in controls:
        mapped = [{"id": cid, "outcome": outcomes.get(cid, "not run")} for cid in control["checks"]]
        evidence = [{"key": k, "what": DRILL_EVIDENCE[k], "shown": shown.get(k)} for k in control.get("drill", [])]
        states = [m["outcome"] for m in mapped] + [
            {True: "passed", False: "failed", None: "not run"}[e["shown"]] for e in evidence
        ]
        if {"failed", "error"} & set(states):
            outcome = NOT_MET
        elif states and all(s == "passed" for s in states):
            outcome = MET
        elif "passed" in states:
            outcome = PARTLY
        else:
            outcome = NOT_EVIDENCED
        missing = [m["id"] for m in mapped if m["outcome"] in ("not run", "skipped")]
        missing += [e["what"] for e in evidence if e["shown"] is None]
        out.append(
            {
                "framework": control["framework"],
                "id": control["id"],
                "title": control["title"],
                "asks": control["asks"],
                "checks": mapped,
                "drill_evidence": evidence,
                "outcome": outcome,
                "missing": missing,
            }
        )
    return out


def _rank(outcome: str) -> int:
    return {"passed": 0, "skipped": 1, "error": 2, "failed": 3}.get(outcome, 1)
