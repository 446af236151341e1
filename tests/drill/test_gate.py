"""The snapshot gate (plan 2.1.1, 6.2, 7) against the twin's real RDS API answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recovery import gate
from recovery.errors import ConfigError, StepFailed
from tests.drill.conftest import DrillEnv
from twin.core import Twin

LONG_AGO = "2020-01-01T00:00:00Z"


def choose(twin: Twin, drill_env: DrillEnv, **kw: str) -> gate.GateDecision:
    settings, aws = drill_env(twin)
    return gate.choose(
        aws.client("rds"),
        aws.client("s3"),
        instance_id=settings.rds_instance,
        files_bucket=settings.files_bucket,
        min_gb=kw.pop("min_gb", settings.snapshot_min_gb),  # type: ignore[arg-type]
        now=datetime.now(UTC),
        **kw,
    )


def test_newest_passing_snapshot_is_chosen(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    fresh_twin.apply_faults(("pitr-lagging",))  # PITR behind the RPO: the gate falls back on snapshots
    twin = fresh_twin
    decision = choose(twin, drill_env, last_upload_time=LONG_AGO)
    assert decision.mode == "snapshot"
    assert decision.snapshot_id == decision.rows[0].snapshot
    assert decision.rows[0].verdict == "pass"
    assert decision.recovery_point == decision.rows[0].created
    assert [r.created for r in decision.rows] == sorted((r.created for r in decision.rows), reverse=True)


def test_snapshot_older_than_the_last_upload_passes_with_its_data_loss_window(
    fresh_twin: Twin, drill_env: DrillEnv
) -> None:
    """On a live library uploads follow every nightly snapshot: a window of loss, not a refusal."""
    fresh_twin.apply_faults(("pitr-lagging",))  # PITR behind the RPO: the gate falls back on snapshots
    decision = choose(fresh_twin, drill_env, last_upload_time=datetime.now(UTC).isoformat())
    assert decision.mode == "snapshot"
    chosen = next(r for r in decision.rows if r.snapshot == decision.snapshot_id)
    assert chosen.verdict == "pass"
    assert chosen.loss_seconds > 0
    assert "misses" in decision.reason, decision.reason


def test_small_snapshot_fails_the_size_rule(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    fresh_twin.apply_faults(("pitr-lagging",))  # PITR behind the RPO: the gate falls back on snapshots
    twin = fresh_twin
    with pytest.raises(StepFailed) as info:
        choose(twin, drill_env, last_upload_time=LONG_AGO, min_gb=101)  # twin snapshots are 100 GiB
    reasons = info.value.diagnostics["checklist"][0]["reasons"]
    assert any("100 GiB < 101 GB" in r for r in reasons)


def test_snapshot_near_a_credential_reset_is_skipped() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    snap = {
        "DBSnapshotIdentifier": "rds:invenio-default-rds-2026-02-27-23-15",
        "SnapshotCreateTime": now - timedelta(hours=2),
        "AllocatedStorage": 100,
        "Status": "available",
        "SnapshotType": "automated",
    }
    reset = [{"date": gate.iso(now - timedelta(hours=2, minutes=10)), "message": "Reset master credentials"}]
    far = [{"date": gate.iso(now - timedelta(hours=5)), "message": "Reset master credentials"}]
    assert gate.judge_snapshot(snap, now, 1, None, reset).verdict == "fail"
    assert "Reset master credentials" in gate.judge_snapshot(snap, now, 1, None, reset).reasons[0]
    assert gate.judge_snapshot(snap, now, 1, None, far).verdict == "pass"
    assert gate.judge_snapshot({**snap, "Status": "creating"}, now, 1, None, []).verdict == "fail"


def test_point_in_time_inside_the_window_and_refused_outside(twin: Twin, drill_env: DrillEnv) -> None:
    twin.reset()
    latest = choose(twin, drill_env, restore_time="latest")
    assert latest.mode == "point-in-time"
    assert latest.use_latest
    assert latest.window is not None
    inside = latest.window[1] - timedelta(hours=1)
    assert choose(twin, drill_env, restore_time=inside.isoformat()).restore_time == inside
    with pytest.raises(StepFailed, match="outside"):
        choose(twin, drill_env, restore_time=(datetime.now(UTC) - timedelta(days=30)).isoformat())
    with pytest.raises(StepFailed, match="outside"):
        choose(twin, drill_env, restore_time=(datetime.now(UTC) + timedelta(hours=1)).isoformat())


def test_bad_restore_time_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TURATH_RESTORE_TIME"):
        gate.parse_restore_time("yesterday")
