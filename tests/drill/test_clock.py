"""RTO and RPO arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recovery.drill.clock import DrillClock, critical_path


def test_rto_spans_recovery_phases_not_verify_or_teardown() -> None:
    clock = DrillClock(rto_objective_seconds=3600, rpo_objective_seconds=300)
    for name in ("provision", "restore", "verify", "teardown"):
        with clock.phase(name):
            pass
    assert [p.name for p in clock.phases] == ["provision", "restore", "verify", "teardown"]
    assert all(p.outcome == "passed" and p.seconds is not None for p in clock.phases)
    rto = clock.rto_seconds()
    assert rto is not None
    assert rto <= (clock.phases[1].finished_at - clock.phases[0].started_at).total_seconds() + 5e-4  # type: ignore[operator]  # rounded to ms
    assert clock.summary()["rto_objective_seconds"] == 3600


def test_failed_phase_is_recorded_as_failed() -> None:
    clock = DrillClock(60, 300)
    with pytest.raises(RuntimeError), clock.phase("restore"):
        raise RuntimeError("boom")
    assert clock.phases[0].outcome == "failed"
    assert clock.phases[0].finished_at is not None


def test_rpo_is_the_worse_of_pitr_lag_and_measured_data_loss() -> None:
    at = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    clock = DrillClock(3600, 300)
    assert clock.rpo_seconds() is None
    clock.measure_pitr_lag(at - timedelta(seconds=95), at=at)
    assert clock.pitr_lag_seconds == 95
    clock.measure_data_loss(at, at - timedelta(hours=9))
    assert clock.data_loss_seconds == 9 * 3600
    assert clock.rpo_seconds() == 9 * 3600
    clock.measure_data_loss(at, at + timedelta(seconds=5))  # restored newer than production: no loss
    assert clock.rpo_seconds() == 95


def test_remaining_budget_never_below_the_minimum() -> None:
    start = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    now = [start]
    clock = DrillClock(600, 300, now=lambda: now[0])
    clock.start("provision")
    now[0] = start + timedelta(seconds=500)
    assert clock.remaining() == pytest.approx(100)
    now[0] = start + timedelta(seconds=5000)
    assert clock.remaining(minimum=60) == 60


def _phase(name: str, start: float, end: float) -> dict[str, object]:
    origin = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    return {
        "name": name,
        "started_at": (origin + timedelta(seconds=start)).isoformat(),
        "finished_at": (origin + timedelta(seconds=end)).isoformat(),
    }


def test_critical_path_skips_a_phase_that_ran_inside_another() -> None:
    """Provisioning (3 min) inside the restore (30 min) is not what the RTO waited on."""
    phases = [
        _phase("snapshot_gate", 0, 5),
        _phase("restore", 5, 1805),
        _phase("provision", 6, 186),
        _phase("redeploy", 1805, 2000),
        _phase("reindex", 2000, 2300),
        _phase("verify", 2300, 2400),
        _phase("teardown", 2400, 3000),
    ]
    assert critical_path(phases) == ["snapshot_gate", "restore", "redeploy", "reindex"]
    # Were provisioning the longer one, it would be on the path instead.
    phases[2] = _phase("provision", 6, 1900)
    phases[3] = _phase("redeploy", 1900, 2000)
    assert critical_path(phases) == ["snapshot_gate", "provision", "redeploy", "reindex"]


def test_a_phase_started_early_goes_on_when_its_step_runs() -> None:
    clock = DrillClock(3600, 300)
    early = clock.start("restore")
    with clock.phase("provision"):
        pass
    with clock.phase("restore") as current:
        assert current is early
    assert [p.name for p in clock.phases] == ["restore", "provision"]
    assert early.finished_at is not None
    assert early.outcome == "passed"
