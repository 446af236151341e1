"""The twin's PostgreSQL, seen as a host would see it (pytest-testinfra, local backend).

Root must not run the database, and nothing the twin starts may listen beyond loopback.
"""

from __future__ import annotations

import os

import testinfra

from twin.core import Twin


def test_postgres_runs_unprivileged_on_loopback_only(twin: Twin) -> None:
    assert twin.pg is not None
    host = testinfra.get_host("local://")
    # The postmaster of this twin is the one started on its data directory.
    ours = [p for p in host.process.filter(comm="postgres") if str(twin.pg.run_dir) in p.args]
    assert ours, "the twin's postmaster is not running"
    if os.geteuid() == 0:
        assert all(p.user != "root" for p in ours), "PostgreSQL runs as root"
    assert host.socket(f"tcp://127.0.0.1:{twin.pg.port}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{twin.pg.port}").is_listening
    for proxy in twin.rds_data.proxies.values() if twin.rds_data else []:
        assert host.socket(f"tcp://127.0.0.1:{proxy.port}").is_listening
        assert not host.socket(f"tcp://0.0.0.0:{proxy.port}").is_listening
