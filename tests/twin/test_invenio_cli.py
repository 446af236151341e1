"""The InvenioRDM CLI stand-in against a real PostgreSQL (twin.postgres) and the in-memory index.

Module scope: one PostgreSQL cluster with one `invenio` database loaded with a small
`twin.invenio_db.generate()` dataset (versions, deletions, drafts). Tests that add rows use
unique emails and role names, so they do not depend on each other.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence

import psycopg
import pytest

from recovery.timeutil import wait_until
from twin.invenio_cli import CommandResult, resolve_db_uri, run_command
from twin.invenio_db import ALEMBIC_HEADS, PUBLISHED_LATEST_SQL, generate, load
from twin.postgres import PostgresServer
from twin.search import IndexWorker, SearchIndex

DB_USER = "inveniordm_user"
PASSWORD = "Pw/with%special+chars&9Z"  # needs URL-encoding: proves resolve_db_uri quotes it
SEARCH_HOST = "search-invenio-default-search.us-east-1.es.amazonaws.com:443"
DATASET = generate(records=30, users=5)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """Module scope: a started cluster with the seeded `invenio` database; stopped at the end."""
    server = PostgresServer().start()
    try:
        server.ensure_role(DB_USER, PASSWORD)
        server.create_database("invenio", owner=DB_USER)
        with psycopg.connect(server.dsn("invenio", DB_USER, PASSWORD)) as conn:
            load(conn, DATASET, "invenio-default-files")
        yield server
    finally:
        server.stop()


@pytest.fixture
def env(postgres: PostgresServer) -> dict[str, str]:
    """What the web-ui task definition sets (plan 2.5)."""
    return {
        "RDS_DB_HOST": f"{postgres.host}:{postgres.port}",
        "RDS_DB_PASSWORD": PASSWORD,
        "RDS_DB_USER": DB_USER,
        "RDS_DB_NAME": "invenio",
        "INVENIO_SEARCH_HOSTS": SEARCH_HOST,
    }


@pytest.fixture
def index() -> SearchIndex:
    return SearchIndex()


def run(
    argv: str | Sequence[str],
    env: dict[str, str],
    index: SearchIndex | None,
    *,
    entrypoint: bool = True,
    heads: Sequence[str] = ALEMBIC_HEADS,
) -> CommandResult:
    """Run a command; every line is checked for the DB password (and user passwords) first."""
    args = argv.split() if isinstance(argv, str) else list(argv)
    result = run_command(args, env, lambda host: index if host == SEARCH_HOST else None, entrypoint, heads)
    for line in result.lines:
        assert PASSWORD not in line, f"password leaked in: {line}"
        assert "user-pass-123" not in line, f"user password leaked in: {line}"
    return result


def drain(index: SearchIndex) -> None:
    while index.process_queue():
        pass


def published_recids(postgres: PostgresServer) -> set[str]:
    with psycopg.connect(postgres.dsn("invenio", DB_USER, PASSWORD)) as conn:
        rows = conn.execute(f"SELECT recid FROM ({PUBLISHED_LATEST_SQL}) AS p").fetchall()
    return {str(row[0]) for row in rows}


def indexed_records(postgres: PostgresServer) -> int:
    """Documents a rebuild writes to the records index: every version not soft-deleted (InvenioRDM's rebuild)."""
    with psycopg.connect(postgres.dsn("invenio", DB_USER, PASSWORD)) as conn:
        row = conn.execute("SELECT count(*) FROM rdm_records_metadata WHERE json IS NOT NULL").fetchone()
    assert row is not None
    return int(row[0])


def user_count(postgres: PostgresServer) -> int:
    with psycopg.connect(postgres.dsn("invenio", DB_USER, PASSWORD)) as conn:
        row = conn.execute("SELECT count(*) FROM accounts_user").fetchone()
    assert row is not None
    return int(row[0])


def test_entrypoint_resolves_uri_with_encoded_password(env: dict[str, str]) -> None:
    uri, lines = resolve_db_uri(env)
    assert uri is not None
    assert uri.startswith("postgresql+psycopg2://inveniordm_user:Pw%2Fwith%25special%2Bchars%269Z@127.0.0.1:")
    assert lines == [
        "[resolve-db-uri] Using RDS_DB_PASSWORD (manual password management)",
        "[resolve-db-uri] DB URI resolved successfully",
    ]
    uri, _ = resolve_db_uri({"RDS_DB_HOST": "db.example", "RDS_DB_PASSWORD": "p"})
    assert uri == "postgresql+psycopg2://inveniordm_user:p@db.example:5432/invenio"


def test_rebuild_without_destroy_keeps_orphans_and_destroy_gives_parity(
    env: dict[str, str], index: SearchIndex, postgres: PostgresServer
) -> None:
    recids = published_recids(postgres)
    assert len(recids) == DATASET.public_count
    expected = indexed_records(postgres)
    assert run("invenio index init", env, index).exit_code == 0
    index.put("records", "orphan", {"id": "orph1-00000", "metadata": {"title": "Gone after restore"}})

    result = run("invenio rdm-records rebuild-index", env, index)
    assert result.exit_code == 0, result.lines
    assert index.pending() > 0, "rebuild must only queue"
    assert index.count("records") == 1
    drain(index)
    assert index.count("records") == expected + 1, "the orphan must survive a rebuild"

    for command in ("invenio index destroy --yes-i-know", "invenio index init", "invenio rdm rebuild-all-indices"):
        result = run(command, env, index)
        assert result.exit_code == 0, (command, result.lines)
    drain(index)
    assert index.count("records") == expected
    assert index.count("users") == user_count(postgres)
    assert index.count("communities") == len(DATASET.communities)
    assert {d["id"] for d in index.documents("records") if d.get("is_public_latest")} == recids
    assert index.search(size=1)[0] == len(recids), "the API searches the latest published versions"


def test_index_init_refuses_existing_indices_unless_forced(env: dict[str, str], index: SearchIndex) -> None:
    assert run("invenio index init", env, index).exit_code == 0
    again = run("invenio index init", env, index)
    assert again.exit_code == 1
    assert "resource_already_exists_exception" in again.lines[-1]
    assert run("invenio index init --force", env, index).exit_code == 0


def test_index_destroy_needs_confirmation(env: dict[str, str], index: SearchIndex) -> None:
    index.init()
    result = run("invenio index destroy", env, index)
    assert (result.exit_code, result.lines[-1]) == (1, "Aborted!")
    assert index.exists()


def test_unknown_search_host_is_a_connection_error(env: dict[str, str], index: SearchIndex) -> None:
    result = run("invenio index init", {**env, "INVENIO_SEARCH_HOSTS": "elsewhere:443"}, index)
    assert result.exit_code == 1
    assert "ConnectionError" in result.lines[-1]


def test_command_without_entrypoint_falls_back_to_localhost(env: dict[str, str], index: SearchIndex) -> None:
    result = run("invenio rdm rebuild-all-indices", env, index, entrypoint=False)
    assert result.exit_code == 1
    assert any('connection to server at "localhost" (127.0.0.1), port 5432 failed' in line for line in result.lines)
    assert not any("resolve-db-uri" in line for line in result.lines)

    uri, _ = resolve_db_uri(env)
    assert uri is not None
    with_uri = run(
        "invenio rdm rebuild-all-indices", {**env, "INVENIO_SQLALCHEMY_DATABASE_URI": uri}, index, entrypoint=False
    )
    assert with_uri.exit_code == 0, with_uri.lines


def test_db_upgrade_does_not_exist_but_alembic_upgrade_does(env: dict[str, str], index: SearchIndex) -> None:
    result = run("invenio db upgrade", env, index)
    assert (result.exit_code, result.lines[-1]) == (2, "Error: No such command 'upgrade'.")
    assert run("invenio nonsense", env, index).exit_code == 2
    assert run("invenio alembic upgrade", env, index).exit_code == 0


def test_alembic_upgrade_moves_the_database_to_the_heads_of_the_image(
    postgres: PostgresServer, env: dict[str, str], index: SearchIndex
) -> None:
    newer = (*ALEMBIC_HEADS[1:], "f3b9c0de4a21")  # an image with one more migration on the first branch

    def revisions() -> set[str]:
        with psycopg.connect(postgres.dsn("invenio", DB_USER, PASSWORD)) as conn:
            return {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}

    try:
        upgraded = run("invenio alembic upgrade", env, index, heads=newer)
        assert upgraded.exit_code == 0, upgraded.lines
        assert "INFO  [alembic.runtime.migration] Running upgrade  -> f3b9c0de4a21" in upgraded.lines
        assert revisions() == set(newer)
        # The older image does not know the newer revision: alembic stops before it changes anything.
        older = run("invenio alembic upgrade", env, index)
        assert older.exit_code == 1
        assert older.lines[-1].endswith("Can't locate revision identified by 'f3b9c0de4a21'")
        assert revisions() == set(newer)
    finally:
        with psycopg.connect(postgres.dsn("invenio", DB_USER, PASSWORD)) as conn:
            conn.execute("DELETE FROM alembic_version")
            for head in ALEMBIC_HEADS:
                conn.execute("INSERT INTO alembic_version (version_num) VALUES (%s)", (head,))


def test_users_create_without_password_needs_a_tty(env: dict[str, str], index: SearchIndex) -> None:
    result = run("invenio users create nobody@example.org --active --confirm", env, index)
    assert (result.exit_code, result.lines[-1]) == (1, "Error: no TTY for password prompt")


def test_admin_user_setup_writes_hashed_password_and_grants(
    env: dict[str, str], index: SearchIndex, postgres: PostgresServer
) -> None:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    role = f"admin-{uuid.uuid4().hex[:6]}"
    line = (
        f"invenio users create {email} --password user-pass-123 --active --confirm && "
        f"invenio roles create {role} && invenio roles add {email} {role} && "
        f"invenio access allow superuser-access role {role}"
    )
    result = run(["bash", "-c", line], env, index)
    assert result.exit_code == 0, result.lines
    with psycopg.connect(postgres.dsn("invenio", DB_USER, PASSWORD)) as conn:
        user = conn.execute(
            "SELECT password, active, confirmed_at IS NOT NULL FROM accounts_user WHERE email = %s", (email,)
        ).fetchone()
        grant = conn.execute(
            "SELECT count(*) FROM access_actionsroles a JOIN accounts_userrole ur ON ur.role_id = a.role_id "
            "JOIN accounts_user u ON u.id = ur.user_id WHERE u.email = %s AND a.action = 'superuser-access'",
            (email,),
        ).fetchone()
    assert user == (hashlib.sha256(b"user-pass-123").hexdigest(), True, True)
    assert grant == (1,)
    duplicate = run(f"invenio users create {email} --password user-pass-123", env, index)
    assert duplicate.exit_code == 2


def test_wrong_db_password_fails_with_fatal_line(env: dict[str, str], index: SearchIndex) -> None:
    result = run("invenio rdm rebuild-all-indices", {**env, "RDS_DB_PASSWORD": "stale-password-0"}, index)
    assert result.exit_code == 1
    assert any('FATAL:  password authentication failed for user "inveniordm_user"' in line for line in result.lines)
    assert not any("stale-password-0" in line for line in result.lines)


def test_missing_db_password_stops_in_entrypoint(env: dict[str, str], index: SearchIndex) -> None:
    env.pop("RDS_DB_PASSWORD")
    result = run("invenio index init", env, index)
    assert result == CommandResult(1, ["[resolve-db-uri] ERROR: RDS_DB_PASSWORD is not set"])
    assert not index.exists()


def test_worker_drains_queue_in_background(env: dict[str, str], index: SearchIndex, postgres: PostgresServer) -> None:
    index.init()
    worker = IndexWorker(index, interval=0.02)
    worker.start()
    try:
        assert run("invenio rdm-records rebuild-index", env, index).exit_code == 0
        wait_until(lambda: index.pending() == 0, timeout=5, interval=0.02, what="index queue drained")
    finally:
        worker.stop()
    assert index.count("records") == indexed_records(postgres)
