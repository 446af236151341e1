"""Fixtures of the conformance test: InvenioRDM's real database, restored from the cached build.

`real_db` (session): a PostgreSQL (twin.postgres) holding the dump scripts/invenio_build.py made
with InvenioRDM's own migrations, CLI and services; `facts`: what InvenioRDM's API said about
that data. The tests run only with `-m conformance` (scripts/conformance.sh, a CI step of its
own). When the build is not cached they skip, unless TURATH_CONFORMANCE_BUILD=1, which builds
it first (InvenioRDM's venv and database, minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from twin.postgres import PostgresServer

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import invenio_build  # noqa: E402
import invenio_schema  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marked `conformance`; they run only when asked for (-m conformance), as CI does apart."""
    asked = "conformance" in str(config.getoption("markexpr") or "")
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.conformance)
            if not asked:
                item.add_marker(pytest.mark.skip(reason="conformance test: scripts/conformance.sh"))


@pytest.fixture(scope="session")
def build_dir() -> Path:
    target = invenio_build.cache_dir()
    if not (target / "build.json").exists():
        if os.environ.get("TURATH_CONFORMANCE_BUILD") != "1":
            pytest.skip(f"InvenioRDM's real database is not built ({target}): run scripts/conformance.sh")
        subprocess.run([str(ROOT / "scripts" / "invenio_env.sh")], check=True, timeout=1800)
        subprocess.run([sys.executable, str(ROOT / "scripts" / "invenio_build.py")], check=True, timeout=1800)
    return target


@pytest.fixture(scope="session")
def facts(build_dir: Path) -> dict[str, Any]:
    return dict(json.loads((build_dir / "facts.json").read_text()))


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def real_conninfo(pg: PostgresServer, build_dir: Path) -> str:
    return invenio_schema.restore(pg, build_dir / "dump.sql", "invenio_real")


@pytest.fixture
def real_db(real_conninfo: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(real_conninfo, autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = on")
        yield conn


@pytest.fixture(scope="session")
def twin_conninfo(pg: PostgresServer) -> str:
    """The twin's schema (twin/invenio_schema.sql) alone, in a database of its own."""
    with pg.admin() as conn:
        conn.execute("CREATE DATABASE invenio_twin")
    conninfo = make_conninfo(pg.superuser_dsn, dbname="invenio_twin")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(invenio_schema.TARGET.read_text())  # type: ignore[arg-type]
    return conninfo
