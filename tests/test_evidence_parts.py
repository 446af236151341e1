"""Parts of the evidence document: the timeline's axis and objective, human units, root-cause order."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from recovery.evidence import causes, timeline
from recovery.evidence.model import human_duration

T0 = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


def phases(*durations: float) -> list[dict[str, object]]:
    out, t = [], T0
    for i, seconds in enumerate(durations):
        out.append(
            {
                "name": f"p{i}",
                "started_at": t.isoformat(),
                "finished_at": (t + timedelta(seconds=seconds)).isoformat(),
                "seconds": seconds,
                "outcome": "passed",
            }
        )
        t += timedelta(seconds=seconds + 1)
    return out


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(8.17, "8.2 s"), (95, "1 min 35 s"), (300, "5 min"), (3600, "1 h"), (5183820, "60 d"), (None, "not measured")],
)
def test_human_units(seconds: float | None, text: str) -> None:
    assert human_duration(seconds) == text


def test_bars_start_at_their_offsets() -> None:
    bars = timeline.bars(phases(10, 20, 5))
    assert [(b.offset, b.seconds) for b in bars] == [(0.0, 10), (11.0, 20), (32.0, 5)]


def test_axis_reads_in_seconds_for_a_twin_drill_and_hours_for_an_aws_drill() -> None:
    fast = timeline.svg(phases(0.5, 1.4, 3.1), objective=None)
    assert re.search(r">\d+ s<", fast)
    slow = timeline.svg(phases(600, 2400, 900, 1800), objective=7200)
    ticks = re.findall(r'text-anchor="middle" fill="#444">([^<]+)<', slow)
    assert ticks
    assert all(t.endswith(("min", "h")) for t in ticks), ticks
    assert 'class="rto-objective"' in slow
    assert "RTO objective 2 h" in slow


def test_an_objective_far_beyond_the_phases_does_not_squash_them() -> None:
    svg = timeline.svg(phases(2, 3, 4), objective=3600)
    widths = [float(w) for w in re.findall(r'class="phase[^"]*" x="[\d.]+" y="\d+" width="([\d.]+)"', svg)]
    assert min(widths) > 50, widths
    assert "RTO objective 1 h lies beyond this axis" in svg


def test_failures_start_with_the_root_cause() -> None:
    checks = [
        {"id": "site_api_records_total_positive", "outcome": "failed", "severity": "critical", "message": "0 hits"},
        {"id": "drill_rpo_within_objective", "outcome": "failed", "severity": "high", "message": "60 d"},
        {
            "id": "drill_restored_db_has_users_and_records",
            "outcome": "failed",
            "severity": "critical",
            "message": "§6.2 x",
        },
        {"id": "site_homepage_ok", "outcome": "passed", "severity": "critical", "message": ""},
    ]
    assert [g["check"]["id"] for g in causes.groups(checks)] == [
        "drill_restored_db_has_users_and_records",
        "site_api_records_total_positive",
        "drill_rpo_within_objective",
    ]


def test_a_failed_step_leads_with_its_dependents_under_it() -> None:
    checks = [
        {
            "id": "db_users_present",
            "outcome": "error",
            "severity": "critical",
            "message": "§6.1 Password authentication failed: ... [error: drill step 'restore' failed; needed]",
        },
        {
            "id": "drill_rto_within_objective",
            "outcome": "error",
            "severity": "high",
            "message": "§6.1 ... [error: drill step 'restore' failed; this check needs it]",
        },
        {"id": "s3_files_bucket_versioning_enabled", "outcome": "failed", "severity": "high", "message": "off"},
    ]
    found = causes.groups(checks, failed_step="restore")
    assert found[0]["cause"] == "drill step 'restore' failed"
    assert [d["id"] for d in found[0]["dependents"]] == ["db_users_present", "drill_rto_within_objective"]
    assert causes.root_cause(checks, "restore").startswith("drill step 'restore' failed: §6.1 Password")
