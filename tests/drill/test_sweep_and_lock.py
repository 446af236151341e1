"""A drill killed with SIGKILL leaves resources and its lock: the sweep finds and removes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recovery.drill import steps
from recovery.drill.context import DrillOptions, lock_name
from recovery.drill.lock import LockHeld
from recovery.drill.naming import DrillNames
from recovery.drill.sweep import sweep
from recovery.drill.teardown import scan
from tests.drill.conftest import DrillEnv
from twin.core import Twin


def leave_dead_drill(twin: Twin, drill_id: str, created: datetime) -> DrillNames:
    """What a killed drill leaves: a tagged cluster, a log group, a task family and its lock."""
    names = DrillNames("invenio", drill_id, created)
    twin.client("ecs").create_cluster(clusterName=names.cluster, tags=names.ecs_tags())
    twin.client("logs").create_log_group(logGroupName=names.log_group("web-ui"), tags=names.tags())
    twin.client("ecs").register_task_definition(
        family=names.family("web-ui"),
        containerDefinitions=[{"name": "app", "image": "x", "memory": 512}],
        tags=names.ecs_tags(),
    )
    twin.client("ssm").put_parameter(
        Name=lock_name("invenio"),
        Value=f'{{"drill_id": "{drill_id}", "started": "{created.isoformat()}"}}',
        Type="String",
        Tags=names.tag_list(),
    )
    return names


def test_sweep_dry_run_lists_then_apply_removes(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    settings, aws = drill_env(fresh_twin)
    leave_dead_drill(fresh_twin, "ddead01", datetime.now(UTC) - timedelta(hours=30))
    found = sweep(settings, aws, older_than_hours=6)
    assert [d.drill_id for d in found] == ["ddead01"]
    kinds = {f.kind for f in found[0].resources}
    assert {"ecs-cluster", "log-group", "ecs-task-definition-family", "drill-lock"} <= kinds
    assert scan(aws.client, "invenio", "ddead01")  # dry run deleted nothing
    sweep(settings, aws, older_than_hours=6, apply=True)
    assert scan(aws.client, "invenio", "ddead01") == []
    assert fresh_twin.client("ecs").describe_clusters(clusters=["invenio-default-cluster"])["clusters"]


def test_sweep_leaves_young_drills_alone(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    settings, aws = drill_env(fresh_twin)
    leave_dead_drill(fresh_twin, "dyoung1", datetime.now(UTC) - timedelta(minutes=5))
    assert sweep(settings, aws, older_than_hours=6, apply=True) == []
    assert scan(aws.client, "invenio", "dyoung1")


def test_second_drill_on_the_same_target_is_locked_out(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    settings, aws = drill_env(fresh_twin)
    first = steps.begin(settings, aws, DrillOptions.from_settings(settings))
    with pytest.raises(LockHeld, match=first.drill_id):
        steps.begin(settings, aws, DrillOptions.from_settings(settings))
    steps.finish(first)
    assert scan(aws.client, "invenio", first.drill_id) == []
    second = steps.begin(settings, aws, DrillOptions.from_settings(settings))
    steps.finish(second)
