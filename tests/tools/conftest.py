"""Tools self-tests: settings, clients and the CLI pointed at the session twin (tests/conftest.py starts it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from recovery.__main__ import main
from recovery.aws.session import Aws, StaticCredentials
from recovery.settings import Settings, load_settings
from twin.core import Twin
from twin.iam import ADMIN_KEY, suite_principals

# The tools are an operator's (a snapshot of production, a copy of its bucket): they run as the
# twin's administrator, not as the health or drill principals whose policies are least privilege.
ADMIN = suite_principals()["admin"]

ToolsEnv = Callable[..., tuple[Settings, Aws]]


def twin_values(twin: Twin) -> dict[str, str]:
    """The settings `python -m twin` prints, by environment key."""
    assert twin.info is not None
    return dict(line.split("=", 1) for line in twin.info.env_lines())


@pytest.fixture
def tools_env(twin: Twin, tmp_path: Path) -> ToolsEnv:
    """(settings, aws) for the twin; extra settings by name or env key."""

    def make(**values: str) -> tuple[Settings, Aws]:
        assert twin.info is not None
        cli: dict[str, str | None] = {
            k: v for k, v in twin_values(twin).items() if k.startswith("TURATH_") or k == "AWS_ENDPOINT_URL"
        }
        cli.update({"reports_dir": str(tmp_path), "region": twin.info.region, **values})
        settings = load_settings(cli=cli, environ={}, dotenv_path=None)
        return settings, Aws(settings, StaticCredentials(ADMIN_KEY, ADMIN.secret_key))

    return make


@dataclass
class CliRun:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(twin: Twin, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """`python -m recovery ...` in this process, pointed at the session twin with --target aws."""
    assert twin.info is not None
    for key in list(os.environ):
        if key.startswith(("TURATH_", "AWS_")):
            monkeypatch.delenv(key)
    for line in twin.info.env_lines():
        key, _, value = line.partition("=")
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ADMIN_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ADMIN.secret_key)
    monkeypatch.setenv("TURATH_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.chdir(tmp_path)  # no .env here

    def run(*argv: str) -> CliRun:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


@pytest.fixture
def scratch_bucket(twin: Twin) -> Callable[[], str]:
    """Creates empty buckets unique to the test (deleted with the twin)."""
    s3 = twin.client("s3")

    def make() -> str:
        name = f"scratch-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": twin.spec.region})
        return name

    return make


@pytest.fixture
def small_files(twin: Twin, scratch_bucket: Callable[[], str]) -> Callable[[int], str]:
    """A scratch bucket holding the first `n` objects of the files bucket (seeded through moto's backend)."""
    backend = twin.backend("s3")

    def make(n: int = 60) -> str:
        bucket = scratch_bucket()
        for key, data, _ in twin.seed_objects()[:n]:
            backend.put_object(bucket, key, data)
        return bucket

    return make
