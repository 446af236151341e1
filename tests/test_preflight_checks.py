"""Each preflight check fails when its property is broken on the runner, and says what to fix.

Broken through what a real runner would show: an address that does not resolve, a port nothing
listens on, no terraform on PATH or an old one, AWS answering with a Date far from our clock.
"""

from __future__ import annotations

import os
import re
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import testinfra

from checks.preflight.test_preflight import Target, unreachable
from tests.conftest import SuiteRun, twin_env
from twin.core import Twin

pytestmark = pytest.mark.slow


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port nothing accepts connections on (bound, never listening)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def preflight(run_suite: Callable[..., SuiteRun], twin: Twin, **env: str) -> SuiteRun:
    return run_suite("-m", "preflight", env={**twin_env(twin), **env})


def failing_message(run: SuiteRun, check_id: str) -> str:
    assert run.returncode != 0, run.stdout[-2000:]
    assert run.failing() == {check_id}, run.stdout[-3000:]
    (check,) = [c for c in run.results["checks"] if c["id"] == check_id]
    return f"{check['message']}\nFix: {check['remediation']}"


def test_healthy_twin_passes_preflight(run_suite: Callable[..., SuiteRun], fresh_twin: Twin) -> None:
    run = preflight(run_suite, fresh_twin)
    assert run.returncode == 0, run.stdout[-3000:]
    ids = {c["id"] for c in run.results["checks"]}
    assert ids == {
        "preflight_database_reachable",
        "preflight_site_reachable",
        "preflight_aws_endpoints_reachable",
        "preflight_provisioner_tools_present",
        "preflight_clock_agrees_with_aws",
    }


def test_unreachable_database_port_fails_with_the_tunnel_fix(
    run_suite: Callable[..., SuiteRun], fresh_twin: Twin, closed_port: int
) -> None:
    run = preflight(run_suite, fresh_twin, TURATH_DB_HOST=f"127.0.0.1:{closed_port}")
    message = failing_message(run, "preflight_database_reachable")
    assert f"127.0.0.1:{closed_port} refuses or drops connections" in message
    assert "TURATH_DB_HOST=127.0.0.1:15432" in message  # the local port of the README's tunnel


def test_unresolvable_site_fails_naming_the_setting(run_suite: Callable[..., SuiteRun], fresh_twin: Twin) -> None:
    run = preflight(run_suite, fresh_twin, TURATH_SITE_URL="https://invenio.turath-preflight.invalid")
    message = failing_message(run, "preflight_site_reachable")
    assert "invenio.turath-preflight.invalid does not resolve from this runner" in message
    assert "TURATH_SITE_URL" in message


def test_unreachable_aws_endpoint_is_named(closed_port: int) -> None:
    """The AWS-endpoint check's own judgement, on the runner's real local host (a full run cannot
    get that far: the target is validated against the same endpoint before any check runs)."""
    host = testinfra.get_host("local://")
    problem = unreachable(host, Target("AWS ecs endpoint", "127.0.0.1", closed_port))
    assert problem.startswith(f"AWS ecs endpoint: 127.0.0.1:{closed_port} refuses or drops connections")
    problem = unreachable(host, Target("AWS ecs endpoint", "ecs.nowhere.invalid", 443))
    assert problem == (
        "AWS ecs endpoint: ecs.nowhere.invalid does not resolve from this runner (DNS, VPC resolver or /etc/hosts)"
    )


def fake_terraform(directory: Path, version: str) -> Path:
    script = directory / "terraform"
    script.write_text(f'#!/bin/sh\necho \'{{"terraform_version": "{version}"}}\'\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return directory


def path_without_terraform(extra: Path | None = None) -> str:
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "terraform").exists()]
    return os.pathsep.join(([str(extra)] if extra else []) + dirs)


def test_terraform_provisioner_without_terraform_fails(
    run_suite: Callable[..., SuiteRun], fresh_twin: Twin, tmp_path: Path
) -> None:
    env = {"TURATH_PROVISIONER": "terraform", "TURATH_TERRAFORM_DIR": str(tmp_path), "PATH": path_without_terraform()}
    message = failing_message(preflight(run_suite, fresh_twin, **env), "preflight_provisioner_tools_present")
    assert "no terraform binary is on this runner's PATH" in message
    assert "TURATH_PROVISIONER=ecs-clone" in message


def test_old_terraform_fails_and_a_recent_one_passes(
    run_suite: Callable[..., SuiteRun], fresh_twin: Twin, tmp_path: Path
) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = fake_terraform(tmp_path / "old", "1.3.9")
    env = {"TURATH_PROVISIONER": "terraform", "TURATH_TERRAFORM_DIR": str(tmp_path)}
    message = failing_message(
        preflight(run_suite, fresh_twin, **env, PATH=path_without_terraform(old)), "preflight_provisioner_tools_present"
    )
    assert "terraform 1.3.9 on this runner is older than 1.5" in message
    new = fake_terraform(tmp_path / "new", "1.11.4")
    run = preflight(run_suite, fresh_twin, **env, PATH=path_without_terraform(new))
    assert run.returncode == 0, run.stdout[-3000:]


def test_clock_far_from_aws_fails_with_the_skew(run_suite: Callable[..., SuiteRun], fresh_twin: Twin) -> None:
    fresh_twin.server.recorder.clock_offset = -600.0  # AWS's Date ten minutes behind ours
    try:
        run = preflight(run_suite, fresh_twin)
    finally:
        fresh_twin.server.recorder.clock_offset = 0.0
    message = failing_message(run, "preflight_clock_agrees_with_aws")
    assert re.search(r"this runner's clock is \+60[01] s off AWS's \(STS Date header\)", message), message
    assert "Amazon Time Sync Service" in message
