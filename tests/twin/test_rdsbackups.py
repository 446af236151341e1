"""Deleting production's instance behaves as on AWS (issue 11 item 5): what outlives it, and restores from it.

Everything through the public API: DeleteDBInstance, DescribeDBSnapshots,
DescribeDBInstanceAutomatedBackups, RestoreDBInstance*, then SQL on what the restores serve.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.twin.test_rdsdata import count, wait_available
from twin.core import Twin

FINAL = "invenio-default-rds-final"
USERS = "SELECT count(*) FROM accounts_user"


def user_times(twin: Twin) -> list[datetime]:
    with psycopg.connect(twin.db_dsn(twin.spec.rds_instance)) as conn:
        return [row[0].replace(tzinfo=UTC) for row in conn.execute("SELECT created FROM accounts_user")]


def test_deleted_with_final_snapshot_and_retained_backups(fresh_twin: Twin) -> None:
    rds = fresh_twin.client("rds")
    prod = fresh_twin.spec.rds_instance
    created = user_times(fresh_twin)
    rds.delete_db_instance(DBInstanceIdentifier=prod, FinalDBSnapshotIdentifier=FINAL, DeleteAutomatedBackups=False)
    with pytest.raises(ClientError, match="DBInstanceNotFound"):
        rds.describe_db_instances(DBInstanceIdentifier=prod)

    snapshots = rds.describe_db_snapshots(DBInstanceIdentifier=prod)["DBSnapshots"]
    assert {s["SnapshotType"] for s in snapshots} == {"automated", "manual"}, "retained: automated ones stay"
    rds.get_waiter("db_snapshot_available").wait(
        DBSnapshotIdentifier=FINAL, WaiterConfig={"Delay": 1, "MaxAttempts": 20}
    )
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="from-final", DBSnapshotIdentifier=FINAL)
    wait_available(fresh_twin, "from-final")
    assert count(fresh_twin, "from-final", USERS) == len(created), "the final snapshot holds the data"

    backups = [
        b
        for b in rds.describe_db_instance_automated_backups(Filters=[{"Name": "db-instance-id", "Values": [prod]}])[
            "DBInstanceAutomatedBackups"
        ]
        if b["DBInstanceIdentifier"] == prod
    ]
    assert [b["Status"] for b in backups] == ["retained"]
    backup = backups[0]
    assert backup["DBInstanceAutomatedBackupsArn"].split(":")[5] == "auto-backup"
    window = backup["RestoreWindow"]
    assert window["EarliestTime"] < window["LatestTime"] <= datetime.now(UTC)

    rds.restore_db_instance_to_point_in_time(
        SourceDBInstanceAutomatedBackupsArn=backup["DBInstanceAutomatedBackupsArn"],
        TargetDBInstanceIdentifier="from-retained",
        UseLatestRestorableTime=True,
    )
    restored = wait_available(fresh_twin, "from-retained")
    assert restored["DBInstanceClass"] == "db.t4g.medium", "the retained backup keeps the instance's properties"
    latest = window["LatestTime"]
    assert count(fresh_twin, "from-retained", USERS) == sum(1 for t in created if t <= latest)

    with pytest.raises(ClientError, match="InvalidRestoreFault"):
        rds.restore_db_instance_to_point_in_time(
            SourceDBInstanceAutomatedBackupsArn=backup["DBInstanceAutomatedBackupsArn"],
            TargetDBInstanceIdentifier="too-late",
            RestoreTime=datetime.now(UTC),
        )


def test_deleted_without_retaining_loses_the_automated_backups(fresh_twin: Twin) -> None:
    rds = fresh_twin.client("rds")
    prod = fresh_twin.spec.rds_instance
    before = count(fresh_twin, prod, USERS)
    rds.delete_db_instance(DBInstanceIdentifier=prod, SkipFinalSnapshot=True)  # AWS's default deletes them
    snapshots = rds.describe_db_snapshots(DBInstanceIdentifier=prod)["DBSnapshots"]
    assert [s["SnapshotType"] for s in snapshots] == ["manual"]
    backups = rds.describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"]
    assert [b for b in backups if b["DBInstanceIdentifier"] == prod] == []
    # The manual snapshot outlives the instance with its own data (taken days before).
    rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="from-manual", DBSnapshotIdentifier=snapshots[0]["DBSnapshotIdentifier"]
    )
    wait_available(fresh_twin, "from-manual")
    assert 0 < count(fresh_twin, "from-manual", USERS) <= before
