"""Issue 14, item 4: `pytest -m health --target aws` against the twin for AWS and a real-schema database.

The database is InvenioRDM's own (the conformance build), with the superuser role grant and the
role memberships removed, so the only admin left holds superuser-access by a direct grant. Checks may fail for what this
database is (a handful of records, files on local disk, not the twin's index); none may fail with
an SQL error, and the admin check must find the directly granted admin.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from tests.conftest import SuiteRun, twin_env
from twin.core import Twin
from twin.postgres import PostgresServer

SQL_ERRORS = ("psycopg.errors", "UndefinedColumn", "UndefinedTable", "UndefinedFunction", "SyntaxError: syntax error")
DB_CHECKS = (
    "db_users_present",
    "db_records_present",
    "db_admin_user_present",
    "search_index_matches_database",
    "search_query_finds_known_record",
    "files_referenced_objects_exist",
    "s3_files_location_is_the_services_bucket",
)


def _health_database(pg: PostgresServer, real_conninfo: str) -> tuple[str, str, str]:
    """A copy of the real database with only a direct superuser grant; (database, user, password)."""
    name, user, password = "invenio_health", "turath_reader", secrets.token_urlsafe(16)
    with pg.admin() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE invenio_real")
    pg.ensure_role(user, password)
    with psycopg.connect(make_conninfo(pg.superuser_dsn, dbname=name), autocommit=True) as conn:
        conn.execute("DELETE FROM access_actionsroles WHERE action = 'superuser-access'")
        conn.execute("DELETE FROM accounts_userrole")
        direct = conn.execute(
            "SELECT u.email FROM access_actionsusers a JOIN accounts_user u ON u.id = a.user_id "
            "WHERE a.action = 'superuser-access' AND NOT a.exclude"
        ).fetchall()
        assert direct == [("direct@turath-project.com",)], "the build must hold exactly one direct grant"
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}")
    return name, user, password


def test_health_on_real_schema_has_no_sql_error_and_finds_direct_admin(
    twin: Twin, pg: PostgresServer, real_conninfo: str, run_suite: Callable[..., SuiteRun]
) -> None:
    name, user, password = _health_database(pg, real_conninfo)
    env = twin_env(twin)
    env.update(
        TURATH_DB_HOST=f"{pg.host}:{pg.port}", TURATH_DB_NAME=name, TURATH_DB_USER=user, TURATH_DB_PASSWORD=password
    )
    run = run_suite("-m", "health", "-n", "2", env=env, timeout=600)
    checks: dict[str, dict[str, Any]] = {c["id"]: c for c in run.results["checks"]}
    sql_errors = {cid: c["message"] for cid, c in checks.items() if any(e in str(c.get("message")) for e in SQL_ERRORS)}
    assert not sql_errors, f"SQL errors on InvenioRDM's real schema: {sql_errors}"
    assert not any(e in run.stdout + run.stderr for e in SQL_ERRORS[:3]), run.stdout[-3000:]
    ran = {cid: checks[cid]["outcome"] for cid in DB_CHECKS if cid in checks}
    assert set(ran) == set(DB_CHECKS), f"database checks missing from the run: {set(DB_CHECKS) - set(ran)}"
    assert not [cid for cid, outcome in ran.items() if outcome == "error"], ran
    crashed = {cid: checks[cid]["message"] for cid in ran if "Error:" in str(checks[cid]["message"]).split(" ", 1)[0]}
    assert not crashed, f"checks crashed instead of judging: {crashed}"
    assert checks["db_admin_user_present"]["outcome"] == "passed", checks["db_admin_user_present"]["message"]
