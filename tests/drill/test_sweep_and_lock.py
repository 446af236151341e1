"""The lock, the sweep and ownership, reproducing what was seen (issue 8, observations 1, 2 and 4).

A drill killed with SIGKILL leaves resources and its lock: the sweep finds them from the
account and removes them, never a live drill's, never something only named like a drill.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from recovery.drill import engine, lock
from recovery.drill.context import DrillOptions
from recovery.drill.lock import LockHeld
from recovery.drill.naming import DrillNames
from recovery.drill.preflight import InvalidDrill
from recovery.drill.scan import scan
from recovery.drill.sweep import DrillAlive, sweep
from recovery.timeutil import iso
from tests.drill.conftest import DrillEnv
from twin.core import Twin


def hold_lock(twin: Twin, names: DrillNames, heartbeat: datetime, prefix: str = "invenio") -> None:
    owner = lock.Owner(names.drill_id, "elsewhere", 4242, prefix, iso(heartbeat), iso(heartbeat))
    twin.client("ssm").put_parameter(Name=lock.NAME, Value=owner.value(), Type="String", Tags=names.tag_list())


def leave_dead_drill(twin: Twin, drill_id: str, created: datetime, heartbeat: datetime | None = None) -> DrillNames:
    """What a killed drill leaves: a tagged cluster, a log group, a task family, a load balancer and its lock."""
    names = DrillNames("invenio", drill_id, created)
    twin.client("ecs").create_cluster(clusterName=names.cluster, tags=names.ecs_tags())
    twin.client("logs").create_log_group(logGroupName=names.log_group("web-ui"), tags=names.tags())
    twin.client("ecs").register_task_definition(
        family=names.family("web-ui"),
        containerDefinitions=[{"name": "app", "image": "x", "memory": 512}],
        tags=names.ecs_tags(),
    )
    elb, ec2 = twin.client("elbv2"), twin.client("ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    vpc = ec2.describe_subnets(SubnetIds=subnets)["Subnets"][0]["VpcId"]
    lb = elb.create_load_balancer(Name=names.load_balancer, Subnets=subnets, Tags=names.tag_list())
    tg = elb.create_target_group(
        Name=names.target_group("ui"), Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip", Tags=names.tag_list()
    )
    elb.create_listener(
        LoadBalancerArn=lb["LoadBalancers"][0]["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroups"][0]["TargetGroupArn"]}],
    )
    hold_lock(twin, names, heartbeat or created)
    return names


def test_sweep_dry_run_lists_exactly_what_apply_removes(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    """Without any ledger (another machine): found from the account, listener before target group."""
    settings, aws = drill_env(fresh_twin)
    leave_dead_drill(fresh_twin, "ddead01", datetime.now(UTC) - timedelta(hours=30))
    dry = sweep(settings, aws, older_than_hours=6)
    assert [d.drill_id for d in dry.drills] == ["ddead01"]
    listed = {(f.kind, f.id) for f in dry.drills[0].resources}
    kinds = {k for k, _ in listed}
    assert {"ecs-cluster", "log-group", "ecs-task-definition-family", "drill-lock", "elbv2-listener"} <= kinds
    assert {"elbv2-load-balancer", "elbv2-target-group"} <= kinds
    assert scan(aws.client, "invenio", "ddead01").found  # the dry run deleted nothing
    applied = sweep(settings, aws, older_than_hours=6, apply=True)
    removed = {(d["kind"], d["id"]) for d in applied.drills[0].deleted if d["status"] in ("deleted", "gone")}
    assert listed <= removed, listed - removed
    assert not applied.failed
    assert applied.drills[0].remaining == []
    assert scan(aws.client, "invenio", "ddead01").found == []
    assert lock.holder(fresh_twin.client("ssm")) is None
    assert fresh_twin.client("ecs").describe_clusters(clusters=["invenio-default-cluster"])["clusters"]


def test_sweep_leaves_untagged_look_alikes_alone(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    """Observation 4: a cluster and a log group merely named like a drill are not the drill's."""
    settings, aws = drill_env(fresh_twin)
    names = DrillNames("invenio", "dlookal", datetime.now(UTC) - timedelta(days=2))
    fresh_twin.client("ecs").create_cluster(clusterName=names.cluster)
    fresh_twin.client("logs").create_log_group(logGroupName=names.log_group("web-ui"))
    result = sweep(settings, aws, older_than_hours=0, apply=True)
    assert result.drills == []
    assert {(f.kind, f.id) for f in result.foreign} == {
        ("ecs-cluster", names.cluster),
        ("log-group", names.log_group("web-ui")),
    }
    assert fresh_twin.client("ecs").describe_clusters(clusters=[names.cluster])["clusters"][0]["status"] == "ACTIVE"


def test_sweep_never_touches_a_live_drill(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    """Observation 1: freeing a stranded lock must not kill a drill that is still running."""
    settings, aws = drill_env(fresh_twin)
    names = leave_dead_drill(fresh_twin, "dalive1", datetime.now(UTC) - timedelta(hours=30), datetime.now(UTC))
    with pytest.raises(DrillAlive, match="dalive1"):
        sweep(settings, aws, older_than_hours=0, apply=True, drill_id="dalive1")
    result = sweep(settings, aws, older_than_hours=0, apply=True)
    assert result.drills[0].skipped.startswith("alive")
    assert fresh_twin.client("ecs").describe_clusters(clusters=[names.cluster])["clusters"][0]["status"] == "ACTIVE"


def test_stale_lock_is_freed_by_sweep_drill_id_whatever_its_age(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    """Observation 1: a dead drill 5 minutes old (no heartbeat for 11 min) is swept by its id."""
    settings, aws = drill_env(fresh_twin)
    now = datetime.now(UTC)
    leave_dead_drill(fresh_twin, "dstale1", now - timedelta(minutes=15), now - timedelta(minutes=11))
    with pytest.raises(LockHeld, match="sweep --drill-id dstale1 --apply"):
        engine.begin(settings, aws, DrillOptions.from_settings(settings))
    result = sweep(settings, aws, older_than_hours=6, apply=True, drill_id="dstale1")
    assert not result.failed
    assert lock.holder(fresh_twin.client("ssm")) is None
    ctx = engine.begin(settings, aws, DrillOptions.from_settings(settings))
    engine.finish(ctx)


def test_mistyped_instance_is_one_line_and_leaves_the_lock_free(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    """Observation 1: TURATH_RDS_INSTANCE mistyped -> one line naming it, no lock, nothing created."""
    settings, aws = drill_env(fresh_twin, rds_instance="invenio-defualt-rds")
    with pytest.raises(InvalidDrill) as info:
        engine.begin(settings, aws, DrillOptions.from_settings(settings))
    assert str(info.value).startswith("configuration error: TURATH_RDS_INSTANCE:"), str(info.value)
    assert "\n" not in str(info.value)
    assert lock.holder(fresh_twin.client("ssm")) is None
    good, _ = drill_env(fresh_twin)
    engine.finish(engine.begin(good, aws, DrillOptions.from_settings(good)))


def test_failure_inside_begin_releases_the_lock(
    fresh_twin: Twin, drill_env: DrillEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, aws = drill_env(fresh_twin)

    def broken(ctx: object, instance_exists: bool) -> None:
        raise RuntimeError("describe failed")

    monkeypatch.setattr(engine, "_mark_start", broken)
    with pytest.raises(RuntimeError):
        engine.begin(settings, aws, DrillOptions.from_settings(settings))
    assert lock.holder(fresh_twin.client("ssm")) is None


def test_one_drill_per_account_and_region_whatever_the_prefix(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    """Observation 2: prefixes `invenio` and `turath` on one account exclude each other."""
    settings, aws = drill_env(fresh_twin)
    other, _ = drill_env(fresh_twin, drill_prefix="turath")
    first = engine.begin(settings, aws, DrillOptions.from_settings(settings))
    owner = json.loads(fresh_twin.client("ssm").get_parameter(Name=lock.NAME)["Parameter"]["Value"])
    assert {"drill_id", "host", "pid", "prefix", "started", "heartbeat"} <= set(owner)
    with pytest.raises(LockHeld, match=f"{first.drill_id}.*is alive"):
        engine.begin(other, aws, DrillOptions.from_settings(other))
    engine.finish(first)
    assert scan(aws.client, "invenio", first.drill_id).found == []
    second = engine.begin(other, aws, DrillOptions.from_settings(other))
    engine.finish(second)


def test_heartbeat_renews_the_lock(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    settings, aws = drill_env(fresh_twin)
    ctx = engine.begin(settings, aws, DrillOptions.from_settings(settings))
    before = lock.holder(fresh_twin.client("ssm"))
    assert ctx.heartbeat is not None
    assert ctx.heartbeat.beat()
    after = lock.holder(fresh_twin.client("ssm"))
    assert before is not None
    assert after is not None
    assert after.heartbeat >= before.heartbeat
    engine.finish(ctx)
    assert lock.holder(fresh_twin.client("ssm")) is None
