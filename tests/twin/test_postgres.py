"""The twin's PostgreSQL: a real server, per-instance proxies, and the InvenioRDM seed data.

Everything runs against one real cluster started once for the module (about 0.2 s warm).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from recovery import db
from twin import invenio_db
from twin.pgproxy import DatabaseProxy
from twin.postgres import PostgresServer, find_pg_bindir

MASTER_USER = "inveniordm_user"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    """Module scope: one real cluster for every test here; stopped and removed at the end."""
    with PostgresServer() as pg:
        yield pg


@pytest.fixture(scope="module")
def master_password(server: PostgresServer) -> str:
    """Module scope: the shared RDS master login role exists with this password."""
    password = secrets.token_urlsafe(16)
    server.ensure_role(MASTER_USER, password)
    return password


@pytest.fixture(scope="module")
def dataset() -> invenio_db.Dataset:
    return invenio_db.generate(records=300, users=12, now=NOW)


@pytest.fixture(scope="module")
def seeded(server: PostgresServer, master_password: str, dataset: invenio_db.Dataset) -> str:
    """Module scope: database `invenio-default-rds` loaded with `dataset`; tests must not change it."""
    name = "invenio-default-rds"
    server.create_database(name, MASTER_USER)
    with psycopg.connect(server.dsn(name, MASTER_USER, master_password)) as conn:
        invenio_db.load(conn, dataset, bucket="turath-files")
    return name


def test_server_answers_as_superuser(server: PostgresServer) -> None:
    assert find_pg_bindir().is_dir()
    with server.admin() as conn:
        row = conn.execute("SELECT current_user, inet_server_addr()::text, current_setting('port')").fetchone()
    assert row == ("postgres", "127.0.0.1/32", str(server.port))


def test_wrong_password_fails_like_rds(server: PostgresServer, master_password: str) -> None:
    with pytest.raises(psycopg.OperationalError) as failure:
        psycopg.connect(server.dsn("postgres", MASTER_USER, "not-" + master_password)).close()
    assert f'FATAL:  password authentication failed for user "{MASTER_USER}"' in str(failure.value)


def test_ensure_role_resets_password(server: PostgresServer) -> None:
    server.ensure_role("rotating-user", "first-password")
    server.ensure_role("rotating-user", "second-password")
    with psycopg.connect(server.dsn("postgres", "rotating-user", "second-password")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("rotating-user",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(server.dsn("postgres", "rotating-user", "first-password")).close()


def test_seed_counts_match_dataset_summary(
    server: PostgresServer, master_password: str, seeded: str, dataset: invenio_db.Dataset
) -> None:
    with psycopg.connect(server.dsn(seeded, MASTER_USER, master_password)) as conn:
        users = conn.execute("SELECT count(*) FROM accounts_user").fetchone()
        public = conn.execute(f"SELECT count(*) FROM ({invenio_db.PUBLISHED_LATEST_SQL}) AS p").fetchone()
        published = db.counts(conn).published_records
        not_deleted = conn.execute("SELECT count(*) FROM rdm_records_metadata WHERE deletion_status = 'P'").fetchone()
        tombstones = conn.execute(
            "SELECT count(*) FROM rdm_records_metadata WHERE deletion_status = 'D' AND json ? 'tombstone'"
        ).fetchone()
        newest = conn.execute("SELECT max(updated) FROM rdm_records_metadata").fetchone()
        files = conn.execute("SELECT count(*), sum(size) FROM files_files").fetchone()
        heads = conn.execute("SELECT count(*) FROM alembic_version").fetchone()
        admins = db.admins(conn)
        kinds = db.checksum_kinds(conn)
        checked = conn.execute("SELECT max(updated) FROM files_files").fetchone()
    assert users == (dataset.user_count,)
    assert public == (dataset.public_count,)
    assert published == dataset.published_count > dataset.public_count, "a few records are restricted"
    assert not_deleted == (dataset.record_rows_not_deleted,)
    assert tombstones == (len(dataset.records) - dataset.record_rows_not_deleted,), "deleted records keep their JSON"
    assert newest is not None
    assert newest[0].replace(tzinfo=UTC) == dataset.newest_change
    assert files == (len(dataset.files), sum(f.size for f in dataset.files))
    assert heads == (len(invenio_db.ALEMBIC_HEADS),)
    assert admins == (invenio_db.ADMIN_EMAIL, invenio_db.DIRECT_ADMIN_EMAIL), "one admin by role, one granted directly"
    assert kinds.get("none") == 1
    assert kinds.get("multipart", 0) >= 1
    assert kinds["md5"] > 0
    # The checksum verification job touched files_files after the newest user change: bookkeeping.
    assert checked is not None
    assert checked[0].replace(tzinfo=UTC) > dataset.newest_change
    with psycopg.connect(server.dsn(seeded, MASTER_USER, master_password)) as conn:
        assert db.newest_change(conn) == dataset.newest_change


def test_dataset_shape(dataset: invenio_db.Dataset) -> None:
    assert invenio_db.generate(records=300, users=12, now=NOW) == dataset, "generate() must be deterministic"
    indexes = sorted(r.index for r in dataset.records)
    assert indexes.count(2) == 30, "10 % of records have a second version"
    assert 0 < len(dataset.records) - dataset.record_rows_not_deleted < 10, "a few records are deleted"
    assert dataset.published_count == 300 - (len(dataset.records) - dataset.record_rows_not_deleted)
    assert NOW - timedelta(days=61) < min(r.created for r in dataset.records)
    assert dataset.newest_change == NOW - timedelta(minutes=3)
    assert max(r.updated for r in dataset.records) == dataset.newest_change
    assert any(d.json is None for d in dataset.drafts)
    assert any(d.json is not None for d in dataset.drafts)


def test_file_content_matches_seed_file(dataset: invenio_db.Dataset) -> None:
    pdf, hocr = dataset.files[0], dataset.files[1]
    for f in (pdf, hocr):
        content = invenio_db.file_content(f)
        assert (len(content), hashlib.md5(content).hexdigest()) == (f.size, f.md5), f.key
    assert invenio_db.file_content(pdf).startswith(b"%PDF-1.4")
    assert invenio_db.file_content(hocr).decode().startswith("<?xml")
    assert 2_000 <= pdf.size <= 30_000
    assert 1_000 <= hocr.size <= 8_000


def test_template_clone_is_an_independent_copy(server: PostgresServer, master_password: str, seeded: str) -> None:
    clone = "invenio-drill-abc123-restored"
    # A live session on the source, as an application would hold: the clone must still succeed
    # (like an RDS snapshot of a busy instance); the session is ended, the application reconnects.
    with psycopg.connect(server.dsn(seeded, MASTER_USER, master_password), autocommit=True) as busy:
        busy.execute("SELECT 1")
        server.create_database(clone, MASTER_USER, template=seeded)
        with pytest.raises(psycopg.OperationalError):
            busy.execute("SELECT 1")
    try:
        assert clone in server.list_databases()
        with psycopg.connect(server.dsn(clone, MASTER_USER, master_password), autocommit=True) as conn:
            conn.execute("TRUNCATE rdm_records_files, rdm_records_metadata CASCADE")
        with psycopg.connect(server.dsn(seeded, MASTER_USER, master_password)) as conn:
            remaining = conn.execute("SELECT count(*) FROM rdm_records_metadata").fetchone()
        assert remaining is not None
        assert remaining[0] > 0, "deleting in the clone must not touch the source"
    finally:
        server.drop_database(clone)
    assert not server.database_exists(clone)


def test_proxy_lands_in_the_instance_database(server: PostgresServer, master_password: str, seeded: str) -> None:
    with DatabaseProxy("127.0.0.1", server.host, server.port, seeded) as proxy:
        # Configured like production: dbname=invenio, sslmode=prefer (libpq's default).
        with psycopg.connect(server.dsn("invenio", MASTER_USER, master_password, port=proxy.port)) as conn:
            row = conn.execute("SELECT current_database(), current_user, count(*) FROM accounts_user").fetchone()
        assert row is not None
        assert row[:2] == (seeded, MASTER_USER)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(server.dsn("invenio", MASTER_USER, "wrong", port=proxy.port)).close()


def test_proxy_forwards_cancel_requests(server: PostgresServer, master_password: str, seeded: str) -> None:
    with (
        DatabaseProxy("127.0.0.1", server.host, server.port, seeded) as proxy,
        psycopg.connect(server.dsn("invenio", MASTER_USER, master_password, port=proxy.port)) as conn,
    ):
        # libpq sends the CancelRequest to the endpoint it connected to: the proxy.
        timer = threading.Timer(0.1, conn.cancel_safe)
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(10)")
        timer.join()


def test_stopped_proxy_refuses_and_cuts_sessions(server: PostgresServer, master_password: str, seeded: str) -> None:
    proxy = DatabaseProxy("127.0.0.1", server.host, server.port, seeded)
    port = proxy.start()
    live = psycopg.connect(server.dsn("invenio", MASTER_USER, master_password, port=port), autocommit=True)
    try:
        assert live.execute("SELECT 1").fetchone() == (1,)
        proxy.stop()
        with pytest.raises(psycopg.OperationalError):
            live.execute("SELECT 1")
    finally:
        live.close()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.dsn("invenio", MASTER_USER, master_password, port=port)).close()


def test_stop_removes_everything() -> None:
    pg = PostgresServer().start()
    port = pg.port
    workdir = pg.run_dir
    assert workdir.is_dir()
    pg.stop()
    assert not workdir.exists()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_run_dirs_of_servers_that_died_are_swept_the_live_ones_kept(server: PostgresServer, tmp_path: Path) -> None:
    """Seen: every SIGKILLed twin left its run dir (30-100 MB) in /dev/shm for good."""
    from twin.postgres import sweep_stale_runs

    live = server._workdir  # a running server's own run dir
    assert live is not None
    old = time.time() - 3600

    def run_dir(name: str, pid: int | None, mtime: float) -> Path:
        run = tmp_path / f"turath-pg-run-{name}"
        (run / "data").mkdir(parents=True)
        if pid is not None:
            (run / "data" / "postmaster.pid").write_text(f"{pid}\n/some/data\n")
        os.utime(run, (mtime, mtime))
        return run

    dead = run_dir("dead", 2**22 + 17, old)  # no such process
    recycled = run_dir("recycled", os.getpid(), old)  # a live pid that is not postgres
    aborted = run_dir("aborted", None, old)  # killed before its server wrote a pid
    starting = run_dir("starting", None, time.time())  # a start in progress
    alive = run_dir("alive", int((live / "data" / "postmaster.pid").read_text().split()[0]), old)
    assert sorted(sweep_stale_runs(tmp_path)) == sorted([dead, recycled, aborted])
    assert starting.exists()
    assert alive.exists()
    sweep_stale_runs(live.parent)  # where the twins really run: a live server's dir is never taken
    assert live.exists()
