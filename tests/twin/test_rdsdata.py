"""RDS in the twin behaves like RDS where the plan depends on it (real copies, PITR window, time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from botocore.exceptions import ClientError

from twin.core import Twin

RESTORED = "invenio-test-restored"


def count(twin: Twin, instance: str, sql: str) -> int:
    with psycopg.connect(twin.db_dsn(instance)) as conn:
        row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def wait_available(twin: Twin, instance: str) -> dict[str, object]:
    rds = twin.client("rds")
    rds.get_waiter("db_instance_available").wait(
        DBInstanceIdentifier=instance, WaiterConfig={"Delay": 1, "MaxAttempts": 20}
    )
    return dict(rds.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"][0])


def test_snapshot_is_a_copy_of_that_moment(fresh_twin: Twin) -> None:
    rds = fresh_twin.client("rds")
    prod = fresh_twin.spec.rds_instance
    before = count(fresh_twin, prod, "SELECT count(*) FROM accounts_user")
    rds.create_db_snapshot(DBInstanceIdentifier=prod, DBSnapshotIdentifier="probe-snap")
    status = rds.describe_db_snapshots(DBSnapshotIdentifier="probe-snap")["DBSnapshots"][0]["Status"]
    assert status == "creating", "a snapshot takes observable time"
    with psycopg.connect(fresh_twin.db_dsn(prod), autocommit=True) as conn:
        gone = "SELECT id FROM accounts_user WHERE id NOT IN (SELECT user_id FROM accounts_userrole)"
        conn.execute(f"DELETE FROM communities_members WHERE user_id IN ({gone})")  # RESTRICT key first
        conn.execute(f"DELETE FROM accounts_user WHERE id IN ({gone})")
    rds.get_waiter("db_snapshot_available").wait(
        DBSnapshotIdentifier="probe-snap", WaiterConfig={"Delay": 1, "MaxAttempts": 20}
    )
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=RESTORED, DBSnapshotIdentifier="probe-snap")
    restored = wait_available(fresh_twin, RESTORED)
    assert restored["Endpoint"] != rds.describe_db_instances(DBInstanceIdentifier=prod)["DBInstances"][0]["Endpoint"]
    assert count(fresh_twin, RESTORED, "SELECT count(*) FROM accounts_user") == before
    assert count(fresh_twin, prod, "SELECT count(*) FROM accounts_user") < before


def test_restored_instance_accepts_only_the_master_password(fresh_twin: Twin) -> None:
    rds = fresh_twin.client("rds")
    snap = rds.describe_db_snapshots(DBInstanceIdentifier=fresh_twin.spec.rds_instance)["DBSnapshots"][-1]
    rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier=RESTORED, DBSnapshotIdentifier=snap["DBSnapshotIdentifier"]
    )
    wait_available(fresh_twin, RESTORED)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(fresh_twin.db_dsn(RESTORED, password="not-the-password")).close()


def test_point_in_time_restore_holds_the_data_as_of_then(fresh_twin: Twin) -> None:
    rds = fresh_twin.client("rds")
    prod = fresh_twin.spec.rds_instance
    cutoff = datetime.now(UTC) - timedelta(days=3)
    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=prod, TargetDBInstanceIdentifier=RESTORED, RestoreTime=cutoff
    )
    wait_available(fresh_twin, RESTORED)
    later = "SELECT count(*) FROM rdm_records_metadata WHERE created > %s"
    with psycopg.connect(fresh_twin.db_dsn(RESTORED)) as conn:
        row = conn.execute(later, (cutoff.replace(tzinfo=None),)).fetchone()
    assert row == (0,)
    assert (
        0
        < count(fresh_twin, RESTORED, "SELECT count(*) FROM rdm_records_metadata")
        < count(fresh_twin, prod, "SELECT count(*) FROM rdm_records_metadata")
    )


@pytest.mark.parametrize("delta", [timedelta(days=8), timedelta(minutes=-30)])
def test_point_in_time_outside_the_window_is_refused(fresh_twin: Twin, delta: timedelta) -> None:
    with pytest.raises(ClientError, match="InvalidRestoreFault"):
        fresh_twin.client("rds").restore_db_instance_to_point_in_time(
            SourceDBInstanceIdentifier=fresh_twin.spec.rds_instance,
            TargetDBInstanceIdentifier=RESTORED,
            RestoreTime=datetime.now(UTC) - delta,
        )


def test_deleted_instance_stops_answering(fresh_twin: Twin) -> None:
    rds = fresh_twin.client("rds")
    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=fresh_twin.spec.rds_instance,
        TargetDBInstanceIdentifier=RESTORED,
        UseLatestRestorableTime=True,
    )
    wait_available(fresh_twin, RESTORED)
    dsn = fresh_twin.db_dsn(RESTORED)
    rds.delete_db_instance(DBInstanceIdentifier=RESTORED, SkipFinalSnapshot=True)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2).close()
