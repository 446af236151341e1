"""The whole drill on the twin: passes and leaves nothing; a failure or Ctrl-C in any phase still
tears everything down (DESIGN safety invariants 2 and 3).

They run on the twin's data plane (databases behind RDS, rollouts, one-off tasks, a serving ALB)
and assert strictly: a step the twin cannot carry is a failure, not a skip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from recovery.drill import engine
from recovery.drill.context import DrillContext, DrillOptions
from recovery.drill.scan import scan
from recovery.drill.steps import BY_NAME, STEPS, provision, redeploy, restore
from recovery.errors import StepFailed
from tests.conftest import SuiteRun, twin_env
from tests.drill.conftest import DrillEnv, has_data_plane
from twin.core import Twin
from twin.faults import CATALOG, RECOVERED

pytestmark = pytest.mark.slow


@pytest.fixture
def data_twin(fresh_twin: Twin) -> Twin:
    assert has_data_plane(fresh_twin), "the twin must carry a drill: databases, rollouts and a site"
    return fresh_twin


def open_drill(twin: Twin, drill_env: DrillEnv) -> DrillContext:
    settings, aws = drill_env(twin)
    return engine.begin(settings, aws, DrillOptions.from_settings(settings, drill_poll_seconds=0.5))


def plan_context(twin: Twin, drill_env: DrillEnv) -> DrillContext:
    settings, aws = drill_env(twin)
    return engine.begin(settings, aws, DrillOptions.from_settings(settings, plan=True))


def test_full_drill_passes_and_leaves_nothing(data_twin: Twin, drill_env: DrillEnv) -> None:
    ctx = open_drill(data_twin, drill_env)
    result = engine.run_drill(ctx)
    assert result["leftovers"] == []
    # The restore starts before provisioning and ends after it: the database restores meanwhile.
    assert [p["name"] for p in result["phases"]] == [
        "snapshot_gate",
        "restore",
        "provision",
        *STEPS[3:],
        "verify",
        "teardown",
    ]
    phases = {p["name"]: p for p in result["phases"]}
    assert phases["restore"]["started_at"] <= phases["provision"]["started_at"]
    assert phases["restore"]["finished_at"] >= phases["provision"]["finished_at"]
    assert "provision" not in result["critical_path"]
    assert result["critical_path"][:2] == ["snapshot_gate", "restore"]
    made_in_order = [c.operation for c in ctx.aws.guard.mutating_calls()]
    assert made_in_order.index("RestoreDBInstanceToPointInTime") < made_in_order.index("CreateCluster")
    assert result["rto_seconds"] is not None
    assert result["rpo_seconds"] is not None
    reindex = ctx.state.reindex  # the search total the drill site reports vs the restored DB
    assert reindex is not None
    assert reindex.total == reindex.expected
    assert ctx.state.storage is not None
    assert all(s["ok"] for s in ctx.state.storage.samples)
    # Every mutating call went through the guard, which refuses any not on this drill's resources.
    assert ctx.aws.guard.mutating_calls()
    # --plan cannot drift from the drill: every call the drill made is one its plan names.
    planned = {
        (c.service, op) for c in engine.plan(plan_context(data_twin, drill_env)) for op in c.operation.split("+")
    }
    made = {(c.service, c.operation) for c in ctx.aws.guard.mutating_calls()}
    assert made - planned == set(), f"calls the plan does not show: {sorted(made - planned)}"
    assert all(ctx.names.owns(t) or "drill-lock" in t for c in ctx.aws.guard.mutating_calls() for t in _targets(c))


def _targets(call: object) -> list[str]:
    from recovery.drill.guard import targets_of

    return targets_of(call.service, call.operation, call.params)  # type: ignore[attr-defined]


def _inject(monkeypatch: pytest.MonkeyPatch, step: str, error: Callable[[], BaseException]) -> None:
    real = BY_NAME[step].run

    def broken(ctx: DrillContext) -> None:
        real(ctx)  # the step's resources exist when it breaks
        raise error()

    monkeypatch.setattr(BY_NAME[step], "run", broken)


@pytest.mark.parametrize("step", STEPS)
def test_failure_in_any_phase_names_it_and_tears_down(
    data_twin: Twin, drill_env: DrillEnv, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    _inject(monkeypatch, step, lambda: StepFailed(step, "injected"))
    ctx = open_drill(data_twin, drill_env)
    with pytest.raises(StepFailed) as info:
        engine.run_drill(ctx)
    assert scan(ctx.client, "invenio", ctx.drill_id).found == []
    assert ctx.ledger.torn_down
    assert "injected" in str(info.value)
    assert info.value.step == step


def test_a_restore_that_cannot_start_costs_no_provisioning(
    data_twin: Twin, drill_env: DrillEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The restore call goes first: when RDS refuses it, nothing of the environment was made."""
    real = restore.restore_call

    def refused(*args: Any, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        operation, params = real(*args, **kwargs)  # a source RDS does not know: RDS refuses the call
        source = "SourceDBInstanceIdentifier" if "SourceDBInstanceIdentifier" in params else "DBSnapshotIdentifier"
        return operation, {**params, source: "no-such-source"}

    monkeypatch.setattr(restore, "restore_call", refused)
    ctx = open_drill(data_twin, drill_env)
    with pytest.raises(StepFailed) as info:
        engine.run_drill(ctx)
    assert info.value.step == restore.NAME
    assert "provision" not in [p.name for p in ctx.clock.phases]
    assert [c.operation for c in ctx.aws.guard.mutating_calls() if c.service in ("ecs", "elbv2")] == []
    assert scan(ctx.client, "invenio", ctx.drill_id).found == []


@pytest.mark.parametrize("step", [provision.NAME, redeploy.NAME])
def test_ctrl_c_in_a_phase_tears_down(
    data_twin: Twin, drill_env: DrillEnv, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    _inject(monkeypatch, step, KeyboardInterrupt)
    ctx = open_drill(data_twin, drill_env)
    with pytest.raises(KeyboardInterrupt):
        engine.run_drill(ctx)
    assert scan(ctx.client, "invenio", ctx.drill_id).found == []
    assert [p.name for p in ctx.clock.phases][-1] == "teardown"


def test_pytest_drill_refuses_xdist(twin: Twin, run_suite: Callable[..., SuiteRun]) -> None:
    run = run_suite("-m", "drill", "-n", "2", env=twin_env(twin))
    assert run.returncode == 4, run.stdout + run.stderr
    assert "the drill runs in one process: drop -n" in run.stderr


def test_pytest_drill_on_aws_target_needs_the_allow_list(twin: Twin, run_suite: Callable[..., SuiteRun]) -> None:
    run = run_suite("-m", "drill", env={**twin_env(twin), "TURATH_DRILL_ALLOWED_ACCOUNTS": "111111111111"})
    assert run.returncode == 4, run.stdout + run.stderr
    assert "TURATH_DRILL_ALLOWED_ACCOUNTS" in run.stderr


def test_pytest_drill_files_the_drill_section(twin: Twin, run_suite: Callable[..., SuiteRun]) -> None:
    assert twin.info is not None
    twin.reset()
    env = {**twin_env(twin), "TURATH_DRILL_ALLOWED_ACCOUNTS": twin.info.account_id, "TURATH_DRILL_POLL_SECONDS": "0.5"}
    run = run_suite("-m", "drill", "-p", "no:randomly", env=env, timeout=300)
    drill = run.results["drill"]
    assert drill["id"]
    assert drill["leftovers"] == []
    assert {c["id"] for c in run.results["checks"]} >= {"drill_left_nothing_behind", "drill_rto_within_objective"}
    outcomes = {c["id"]: c["outcome"] for c in run.results["checks"]}
    assert outcomes["drill_left_nothing_behind"] == "passed"
    assert run.returncode == 0, run.stdout[-3000:]
    assert set(outcomes.values()) == {"passed"}
    assert drill["rto_seconds"] <= drill["rto_objective_seconds"]
    # Plan §4 step 5: the health suite's §5 checks ran on the recovered copy, not on production.
    recovered = {c["id"]: c for c in run.results["checks"] if "environment" in c}
    assert set(recovered) == set(RECOVERED)
    for entry in recovered.values():
        assert entry["environment"] == f"drill {drill['id']} ({drill['site_url']})", entry
        assert twin.info.site_url not in entry["remediation"], entry
    assert f"-drill-{drill['id']}-cluster" in recovered["site_homepage_ok"]["remediation"]
    assert f"/invenio-drill-{drill['id']}/web-ui" in recovered["logs_resolve_db_uri_succeeded"]["remediation"]
    assert "[recovered]" in (run.evidence_dir / "junit.xml").read_text()


def test_recovered_checks_look_at_the_restored_copy(fresh_twin: Twin, run_suite: Callable[..., SuiteRun]) -> None:
    """Production is healthy, the newest snapshot is empty: only the recovered copy's checks can see it."""
    assert fresh_twin.info is not None
    fresh_twin.apply_faults(("empty-snapshot",))
    env = {**twin_env(fresh_twin), "TURATH_DRILL_POLL_SECONDS": "0.5"}
    health = run_suite("-m", "health", env=env)
    # Health sees the broken backups (PITR behind, the newest snapshot refused), not the data itself.
    assert health.failing() == set(CATALOG["empty-snapshot"].health), health.stdout[-3000:]
    run = run_suite("-m", "drill", "-p", "no:randomly", env=env, timeout=300)
    failed = {c["id"]: c for c in run.results["checks"] if c["outcome"] == "failed" and "environment" in c}
    assert {"db_users_present", "db_records_present", "db_admin_user_present"} <= set(failed), run.stdout[-3000:]
    message = failed["db_users_present"]["message"]
    assert message.startswith("§5.2 db_users_present: Empty database: 0 user(s)"), message
    # The fix names the recovered copy (its site), not production's.
    admin = failed["db_admin_user_present"]["remediation"]
    assert f"sign up at {run.results['drill']['site_url']}/signup/" in admin, admin
    assert fresh_twin.info.site_url not in admin, admin
    assert run.results["drill"]["leftovers"] == []
