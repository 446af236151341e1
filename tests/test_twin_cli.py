"""`python -m twin` in its own process, and the suite's aws path pointed at it from another."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, SuiteRun


@pytest.fixture
def twin_process() -> Iterator[dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "twin", "--records", "200"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    env: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").strip().partition("=")
            env[key] = value
        if line.startswith("# ready"):
            break
    try:
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_twin_prints_what_the_suite_needs(twin_process: dict[str, str]) -> None:
    for key in ("TURATH_TARGET", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        assert twin_process.get(key), f"python -m twin did not print {key}"
    assert twin_process["TURATH_TARGET"] == "aws"


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
