"""The drill's safety invariant: it changes only what it created (DESIGN safety invariant 2).

Real botocore clients against the twin; the twin's recorder proves a refused call never left.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from recovery.drill.context import DrillAws, make_guard
from recovery.drill.guard import Guard, UnsafeCall, targets_of
from recovery.drill.lock import NAME as LOCK_NAME
from recovery.drill.naming import DrillNames
from tests.drill.conftest import DrillEnv
from twin.core import Twin

NAMES = DrillNames("invenio", "dguard1", datetime(2026, 11, 24, tzinfo=UTC))


def mutating_ops(twin: Twin) -> list[str]:
    return [o.name for o in twin.operations() if not o.read_only]


def test_mutating_call_on_production_is_refused_before_it_is_sent(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    _, aws = drill_env(fresh_twin)
    clients = DrillAws(aws, make_guard(NAMES))
    fresh_twin.server.recorder.clear()
    with pytest.raises(UnsafeCall, match="invenio-default-rds"):
        clients.client("rds").delete_db_instance(DBInstanceIdentifier="invenio-default-rds", SkipFinalSnapshot=True)
    with pytest.raises(UnsafeCall, match="invenio-default-cluster"):
        clients.client("ecs").update_service(cluster="invenio-default-cluster", service="web-ui", desiredCount=0)
    with pytest.raises(UnsafeCall):
        clients.client("s3").put_object(Bucket="invenio-default-files", Key="x", Body=b"x")
    assert mutating_ops(fresh_twin) == []
    assert fresh_twin.client("rds").describe_db_instances(DBInstanceIdentifier="invenio-default-rds")["DBInstances"]


def test_drill_resources_may_change_and_reads_are_free(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    _, aws = drill_env(fresh_twin)
    ecs = DrillAws(aws, make_guard(NAMES)).client("ecs")
    ecs.describe_services(cluster="invenio-default-cluster", services=["web-ui"])
    ecs.create_cluster(clusterName=NAMES.cluster, tags=NAMES.ecs_tags())
    ecs.delete_cluster(cluster=NAMES.cluster)
    assert mutating_ops(fresh_twin)[-2:] == ["CreateCluster", "DeleteCluster"]


def test_restore_reads_the_production_snapshot_but_targets_a_drill_name() -> None:
    params = {"DBInstanceIdentifier": NAMES.db_instance, "DBSnapshotIdentifier": "rds:invenio-default-rds-x"}
    assert targets_of("rds", "RestoreDBInstanceFromDBSnapshot", params) == [NAMES.db_instance]
    Guard(NAMES).judge("rds", "RestoreDBInstanceFromDBSnapshot", params)
    with pytest.raises(UnsafeCall):
        Guard(NAMES).judge("rds", "RestoreDBInstanceFromDBSnapshot", {**params, "DBInstanceIdentifier": "prod-copy"})


def test_unknown_mutation_without_a_provable_target_is_refused() -> None:
    with pytest.raises(UnsafeCall, match="no target"):
        Guard(NAMES).judge("ecs", "PutAccountSetting", {"name": "awsvpcTrunking", "value": "enabled"})


def test_lock_is_the_only_exception_and_plan_guard_refuses_everything(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    guard = make_guard(NAMES)
    guard.judge("ssm", "PutParameter", {"Name": LOCK_NAME, "Value": "x"})
    with pytest.raises(UnsafeCall):
        guard.judge("ssm", "PutParameter", {"Name": "/invenio/db-password", "Value": "x"})
    _, aws = drill_env(fresh_twin)
    plan_ecs = DrillAws(aws, Guard(NAMES, read_only=True)).client("ecs")
    with pytest.raises(UnsafeCall, match="read-only"):
        plan_ecs.create_cluster(clusterName=NAMES.cluster)


def test_refused_error_is_a_typed_recovery_error() -> None:
    from recovery.errors import RecoveryError

    assert issubclass(UnsafeCall, RecoveryError)
    assert not issubclass(UnsafeCall, ClientError)
