"""The twin keeps time for data: snapshots, point-in-time restores and master passwords as on RDS.

Every change here goes through the AWS API or SQL as the master user; every observation too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from recovery import db
from recovery.drill.clock import DrillClock
from tests.twin.test_rdsdata import RESTORED, wait_available
from twin.core import Twin

# Not an admin (holds no role, no direct grant): deleting one takes its memberships first.
PLAIN_USERS = (
    "SELECT id, email FROM accounts_user WHERE id NOT IN (SELECT user_id FROM accounts_userrole) "
    "AND id NOT IN (SELECT user_id FROM access_actionsusers) AND created <= %s ORDER BY updated DESC LIMIT %s"
)
# What the stand-in's /signup/ writes.
SIGNUP = (
    "INSERT INTO accounts_user (email, username, password, active, confirmed_at, created, updated, version_id) "
    "VALUES (%s, %s, 'x', true, NULL, timezone('utc', now()), timezone('utc', now()), 1) RETURNING updated"
)


def sql(twin: Twin, instance: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(twin.db_dsn(instance)) as conn:
        cur = conn.execute(statement, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def delete_users(twin: Twin, instance: str, ids: list[int]) -> None:
    with psycopg.connect(twin.db_dsn(instance)) as conn:
        conn.execute("DELETE FROM communities_members WHERE user_id = ANY(%s)", (ids,))
        conn.execute("DELETE FROM accounts_user WHERE id = ANY(%s)", (ids,))


def signup(twin: Twin, instance: str, email: str) -> datetime:
    created = sql(twin, instance, SIGNUP, (email, email.split("@")[0]))[0][0]
    return created.replace(tzinfo=UTC)  # type: ignore[no-any-return]


def emails(twin: Twin, instance: str) -> set[str]:
    return {str(row[0]) for row in sql(twin, instance, "SELECT email FROM accounts_user")}


def no_pitr_lag(twin: Twin) -> None:
    """Transaction logs archived at once (RDS: every 5 minutes), so a restore can reach seconds ago."""
    twin.backend("rds").databases[twin.spec.rds_instance].twin_pitr_lag = timedelta(0)


def test_snapshot_restore_holds_users_deleted_after_it_and_not_later_signups(fresh_twin: Twin) -> None:
    """Issue 11: 12 users deleted after the 03:12 snapshot were missing from a restore of it."""
    rds = fresh_twin.client("rds")
    prod = fresh_twin.spec.rds_instance
    nightly = rds.describe_db_snapshots(DBInstanceIdentifier=prod, SnapshotType="automated")["DBSnapshots"]
    snap = max(nightly, key=lambda s: s["SnapshotCreateTime"])
    taken = snap["SnapshotCreateTime"].astimezone(UTC).replace(tzinfo=None)
    users_then = {
        str(r[0]) for r in sql(fresh_twin, prod, "SELECT email FROM accounts_user WHERE created <= %s", (taken,))
    }
    doomed = sql(fresh_twin, prod, PLAIN_USERS, (taken, 12))
    assert len(doomed) == 12
    delete_users(fresh_twin, prod, [int(r[0]) for r in doomed])
    signup(fresh_twin, prod, "late.signup@example.org")

    rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier=RESTORED, DBSnapshotIdentifier=snap["DBSnapshotIdentifier"]
    )
    wait_available(fresh_twin, RESTORED)
    restored = emails(fresh_twin, RESTORED)
    assert {str(r[1]) for r in doomed} <= restored, "users deleted after the snapshot must be in its restore"
    assert "late.signup@example.org" not in restored
    assert restored == users_then, "the snapshot holds the users of its date, no more, no fewer"


def test_seeded_snapshot_lacks_what_was_created_since_its_date(fresh_twin: Twin) -> None:
    rds = fresh_twin.client("rds")
    prod = fresh_twin.spec.rds_instance
    snaps = rds.describe_db_snapshots(DBInstanceIdentifier=prod)["DBSnapshots"]
    three_days = datetime.now(UTC) - timedelta(days=3)
    snap = min(snaps, key=lambda s: abs(s["SnapshotCreateTime"] - three_days))
    taken = snap["SnapshotCreateTime"].astimezone(UTC).replace(tzinfo=None)
    created_since = "SELECT count(*) FROM rdm_records_metadata WHERE created > %s"
    assert sql(fresh_twin, prod, created_since, (taken,))[0][0] > 0, "records were uploaded since"
    older = "SELECT count(*) FROM rdm_records_metadata WHERE created <= %s"
    expected = sql(fresh_twin, prod, older, (taken,))[0][0]
    rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier=RESTORED, DBSnapshotIdentifier=snap["DBSnapshotIdentifier"]
    )
    wait_available(fresh_twin, RESTORED)
    assert sql(fresh_twin, RESTORED, created_since, (taken,))[0][0] == 0
    assert sql(fresh_twin, RESTORED, "SELECT count(*) FROM rdm_records_metadata")[0][0] == expected


def test_point_in_time_between_two_changes_holds_exactly_the_first(fresh_twin: Twin) -> None:
    rds = fresh_twin.client("rds")
    prod = fresh_twin.spec.rds_instance
    no_pitr_lag(fresh_twin)
    (first_gone, _), (second_gone, _) = (
        (int(a), b) for a, b in sql(fresh_twin, prod, PLAIN_USERS, (datetime.now(UTC), 2))
    )
    signup(fresh_twin, prod, "first@example.org")
    delete_users(fresh_twin, prod, [first_gone])
    between = datetime.now(UTC)
    signup(fresh_twin, prod, "second@example.org")
    delete_users(fresh_twin, prod, [second_gone])
    sql(fresh_twin, prod, "UPDATE accounts_user SET email = 'renamed@example.org' WHERE email = 'first@example.org'")

    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=prod, TargetDBInstanceIdentifier=RESTORED, RestoreTime=between
    )
    wait_available(fresh_twin, RESTORED)
    ids = {int(r[0]) for r in sql(fresh_twin, RESTORED, "SELECT id FROM accounts_user")}
    restored = emails(fresh_twin, RESTORED)
    assert "first@example.org" in restored, "the first change (an insert) is in"
    assert first_gone not in ids, "the first change (a delete) is in"
    assert "second@example.org" not in restored, "the second change (an insert) is not"
    assert second_gone in ids, "the second change (a delete) is not"
    assert "renamed@example.org" not in restored, "a later update is undone"

    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceIdentifier=prod, TargetDBInstanceIdentifier=f"{RESTORED}-latest", UseLatestRestorableTime=True
    )
    wait_available(fresh_twin, f"{RESTORED}-latest")
    assert emails(fresh_twin, f"{RESTORED}-latest") == emails(fresh_twin, prod)


def test_measured_data_loss_counts_only_changes_after_the_recovery_point(fresh_twin: Twin) -> None:
    """The drill's measure (newest change in production - newest change restored), on a snapshot restore."""
    rds = fresh_twin.client("rds")
    prod = fresh_twin.spec.rds_instance
    newest_before = signup(fresh_twin, prod, "before.snapshot@example.org")
    rds.create_db_snapshot(DBInstanceIdentifier=prod, DBSnapshotIdentifier="probe-recovery-point")
    rds.get_waiter("db_snapshot_available").wait(
        DBSnapshotIdentifier="probe-recovery-point", WaiterConfig={"Delay": 1, "MaxAttempts": 20}
    )
    # After the recovery point: the newest row is deleted, a new one inserted.
    sql(fresh_twin, prod, "DELETE FROM accounts_user WHERE email = 'before.snapshot@example.org'")
    newest_after = signup(fresh_twin, prod, "after.snapshot@example.org")
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=RESTORED, DBSnapshotIdentifier="probe-recovery-point")
    wait_available(fresh_twin, RESTORED)

    with psycopg.connect(fresh_twin.db_dsn(prod)) as conn:
        production_newest = db.newest_change(conn, before=datetime.now(UTC))
    with psycopg.connect(fresh_twin.db_dsn(RESTORED)) as conn:
        restored_newest = db.newest_change(conn)
    clock = DrillClock(rto_objective_seconds=3600, rpo_objective_seconds=300)
    clock.measure_data_loss(production_newest, restored_newest)
    assert restored_newest == newest_before
    assert production_newest == newest_after
    assert clock.data_loss_seconds == pytest.approx((newest_after - newest_before).total_seconds(), abs=0.001)


def test_master_password_reset_reaches_the_database_and_is_an_event(fresh_twin: Twin) -> None:
    rds = fresh_twin.client("rds")
    prod = fresh_twin.spec.rds_instance
    new_password = "Rotated" + "x" * 20
    started = datetime.now(UTC) - timedelta(seconds=1)
    rds.modify_db_instance(DBInstanceIdentifier=prod, MasterUserPassword=new_password, ApplyImmediately=True)
    status = rds.describe_db_instances(DBInstanceIdentifier=prod)["DBInstances"][0]["DBInstanceStatus"]
    assert status == "resetting-master-credentials"
    wait_available(fresh_twin, prod)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(fresh_twin.db_dsn(prod)).close()
    with psycopg.connect(fresh_twin.db_dsn(prod, password=new_password)) as conn:
        assert conn.execute("SELECT count(*) FROM accounts_user").fetchone() != (0,)
    events = rds.describe_events(SourceIdentifier=prod, SourceType="db-instance", StartTime=started)["Events"]
    resets = [e for e in events if e["Message"].startswith("Reset master credentials")]
    assert len(resets) == 1, events
    assert resets[0]["EventCategories"] == ["configuration change"]
    assert resets[0]["Date"] >= started
