"""Bad configuration ends with one clear line naming the setting, a non-zero exit, no traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from recovery.errors import EXIT_CONFIG
from tests.conftest import SuiteRun, twin_env
from twin.core import Twin


def assert_one_clear_line(run: SuiteRun, setting: str) -> None:
    out = run.stdout + run.stderr
    assert run.returncode == EXIT_CONFIG, (run.returncode, out[-2000:])
    assert "Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, out
    assert setting in errors[0], errors[0]


@pytest.mark.parametrize(
    ("args", "extra_env", "setting"),
    [
        (["--target", "mars"], {}, "TURATH_TARGET"),
        (["--region", ""], {}, "AWS_REGION"),
        (["--set", "TURATH_RETENTION_DAYS=a week"], {}, "TURATH_RETENTION_DAYS"),
        ([], {"TURATH_BACKUP_WINDOW": "25:00-26:00"}, "TURATH_BACKUP_WINDOW"),
        (["--twin-fault", "no-such-fault"], {}, "--twin-fault"),
    ],
)
def test_bad_setting_is_one_line(
    run_suite: Callable[..., SuiteRun], args: list[str], extra_env: dict[str, str], setting: str
) -> None:
    run = run_suite("-m", "health", *args, env={"PATH": "/usr/bin:/bin", **extra_env, "HOME": "/tmp"})
    assert_one_clear_line(run, setting)


def test_malformed_dotenv_is_one_line(run_suite: Callable[..., SuiteRun], tmp_path: Path) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text("TURATH_TARGET=twin\nnot a line\n")
    run = run_suite("-m", "health", f"--env-file={bad}", env={"HOME": "/tmp"})
    assert_one_clear_line(run, f"{bad}:2")


def test_missing_env_file_is_one_line_not_a_green_run_on_defaults(
    run_suite: Callable[..., SuiteRun], tmp_path: Path
) -> None:
    missing = tmp_path / "nonexistent.env"
    run = run_suite("-m", "health", "--env-file", str(missing), env={"HOME": "/tmp"})
    assert_one_clear_line(run, "--env-file")
    assert str(missing) in run.stdout + run.stderr
    assert not any(run.reports.rglob("results.json")), "no evidence of a run against the wrong settings"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("TURATH_RDS_INSTANCE", "invenio-nope-rds"),
        ("TURATH_ECS_CLUSTER", "invenio-nope-cluster"),
        ("TURATH_FILES_BUCKET", "invenio-nope-files"),
    ],
)
def test_missing_resource_in_target_is_one_line(
    run_suite: Callable[..., SuiteRun], twin: Twin, setting: str, value: str
) -> None:
    run = run_suite("-m", "health", "--set", f"{setting}={value}", env=twin_env(twin))
    assert_one_clear_line(run, setting)
    assert value in run.stdout + run.stderr


def test_no_credentials_is_one_line(run_suite: Callable[..., SuiteRun], twin: Twin, tmp_path: Path) -> None:
    env = {k: v for k, v in twin_env(twin).items() if not k.startswith("AWS_ACCESS_KEY_ID")}
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    run = run_suite("-m", "health", env=env)
    assert_one_clear_line(run, "AWS credentials")
