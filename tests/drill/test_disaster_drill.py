"""The drill recovers without production's instance (issue 11 item 2).

Production's instance is deleted through the API, as the disaster would leave the account; the
drill then restores from what remains and says where each restore parameter came from.
"""

from __future__ import annotations

import pytest

from recovery.drill import engine
from recovery.drill.context import DrillOptions
from recovery.drill.steps import restore
from recovery.timeutil import iso
from tests.drill.conftest import DrillEnv
from twin.core import Twin

pytestmark = pytest.mark.slow

FINAL = "invenio-default-rds-final"


def test_drill_restores_the_final_snapshot_and_passes(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    prod = fresh_twin.spec.rds_instance
    rds = fresh_twin.client("rds")
    rds.delete_db_instance(DBInstanceIdentifier=prod, FinalDBSnapshotIdentifier=FINAL, DeleteAutomatedBackups=False)
    rds.get_waiter("db_snapshot_available").wait(
        DBSnapshotIdentifier=FINAL, WaiterConfig={"Delay": 1, "MaxAttempts": 20}
    )
    settings, aws = drill_env(fresh_twin)
    ctx = engine.begin(settings, aws, DrillOptions.from_settings(settings, drill_poll_seconds=0.5))
    result = engine.run_drill(ctx)
    assert result["failed_step"] is None, result["failure"]
    assert result["snapshot"] == FINAL, result["recovery_point_reason"]
    assert f"{prod} is gone" in result["recovery_point_reason"]
    assert result["leftovers"] == []
    verify = ctx.state.verify
    assert verify is not None
    assert verify.restored["users"] > 0
    assert ctx.state.reindex is not None
    assert ctx.state.reindex.total == ctx.state.reindex.expected
    sources = result["restore_sources"]
    assert sources["KmsKeyId"]["source"] == f"snapshot {FINAL}"
    assert sources["DBInstanceClass"]["source"].startswith("RDS default"), (
        "nothing names a class: RDS keeps the source's"
    )
    assert "production instance" not in " ".join(v["source"] for v in sources.values())


def test_drill_restores_a_point_in_time_from_retained_backups(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    prod = fresh_twin.spec.rds_instance
    rds = fresh_twin.client("rds")
    for snap in rds.describe_db_snapshots(DBInstanceIdentifier=prod, SnapshotType="manual")["DBSnapshots"]:
        rds.delete_db_snapshot(DBSnapshotIdentifier=snap["DBSnapshotIdentifier"])
    rds.delete_db_instance(DBInstanceIdentifier=prod, SkipFinalSnapshot=True, DeleteAutomatedBackups=False)
    [backup] = rds.describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"]
    settings, aws = drill_env(fresh_twin, rds_instance_class="db.t4g.large")
    ctx = engine.begin(settings, aws, DrillOptions.from_settings(settings, drill_poll_seconds=0.5))
    try:
        for step in ("snapshot_gate", "restore"):
            engine.run_step(ctx, step)
        point = ctx.state.recovery
        assert point is not None
        assert point.mode == "point-in-time"
        assert point.source_backup_arn == backup["DBInstanceAutomatedBackupsArn"]
        assert point.recovery_point == iso(backup["RestoreWindow"]["LatestTime"]), "the latest restorable time"
        restored = ctx.state.restored
        assert restored is not None
        assert restored.operation == "restore_db_instance_to_point_in_time"
        assert restored.instance_class == "db.t4g.large"
        assert restored.sources["DBInstanceClass"]["source"] == "setting TURATH_RDS_INSTANCE_CLASS"
        assert restored.sources["KmsKeyId"]["source"].startswith("retained automated backup ")
        with restore.restored_db(ctx) as conn:
            row = conn.execute("SELECT count(*) FROM accounts_user").fetchone()
        assert row is not None
        assert row[0] > 0
    finally:
        result = engine.finish(ctx)
    assert result["leftovers"] == []
    assert result["source_backup_arn"] == backup["DBInstanceAutomatedBackupsArn"]
