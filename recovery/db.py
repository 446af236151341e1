"""SQL against an InvenioRDM database (the production instance or a restored one).

The queries are what an auditor counts (FACTS.md): users, latest published records, admins,
the files the records reference, and the newest change (for the measured RPO).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from recovery.secrets import Secret

PUBLISHED_LATEST = """
    SELECT count(*) FROM rdm_records_metadata r
    JOIN rdm_versions_state v ON v.latest_id = r.id
    WHERE r.json IS NOT NULL AND r.deletion_status = 'P'
"""
# Active users holding superuser-access through a role (plan 5.4: `invenio access allow
# superuser-access role admin`), or the conventional `admin` role itself.
ADMINS = """
    SELECT DISTINCT u.email FROM accounts_user u
    JOIN accounts_userrole ur ON ur.user_id = u.id
    JOIN accounts_role ro ON ro.id = ur.role_id
    LEFT JOIN access_actionsroles a ON a.role_id = ro.id AND a.action = 'superuser-access' AND NOT a.exclude
    WHERE u.active AND (a.id IS NOT NULL OR ro.name = 'admin')
    ORDER BY u.email
"""
NEWEST_CHANGE = """
    SELECT max(t) FROM (
        SELECT max(updated) AS t FROM rdm_records_metadata
        UNION ALL SELECT max(updated) FROM rdm_drafts_metadata
        UNION ALL SELECT max(updated) FROM accounts_user
        UNION ALL SELECT max(updated) FROM files_files
    ) changes
"""
FILE_REFS = """
    SELECT DISTINCT f.uri, f.size, f.checksum FROM files_files f
    JOIN rdm_records_files rf ON rf.file_id = f.id
    JOIN rdm_records_metadata r ON r.id = rf.record_id
    WHERE r.json IS NOT NULL
"""


def split_host(host_port: str, default_port: int = 5432) -> tuple[str, int]:
    """'address:port' -> (address, port); a bare address gets the PostgreSQL port."""
    host, sep, port = host_port.rpartition(":")
    if not sep or not port.isdigit():
        return host_port, default_port
    return host, int(port)


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to connect. `host` is 'address' or 'address:port'."""

    host: str
    user: str
    password: Secret
    dbname: str

    def conninfo(self, connect_timeout: int = 5) -> str:
        address, port = split_host(self.host)
        return make_conninfo(
            host=address,
            port=port,
            dbname=self.dbname,
            user=self.user,
            password=self.password.reveal(),
            connect_timeout=connect_timeout,
            application_name="turath-recovery",
        )


@contextmanager
def connect(ep: Endpoint) -> Iterator[psycopg.Connection[Any]]:
    """A read-only session: the suite never writes to a database it verifies."""
    with psycopg.connect(ep.conninfo(), autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = on")
        yield conn


def scalar(conn: psycopg.Connection[Any], sql: str) -> Any:
    row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
    return None if row is None else row[0]


@dataclass(frozen=True)
class Counts:
    """What a verifier counts in an InvenioRDM database."""

    users: int
    active_users: int
    published_records: int
    admins: tuple[str, ...]
    newest_change: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "active_users": self.active_users,
            "published_records": self.published_records,
            "admins": len(self.admins),
            "newest_change": self.newest_change.isoformat() if self.newest_change else None,
        }


def counts(conn: psycopg.Connection[Any]) -> Counts:
    newest = scalar(conn, NEWEST_CHANGE)
    return Counts(
        users=int(scalar(conn, "SELECT count(*) FROM accounts_user")),
        active_users=int(scalar(conn, "SELECT count(*) FROM accounts_user WHERE active")),
        published_records=int(scalar(conn, PUBLISHED_LATEST)),
        admins=tuple(r[0] for r in conn.execute(ADMINS).fetchall()),  # type: ignore[arg-type]
        newest_change=newest.replace(tzinfo=UTC) if isinstance(newest, datetime) and not newest.tzinfo else newest,
    )


def file_refs(conn: psycopg.Connection[Any]) -> list[tuple[str, int, str]]:
    """(uri, size, checksum) of every file a live record references."""
    return [(str(u), int(s), str(c)) for u, s, c in conn.execute(FILE_REFS).fetchall()]  # type: ignore[arg-type]


def split_s3_uri(uri: str) -> tuple[str, str]:
    """'s3://bucket/key' -> ('bucket', 'key')."""
    rest = uri.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    return bucket, key


def record_titles(conn: psycopg.Connection[Any], limit: int = 5) -> list[tuple[str, str]]:
    """(recid, title) of a few latest published records, newest first."""
    rows = conn.execute(
        "SELECT r.recid, r.json->'metadata'->>'title' FROM rdm_records_metadata r "  # type: ignore[arg-type]
        "JOIN rdm_versions_state v ON v.latest_id = r.id WHERE r.json IS NOT NULL AND r.deletion_status = 'P' "
        "ORDER BY r.created DESC LIMIT %s",
        (limit,),
    ).fetchall()
    return [(str(a), str(b or "")) for a, b in rows]


def authenticates(host: str, user: str, password: Secret, dbname: str) -> str | None:
    """None if `password` opens a session at `host`; otherwise the server's error line."""
    try:
        with psycopg.connect(Endpoint(host, user, password, dbname).conninfo(connect_timeout=3)):
            return None
    except psycopg.OperationalError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        fatal = [line for line in lines if "FATAL" in line or "failed" in line]
        return (fatal or lines or [type(exc).__name__])[-1]
