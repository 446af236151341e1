"""Fixtures for the suite's own tests. Never real AWS: the twin, started in this process.

`twin` (session): one running twin per test process (moto's state is process-global).
`fresh_twin` (function): the same twin reset to the healthy production account first.
`run_suite`: runs `pytest` on the checks in a subprocess pointed at the twin with
`--target aws`, exactly as an operator would point it at an AWS-compatible endpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fixtures.meta import fix_line
from twin.account import AccountSpec
from twin.core import Twin

ROOT = Path(__file__).resolve().parent.parent

# A fix as the person on call reads it (tests/test_fix_texts.py, tests/test_fault_matrix.py).
PLACEHOLDER = re.compile(r"(?<![<\w])<[A-Za-z][^<>]*>")  # <GiB>, <SERVICE>; not a heredoc's <<<
UNFILLED = re.compile(r"\{[a-z_]+\}")
PERSONAL = re.compile(r"~/|/home/|/Users/")


def fix_text_problems(section: str, remediation: str) -> list[str]:
    """What is wrong with a fix as the terminal prints it ('Fix (plan §x): ...'); [] when nothing is."""
    line = fix_line(section, remediation)
    problems = [f"placeholder {m[0]!r}" for m in PLACEHOLDER.finditer(line)]
    problems += [f"unfilled field {m[0]!r}" for m in UNFILLED.finditer(line)]
    problems += [f"personal path {m[0]!r}" for m in PERSONAL.finditer(line)]
    if line.split("): ", 1)[1].startswith("plan §"):
        problems.append("the section named twice")
    return problems


@dataclass
class SuiteRun:
    """The outcome of one run of the suite: exit code, output and the evidence it wrote."""

    returncode: int
    stdout: str
    stderr: str
    reports: Path

    @property
    def evidence_dir(self) -> Path:
        return self.reports / "latest"

    @property
    def results(self) -> dict[str, Any]:
        return dict(json.loads((self.evidence_dir / "results.json").read_text()))

    def failing(self) -> set[str]:
        return {c["id"] for c in self.results["checks"] if c["outcome"] in ("failed", "error")}

    def all_text(self) -> str:
        """stdout, stderr and every evidence file, for secret scans."""
        parts = [self.stdout, self.stderr]
        parts += [p.read_text(errors="replace") for p in self.reports.rglob("*") if p.is_file()]
        return "\n".join(parts)


@pytest.fixture(scope="session")
def twin() -> Iterator[Twin]:
    tw = Twin(AccountSpec(region="eu-central-1"))
    tw.start()
    yield tw
    tw.stop()


@pytest.fixture
def fresh_twin(twin: Twin) -> Twin:
    twin.reset()
    return twin


def clean_env() -> dict[str, str]:
    """Our environment without TURATH_/AWS_/PYTEST_ variables: a run on it starts its own twin."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("TURATH_", "AWS_", "PYTEST_"))}


def twin_env(twin: Twin) -> dict[str, str]:
    """The environment `python -m twin` prints, on top of a clean copy of ours."""
    assert twin.info is not None
    env = clean_env()
    env.update(line.split("=", 1) for line in twin.info.env_lines())
    return env


@pytest.fixture
def run_suite(tmp_path: Path) -> Callable[..., SuiteRun]:
    def run(*args: str, env: dict[str, str], timeout: float = 180) -> SuiteRun:
        reports = tmp_path / f"reports-{len(list(tmp_path.glob('reports-*')))}"
        # The twin's indexer drains every 0.2 s, not every ~10 s as InvenioRDM's Celery beat does:
        # a disagreement that outlasts 3 s is not a queue draining (the default is kept unless set).
        full_env = {"TURATH_SEARCH_SETTLE_SECONDS": "3", **env, "TURATH_REPORTS_DIR": str(reports)}
        (tmp_path / "none.env").touch()  # an empty --env-file: the suite's settings come from `env` only
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--env-file={tmp_path / 'none.env'}", *args],
            cwd=ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return SuiteRun(proc.returncode, proc.stdout, proc.stderr, reports)

    return run


@contextlib.contextmanager
def standalone_twin(records: int = 200) -> Iterator[dict[str, str]]:
    """`python -m twin` in its own process; the environment its printed lines set (password from its file)."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:  # its log, shown if it will not stop
        proc = subprocess.Popen(
            [sys.executable, "-m", "twin", "--records", str(records)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        env: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").strip().partition("=")
                if value.startswith('"$(cat '):
                    # The password is handed over in a file, the way the printed line reads it.
                    value = Path(value.removeprefix('"$(cat ').removesuffix(')"')).read_text()
                env[key] = value
            if line.startswith("# ready"):
                break
        try:
            yield env
        finally:
            proc.terminate()
            try:
                # Generous: on a loaded 2-core CI machine the twin's shutdown has taken over 30 s.
                proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                log.seek(0)
                tail = "".join(log.readlines()[-30:])
                raise AssertionError(f"python -m twin did not stop within 120 s of SIGTERM; log:\n{tail}") from None
