"""Validated before spending (issue 8, observations 5 and 7): bad inputs are one line and create nothing.

Each case runs `engine.begin` against the twin and proves, from the twin's recorder, that no
mutating call was made: not the lock, not a cluster, not a log group.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from recovery.drill import engine, lock
from recovery.drill.context import DrillOptions
from recovery.drill.preflight import InvalidDrill
from tests.conftest import SuiteRun, twin_env
from tests.drill.conftest import DrillEnv
from twin.core import Twin


def refused(twin: Twin, drill_env: DrillEnv, restore_time: str | None = None, **values: str) -> InvalidDrill:
    settings, aws = drill_env(twin, **values)
    twin.server.recorder.clear()
    with pytest.raises(InvalidDrill) as info:
        engine.begin(settings, aws, DrillOptions.from_settings(settings, restore_time=restore_time))
    assert [o.name for o in twin.operations() if not o.read_only] == []
    assert lock.holder(twin.client("ssm")) is None
    return info.value


@pytest.mark.parametrize(
    ("values", "setting"),
    [
        ({"ecs_cluster": "invenio-defualt-cluster"}, "TURATH_ECS_CLUSTER"),
        ({"drill_prefix": "invenio-default"}, "TURATH_DRILL_PREFIX"),  # 33-character ELBv2 names
        ({"ecs_services": "web-ui,web-apii"}, "TURATH_ECS_SERVICES"),
        ({"log_group": "/invenio-default/web-uii"}, "TURATH_LOG_GROUP"),
        ({"files_bucket": "invenio-default-filez"}, "TURATH_FILES_BUCKET"),
        ({"ecs_cluster": "invenio-drill-dabc123-cluster"}, "TURATH_ECS_CLUSTER"),  # a drill-style name
    ],
)
def test_bad_setting_is_one_line_naming_it_and_creates_nothing(
    fresh_twin: Twin, drill_env: DrillEnv, values: dict[str, str], setting: str
) -> None:
    error = refused(fresh_twin, drill_env, **values)
    lines = str(error).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"configuration error: {setting}:"), lines


def test_bad_restore_time_is_refused_before_anything(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    error = refused(fresh_twin, drill_env, restore_time="yesterday")
    assert str(error).startswith("configuration error: TURATH_RESTORE_TIME (--restore-time):")


def test_every_problem_is_listed_at_once(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    error = refused(fresh_twin, drill_env, restore_time="yesterday", drill_prefix="invenio-default")
    assert {p.setting for p in error.problems} == {"TURATH_RESTORE_TIME (--restore-time)", "TURATH_DRILL_PREFIX"}


def test_pytest_drill_with_a_bad_setting_is_one_line_and_no_report_of_errors(
    twin: Twin, run_suite: Callable[..., SuiteRun]
) -> None:
    """Observation 5: `--restore-time yesterday` printed 1,428 lines and 15 ERRORs after provisioning."""
    assert twin.info is not None
    env = {**twin_env(twin), "TURATH_DRILL_ALLOWED_ACCOUNTS": twin.info.account_id}
    run = run_suite("-m", "drill", "--restore-time", "yesterday", env=env)
    assert run.returncode == 4, run.stdout[-2000:]
    errors = [line for line in run.stderr.splitlines() if "configuration error" in line]
    assert errors == [
        "ERROR: configuration error: TURATH_RESTORE_TIME (--restore-time): expected 'latest' or ISO-8601, "
        "got 'yesterday'"
    ], run.stderr[-2000:]
    assert "Traceback" not in run.stdout + run.stderr


def test_a_failed_step_reads_once(fresh_twin: Twin, run_suite: Callable[..., SuiteRun]) -> None:
    """Observation 7: one failed step printed ~1,000 lines, a traceback per dependent check."""
    assert fresh_twin.info is not None
    fresh_twin.apply_faults(("password-mismatch",))
    env = {**twin_env(fresh_twin), "TURATH_DRILL_ALLOWED_ACCOUNTS": fresh_twin.info.account_id}
    run = run_suite("-m", "drill", "-p", "no:randomly", env=env, timeout=300)
    errored = [c for c in run.results["checks"] if c["outcome"] == "error"]
    assert len(errored) >= 5, run.stdout[-3000:]
    lines = run.stdout.splitlines()
    assert lines.count("drill step 'restore' failed") == 1, run.stdout[-3000:]
    assert "symptom: §6.1 Password authentication failed" in lines
    dependents = [x for x in lines if x.startswith("not run: drill step 'restore' failed")]
    assert len(dependents) == len(errored) - 1
    assert "Traceback" not in run.stdout
    assert len(lines) < 120, len(lines)  # was about 1,000
