"""What a restore now would recover (recovery/gate.py) on a live library: no false alarm on an
ordinary day, and the drill's default recovery point is one such an account always has."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from recovery import gate
from recovery.aws.session import Aws, StaticCredentials
from recovery.errors import StepFailed
from recovery.settings import Settings, load_settings
from twin.core import Twin


def _clients(twin: Twin, tmp_path: Path) -> tuple[Settings, Aws]:
    assert twin.info is not None
    settings = load_settings(
        cli={"endpoint_url": twin.info.endpoint_url, "target": "aws", "reports_dir": str(tmp_path)},
        environ={},
        dotenv_path=None,
    )
    return settings, Aws(settings, StaticCredentials(twin.info.access_key, twin.info.secret_key))


def _choose(twin: Twin, tmp_path: Path, **kw: object) -> gate.GateDecision:
    settings, aws = _clients(twin, tmp_path)
    return gate.choose(
        aws.client("rds"),
        aws.client("s3"),
        instance_id=settings.rds_instance,
        files_bucket=settings.files_bucket,
        min_gb=int(kw.pop("min_gb", settings.snapshot_min_gb)),  # type: ignore[call-overload]
        now=datetime.now(UTC),
        **kw,  # type: ignore[arg-type]
    )


def test_healthy_pitr_is_the_default_recovery_point(fresh_twin: Twin, tmp_path: Path) -> None:
    decision = _choose(fresh_twin, tmp_path)
    assert decision.mode == "point-in-time"
    assert decision.use_latest
    assert "PITR is healthy" in decision.reason
    state = decision.as_state()
    assert {"mode", "recovery_point", "snapshot", "restore_time", "use_latest", "rows", "window", "reason"} <= set(
        state
    )


def test_without_pitr_the_newest_passing_snapshot_is_restored_despite_later_uploads(
    fresh_twin: Twin, tmp_path: Path
) -> None:
    """Uploads after the nightly snapshot are an ordinary day: a data-loss window, never a refusal."""
    fresh_twin.apply_faults(("pitr-lagging", "nightly-snapshot-running"))
    time.sleep(1.5)  # longer than the twin's status transitions: the snapshot must still be in progress
    decision = _choose(fresh_twin, tmp_path)
    assert decision.mode == "snapshot"
    assert decision.in_progress, "tonight's snapshot being created is listed, not judged"
    chosen = next(r for r in decision.rows if r.snapshot == decision.snapshot_id)
    assert chosen is decision.rows[0]
    assert chosen.verdict == "pass"
    assert (chosen.loss_seconds or 0) > 0
    assert any("misses uploads" in n for n in chosen.notes)
    assert "PITR lag" in decision.reason
    assert decision.snapshot_id not in decision.in_progress


def test_without_pitr_and_no_usable_snapshot_the_gate_refuses_with_the_table(fresh_twin: Twin, tmp_path: Path) -> None:
    fresh_twin.apply_faults(("pitr-lagging",))
    with pytest.raises(StepFailed) as info:
        _choose(fresh_twin, tmp_path, min_gb=101)  # twin snapshots are 100 GiB
    assert info.value.step == "snapshot_gate"
    assert any("100 GiB < 101 GB" in r for r in info.value.diagnostics["checklist"][0]["reasons"])
    assert "PITR lag" in str(info.value.diagnostics["pitr"])


def test_readiness_of_a_live_library(fresh_twin: Twin, tmp_path: Path) -> None:
    settings, aws = _clients(fresh_twin, tmp_path)
    rds = aws.client("rds")
    instance = rds.describe_db_instances(DBInstanceIdentifier=settings.rds_instance)["DBInstances"][0]
    snaps = rds.describe_db_snapshots(DBInstanceIdentifier=settings.rds_instance)["DBSnapshots"]
    upload = datetime.now(UTC)
    ready = gate.readiness(rds, instance, snaps, min_gb=1, now=datetime.now(UTC), upload=upload)
    assert ready.pitr.healthy
    assert ready.fallback is not None
    assert ready.fallback.verdict == "pass"
    assert (ready.fallback.loss_seconds or 0) > 0


def test_an_old_fallback_fails_the_freshness_rule() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    snap = {
        "DBSnapshotIdentifier": "rds:x-2026-11-20-03-12",
        "SnapshotCreateTime": datetime(2026, 11, 20, 3, 12, tzinfo=UTC),
        "AllocatedStorage": 100,
        "Status": "available",
        "SnapshotType": "automated",
    }
    assert gate.judge_snapshot(snap, now, 1, None, [], max_age_hours=26).verdict == "fail"
    assert gate.judge_snapshot(snap, now, 1, None, []).verdict == "pass"
    candidates, taking = gate.split_in_progress([{**snap, "Status": "creating"}, snap])
    assert taking == ["rds:x-2026-11-20-03-12"]
    assert candidates == [snap]


def test_a_fresh_copy_of_an_old_snapshot_is_judged_by_when_its_data_was_taken(fresh_twin: Twin, tmp_path: Path) -> None:
    """CopyDBSnapshot (re-encrypting with another KMS key, sharing) gives the copy a new SnapshotCreateTime;
    its data is still its source's (OriginalSnapshotCreateTime). The newest *copy* is not the newest data."""
    fresh_twin.apply_faults(("pitr-lagging",))
    rds = fresh_twin.client("rds")
    prod = fresh_twin.spec.rds_instance
    manual = rds.describe_db_snapshots(DBInstanceIdentifier=prod, SnapshotType="manual")["DBSnapshots"][0]
    copy = rds.copy_db_snapshot(
        SourceDBSnapshotIdentifier=manual["DBSnapshotIdentifier"],
        TargetDBSnapshotIdentifier=f"{prod}-pre-upgrade-reencrypted",
    )["DBSnapshot"]
    assert copy["SnapshotCreateTime"] > manual["SnapshotCreateTime"] + timedelta(days=2)
    decision = _choose(fresh_twin, tmp_path)
    assert decision.mode == "snapshot"
    assert decision.snapshot_id != copy["DBSnapshotIdentifier"], "the copy holds data days old"
    row = next(r for r in decision.rows if r.snapshot == copy["DBSnapshotIdentifier"])
    assert row.created == manual["SnapshotCreateTime"].astimezone(UTC)
    assert decision.recovery_point > row.created
    # Its data is the source's: a restore of the copy holds no record created after the source was taken.
    rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="copy-restored", DBSnapshotIdentifier=copy["DBSnapshotIdentifier"]
    )
    waiter = rds.get_waiter("db_instance_available")
    waiter.wait(DBInstanceIdentifier="copy-restored", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    taken = manual["SnapshotCreateTime"].astimezone(UTC).replace(tzinfo=None)
    with psycopg.connect(fresh_twin.db_dsn("copy-restored")) as conn:
        later = conn.execute("SELECT count(*) FROM rdm_records_metadata WHERE created > %s", (taken,)).fetchone()
    assert later == (0,)
