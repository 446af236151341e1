"""`python -m twin` in its own process, and the suite's aws path pointed at it from another."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from recovery.errors import EXIT_CONFIG
from tests.conftest import ROOT, SuiteRun, standalone_twin


@pytest.fixture
def twin_process() -> Iterator[dict[str, str]]:
    with standalone_twin() as env:
        yield env


def test_twin_prints_what_the_suite_needs(twin_process: dict[str, str]) -> None:
    keys = (
        "TURATH_TARGET",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "TURATH_SITE_URL",
        "TURATH_DB_HOST",
        "TURATH_DB_PASSWORD",
    )
    for key in keys:
        assert twin_process.get(key), f"python -m twin did not print {key}"
    assert twin_process["TURATH_TARGET"] == "aws"


def start_twin(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """`python -m twin ARGS` in its own process, and what it printed up to `# ready`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "twin", "--records", "50", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    printed = []
    for line in proc.stdout:
        printed.append(line)
        if line.startswith("# ready"):
            break
    return proc, printed


def test_twin_never_prints_the_password() -> None:
    """The password reaches the shell through a 0600 file; stdout and stderr never carry it."""
    proc, printed = start_twin()
    cat = next(line for line in printed if "TURATH_DB_PASSWORD" in line)
    secret = Path(cat.split("$(cat ", 1)[1].split(")", 1)[0])
    password = secret.read_text()
    mode = secret.stat().st_mode & 0o777
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    assert len(password) >= 16
    assert mode == 0o600
    assert password not in "".join(printed) + err


def test_health_with_target_aws_against_standalone_twin(
    twin_process: dict[str, str], run_suite: Callable[..., SuiteRun], tmp_path: Path
) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **twin_process}
    run = run_suite("-m", "health", "-n", "2", env={**_python_env(), **env})
    assert run.returncode == 0, run.stdout[-3000:]
    results = run.results
    assert results["target"] == "aws"
    assert results["outcome"] == "passed"
    assert results["account"] == "123456789012"
    assert len(results["checks"]) >= 20


def test_list_faults_names_sections_and_modes() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "twin", "--list-faults"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "password-mismatch" in out
    assert "§6.1" in out


def _python_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "LANG")}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--region", "mars-1"], "--region"),
        (["--records", "5"], "--records"),
        (["--records", "many"], "--records"),
        (["--fault", "no-such-fault"], "--fault"),
        (["--port", "70000"], "--port"),
        (["--no-such-option"], "--no-such-option"),
    ],
)
def test_bad_input_is_one_line_and_the_config_exit_code(args: list[str], named: str) -> None:
    """Validated like the suite's settings (same region rule, same TURATH_TWIN_SIZE minimum), and
    the same exit code as `pytest` gives a configuration error."""
    proc = subprocess.run(
        [sys.executable, "-m", "twin", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == EXIT_CONFIG
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert named in lines[0]
    assert "Traceback" not in proc.stderr


def test_exports_carry_the_cli_region_and_go_to_a_file_to_source(tmp_path: Path) -> None:
    """The AWS CLI reads AWS_DEFAULT_REGION; the file can be `source`d while the twin keeps running."""
    exports = tmp_path / "twin.env"
    proc, printed = start_twin("--exports-file", str(exports))
    try:
        assert exports.stat().st_mode & 0o777 == 0o600
        script = f"set -e; source {exports}; echo $AWS_DEFAULT_REGION; echo $AWS_REGION; echo ${{#TURATH_DB_PASSWORD}}"
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split()
        assert out[0] == out[1] == "eu-central-1"
        assert int(out[2]) >= 16, "the password is read from its private file when sourced"
        exported = [line for line in printed if line.startswith("export ")]
        assert exported == [line + "\n" for line in exports.read_text().splitlines() if line.startswith("export ")]
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
