"""The drill deploys what a recovery would deploy: each family's latest registered revision (issue 11).

Seen: a web-ui revision registered with a stale password but not yet deployed left health with
one finding ("runs :2 but :3 is registered") and the drill, which cloned the running :2, green;
the plan's §4.2.3-4.2.4 (terraform apply, then a deployment) would roll out :3 and fail.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from recovery.drill import engine
from recovery.drill.context import DrillOptions
from recovery.drill.scan import scan
from recovery.errors import StepFailed
from tests.conftest import SuiteRun, twin_env
from tests.drill.conftest import DrillEnv, has_data_plane
from twin.core import Twin

pytestmark = pytest.mark.slow


def register_without_deploying(
    twin: Twin, service: str, env_changes: dict[str, str], drop: tuple[str, ...] = ()
) -> str:
    """What `terraform apply` alone does: a new revision of the service's family, nothing deployed.

    `env_changes` go into the app container's environment; `drop` removes container fields.
    """
    ecs = twin.client("ecs")
    svc = ecs.describe_services(cluster="invenio-default-cluster", services=[service])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    keep = (
        "family",
        "taskRoleArn",
        "executionRoleArn",
        "networkMode",
        "containerDefinitions",
        "requiresCompatibilities",
        "cpu",
        "memory",
    )
    spec = {k: td[k] for k in keep if td.get(k)}
    for c in spec["containerDefinitions"]:
        for key in drop:
            c.pop(key, None)
        if c["name"] == "app":
            env = {e["name"]: e["value"] for e in c.get("environment", [])}
            env.update(env_changes)
            c["environment"] = [{"name": k, "value": v} for k, v in env.items()]
    return str(ecs.register_task_definition(**spec)["taskDefinition"]["taskDefinitionArn"])


def test_a_registered_but_undeployed_stale_password_fails_the_drill(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    assert has_data_plane(fresh_twin)
    newer = register_without_deploying(fresh_twin, "web-ui", {"RDS_DB_PASSWORD": "stale-password-from-february"})
    settings, aws = drill_env(fresh_twin)
    ctx = engine.begin(settings, aws, DrillOptions.from_settings(settings, drill_poll_seconds=0.5))
    with pytest.raises(StepFailed) as info:
        engine.run_drill(ctx)
    assert info.value.step == "restore"
    assert info.value.plan_section == "6.1", info.value.message
    assert newer.rsplit("/", 1)[-1] in info.value.message  # names the revision a recovery would deploy
    assert "stale-password-from-february" not in str(info.value)
    assert scan(ctx.client, "invenio", ctx.drill_id).found == []


def test_the_drill_reports_a_newer_registered_revision(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    newer = register_without_deploying(fresh_twin, "web-api", {"INVENIO_THEME_FRONTPAGE_TITLE": "Turath"})
    settings, aws = drill_env(fresh_twin)
    ctx = engine.begin(settings, aws, DrillOptions.from_settings(settings, drill_poll_seconds=0.5))
    result = engine.run_drill(ctx)
    differ = {d["service"]: d for d in result["deploys_newer_revision"]}
    assert set(differ) == {"web-api"}, differ
    assert differ["web-api"]["deployed_by_recovery"] == newer
    assert result["leftovers"] == []


def test_a_newer_revision_without_its_log_configuration_fails_only_the_log_check(
    fresh_twin: Twin, run_suite: Callable[..., SuiteRun]
) -> None:
    """Every step succeeds, yet the recovered copy would run blind: only its log check fails.

    A revision registered without `logConfiguration` (an edited module, a lost block) is what a
    recovery would deploy; its tasks write no line, so nobody could see `resolve-db-uri` succeed.
    """
    register_without_deploying(fresh_twin, "web-ui", {}, drop=("logConfiguration",))
    assert fresh_twin.info is not None
    env = {**twin_env(fresh_twin), "TURATH_DRILL_POLL_SECONDS": "0.5"}
    run = run_suite("-m", "drill", "-p", "no:randomly", env=env, timeout=300)
    outcomes = {c["id"]: c["outcome"] for c in run.results["checks"]}
    assert {cid for cid, o in outcomes.items() if o == "failed"} == {"logs_resolve_db_uri_succeeded"}, outcomes
    assert "error" not in outcomes.values()
    assert run.results["drill"]["failed_step"] is None
