"""SIGKILL a real drill in restore, redeploy and reindex; a sweep from elsewhere leaves nothing (issue 8).

Three processes, as on a real account: a standalone `python -m twin`, `python -m recovery drill`
pointed at it and killed with SIGKILL at a phase (no teardown can run), then `python -m recovery
sweep --drill-id ID` from another working directory with an empty reports directory (no ledger).
The sweep first refuses while the dead drill's lock still looks alive, then removes everything:
resources, the search indices (from the search service) and the lock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recovery.aws.session import Aws, StaticCredentials
from recovery.drill import lock
from recovery.drill.scan import scan, search_api
from recovery.errors import EXIT_INTERRUPTED, EXIT_LOCKED
from recovery.settings import load_settings
from tests.conftest import ROOT, clean_env, standalone_twin

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def standalone() -> Iterator[dict[str, str]]:
    """`python -m twin` in its own process, shared by the kill tests (each sweeps what it left)."""
    with standalone_twin() as env:
        yield env


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    empty = cwd / "empty.env"
    empty.touch()
    return subprocess.run(
        [sys.executable, "-m", "recovery", "--env-file", str(empty), *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def signal_at(env: dict[str, str], marker: str, signum: int) -> tuple[int, str]:
    """Start a drill, send it `signum` as soon as its progress shows `marker`; (exit code, stderr tail)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "recovery", "--env-file", os.devnull, "drill"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            proc.send_signal(signum)
            break
    seen += proc.stderr.readlines()  # after SIGTERM the drill tears down and says so
    proc.wait(timeout=300)
    return proc.returncode, "".join(seen[-20:])


@pytest.mark.parametrize(
    ("phase", "marker"),
    [
        ("restore", "phase provision: passed"),  # the restore runs on while the environment exists
        ("redeploy", "phase redeploy: started"),
        ("reindex", "`invenio index init`: reached"),
    ],
)
def test_sigkill_then_sweep_from_elsewhere_leaves_nothing(
    standalone: dict[str, str], tmp_path: Path, phase: str, marker: str
) -> None:
    base = {**clean_env(), **standalone, "TURATH_DRILL_POLL_SECONDS": "0.5", "TURATH_DRILL_HEARTBEAT_SECONDS": "1"}
    drill_env = {**base, "TURATH_REPORTS_DIR": str(tmp_path / "drill-reports")}
    code, tail = signal_at(drill_env, marker, signal.SIGKILL)
    assert code == -signal.SIGKILL, tail

    settings = load_settings(cli={}, environ=base, dotenv_path=None)
    aws = Aws(settings, StaticCredentials(base["AWS_ACCESS_KEY_ID"], base["AWS_SECRET_ACCESS_KEY"]))
    owner = lock.holder(aws.client("ssm"))
    assert owner is not None, "the killed drill's lock is gone: it was not killed mid-drill"
    drill_id = owner.drill_id
    search = search_api(aws, settings)
    assert search is not None
    left = scan(aws.client, "invenio", drill_id, search).found
    assert {"ecs-cluster", "drill-lock"} <= {f.kind for f in left}
    if phase == "reindex":
        assert any(f.kind == "search-indices" for f in left), "no index existed when the drill was killed"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sweep_env = {**base, "TURATH_REPORTS_DIR": str(elsewhere / "reports")}
    alive = cli("sweep", "--drill-id", drill_id, "--apply", env=sweep_env, cwd=elsewhere)
    assert alive.returncode == EXIT_LOCKED, alive.stdout + alive.stderr  # its heartbeat is fresh: maybe still running
    assert "is alive" in alive.stderr
    time.sleep(2.5)  # the killed drill beats no more; with a 2 s staleness its lock is now stale
    stale_env = {**sweep_env, "TURATH_DRILL_LOCK_STALE_SECONDS": "2"}
    dry = cli("sweep", "--drill-id", drill_id, env=stale_env, cwd=elsewhere)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    listed = {tuple(line.split()[:2]) for line in dry.stdout.splitlines() if line.startswith("  ")}
    assert {(f.kind, f.id) for f in left} <= listed, dry.stdout
    applied = cli("sweep", "--drill-id", drill_id, "--apply", env=stale_env, cwd=elsewhere)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "NOT REMOVED" not in applied.stdout
    assert scan(aws.client, "invenio", drill_id, search).found == []
    assert search.indices(f"invenio-drill-{drill_id}-") == []
    assert lock.holder(aws.client("ssm")) is None
    # The sweep records what it did in a ledger of its own (there was none on this machine).
    ledger = json.loads((elsewhere / "reports" / ".drills" / f"{drill_id}.json").read_text())
    assert {e["status"] for e in ledger["entries"]} <= {"deleted", "gone"}, ledger["entries"]


def test_sigterm_in_reindex_leaves_no_index(standalone: dict[str, str], tmp_path: Path) -> None:
    """Observation 3: interrupted while the queue drains, teardown deleted the indices, then the
    still-running reindex created them again and the leak check said `0 leftover(s)`."""
    env = {
        **clean_env(),
        **standalone,
        "TURATH_DRILL_POLL_SECONDS": "0.5",
        "TURATH_REPORTS_DIR": str(tmp_path / "reports"),
    }
    # SIGTERM once the ids are queued: Celery is still indexing them while teardown runs.
    code, tail = signal_at(env, "`invenio rdm rebuild-all-indices`: reached", signal.SIGTERM)
    assert code == EXIT_INTERRUPTED, tail
    settings = load_settings(cli={}, environ=env, dotenv_path=None)
    aws = Aws(settings, StaticCredentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]))
    search = search_api(aws, settings)
    assert search is not None
    assert search.indices("invenio-drill-") == []
    assert scan(aws.client, "invenio", None, search).found == []
    assert lock.holder(aws.client("ssm")) is None
