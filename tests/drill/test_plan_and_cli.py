"""--plan prints every mutating call and makes none; the CLI's config errors are one line."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from recovery.drill import engine, lock
from recovery.drill.context import DrillOptions
from recovery.errors import EXIT_CONFIG
from tests.conftest import ROOT, clean_env, twin_env
from tests.drill.conftest import DrillEnv
from twin.core import Twin


def test_plan_lists_every_mutating_call_and_makes_none(fresh_twin: Twin, drill_env: DrillEnv, tmp_path: Path) -> None:
    settings, aws = drill_env(fresh_twin)
    fresh_twin.server.recorder.clear()
    ctx = engine.begin(settings, aws, DrillOptions.from_settings(settings, plan=True))
    calls = engine.plan(ctx)
    ops = {(c.service, c.operation) for c in calls}
    for expected in [
        ("ssm", "PutParameter"),
        ("ecs", "CreateCluster"),
        ("elbv2", "CreateLoadBalancer"),
        ("ecs", "RegisterTaskDefinition"),
        ("ecs", "CreateService"),
        ("ecs", "UpdateService"),
        ("ecs", "RunTask"),
        ("rds", "DeleteDBInstance"),
        ("ssm", "DeleteParameter"),
    ]:
        assert expected in ops, f"{expected} missing from the plan"
    assert all(ctx.names.owns(c.target) or c.target in (lock.NAME, "invenio-default-rds") for c in calls)
    assert [o.name for o in fresh_twin.operations() if not o.read_only] == []
    assert not (tmp_path / ".drills").exists()  # plan writes no ledger either


def test_plan_names_the_restore_the_gate_chose(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    """PITR is healthy on the twin: the default recovery point is the latest restorable time."""
    settings, aws = drill_env(fresh_twin)
    options = DrillOptions.from_settings(settings, plan=True)
    lines = [c.line() for c in engine.plan(engine.begin(settings, aws, options))]
    assert any("rds:RestoreDBInstanceToPointInTime" in line and "invenio-default-rds at " in line for line in lines)


EMPTY_ENV = Path(tempfile.gettempdir()) / "turath-empty.env"


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    EMPTY_ENV.touch()  # no settings from a .env: only the environment given
    return subprocess.run(
        [sys.executable, "-m", "recovery", "--env-file", str(EMPTY_ENV), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_bad_config_is_one_line_and_exit_2() -> None:
    proc = run_cli("drill", env={**clean_env(), "TURATH_TARGET": "aws", "AWS_REGION": "mars"})
    assert proc.returncode == EXIT_CONFIG
    assert proc.stderr.strip().count("\n") == 0
    assert "AWS_REGION" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_refuses_an_account_not_on_the_allow_list(twin: Twin) -> None:
    proc = run_cli("plan", env={**twin_env(twin), "TURATH_DRILL_ALLOWED_ACCOUNTS": "111111111111"})
    assert proc.returncode == EXIT_CONFIG
    assert "TURATH_DRILL_ALLOWED_ACCOUNTS" in proc.stderr
    assert twin.info is not None
    assert twin.info.account_id in proc.stderr


def test_cli_plan_against_the_twin_prints_calls(twin: Twin) -> None:
    assert twin.info is not None
    env = {**twin_env(twin), "TURATH_DRILL_ALLOWED_ACCOUNTS": twin.info.account_id}
    proc = run_cli("plan", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "ecs:CreateCluster invenio-drill-d" in proc.stdout
    assert "nothing was changed" in proc.stdout


def test_cli_plan_runs_on_the_default_twin_with_no_target_set() -> None:
    """Observation 6: --plan touches nothing, so it needs no account: the embedded twin serves it."""
    proc = run_cli("drill", "--plan", env=clean_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "rds:Restore" in proc.stdout


def test_cli_plan_exits_non_zero_when_the_gate_would_refuse() -> None:
    """Observation 6: the plan's own gate refuses (a restore time outside the restorable window)."""
    proc = run_cli("plan", "--restore-time", "2001-01-01T00:00:00Z", env=clean_env())
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "REFUSED" in proc.stdout


def test_cli_bad_restore_time_is_one_line_before_anything() -> None:
    """Observation 5: `--restore-time yesterday` was a traceback after provisioning."""
    proc = run_cli("plan", "--restore-time", "yesterday", env=clean_env())
    assert proc.returncode == EXIT_CONFIG, proc.stderr[-2000:]
    lines = [x for x in proc.stderr.splitlines() if "configuration error" in x]
    assert lines == [
        "configuration error: TURATH_RESTORE_TIME (--restore-time): expected 'latest' or ISO-8601, got 'yesterday'"
    ], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_cli_missing_env_file_is_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "recovery", "--env-file", "/nonexistent.env", "plan"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == EXIT_CONFIG
    assert proc.stderr.strip() == "configuration error: --env-file: no such file /nonexistent.env"


def test_the_backup_tools_run_on_the_default_twin_as_their_own_principal() -> None:
    """`python -m recovery snapshot` runs as policies/tools.json on the enforcing twin: no denial."""
    proc = run_cli("snapshot", "--reason", "before the upgrade", env=clean_env())
    assert "permission missing" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: the checklist judged the new snapshot
    assert "invenio-default-rds-manual-" in proc.stdout + proc.stderr
