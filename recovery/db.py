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

from recovery.errors import ConfigError
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
# Tables whose newest change marks "the data as of" (measured data loss, plan 5).
CHANGE_TABLES = (
    "rdm_records_metadata",
    "rdm_drafts_metadata",
    "accounts_user",
    "files_files",
    "communities_metadata",
)
FILES_SQL = """
SELECT r.recid, rf.key, ff.checksum, ff.size, ff.uri FROM rdm_records_metadata r
JOIN rdm_records_files rf ON rf.record_id = r.id
JOIN files_files ff ON ff.id = rf.file_id
WHERE r.json IS NOT NULL AND r.deletion_status = 'P'
ORDER BY r.updated DESC, rf.key
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
def connect(ep: Endpoint, timeout: int = 5) -> Iterator[psycopg.Connection[Any]]:
    """A read-only session: the suite never writes to a database it verifies (psycopg errors propagate)."""
    if not ep.host:
        raise ConfigError("TURATH_DB_HOST", "no database address to connect to")
    with psycopg.connect(ep.conninfo(timeout), autocommit=True) as conn:
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
    return Counts(
        users=int(scalar(conn, "SELECT count(*) FROM accounts_user")),
        active_users=int(scalar(conn, "SELECT count(*) FROM accounts_user WHERE active")),
        published_records=int(scalar(conn, PUBLISHED_LATEST)),
        admins=tuple(r[0] for r in conn.execute(ADMINS).fetchall()),  # type: ignore[arg-type]
        newest_change=newest_change(conn),
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


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None


def newest_change(conn: psycopg.Connection[Any], before: datetime | None = None) -> datetime | None:
    """The newest `updated` (or `created`) over the change tables, optionally not after `before`."""
    newest: datetime | None = None
    for table in CHANGE_TABLES:
        if before is None:
            row = conn.execute(f"SELECT max(updated) FROM {table}").fetchone()
        else:
            naive = before.astimezone(UTC).replace(tzinfo=None)
            row = conn.execute(f"SELECT max(updated) FROM {table} WHERE updated <= %s", (naive,)).fetchone()
        value = _aware(row[0]) if row else None
        if value is not None and (newest is None or value > newest):
            newest = value
    return newest


def oldest_change(conn: psycopg.Connection[Any]) -> datetime | None:
    """The oldest `created` over the change tables: where the data begins."""
    oldest: datetime | None = None
    for table in CHANGE_TABLES:
        row = conn.execute(f"SELECT min(created) FROM {table}").fetchone()
        value = _aware(row[0]) if row else None
        if value is not None and (oldest is None or value < oldest):
            oldest = value
    return oldest


def latest_published_count(conn: psycopg.Connection[Any]) -> int:
    """What `/api/records` total must equal after a rebuild (latest published versions)."""
    row = conn.execute(PUBLISHED_LATEST).fetchone()
    return int(row[0]) if row else 0


def counts_as_of(conn: psycopg.Connection[Any], as_of: datetime | None = None) -> dict[str, int]:
    """Users and latest published records, optionally as they were at `as_of` (by creation time)."""
    params: tuple[Any, ...] = ()
    user_sql = "SELECT count(*) FROM accounts_user"
    record_sql = PUBLISHED_LATEST
    if as_of is not None:
        naive = as_of.astimezone(UTC).replace(tzinfo=None)
        user_sql += " WHERE created <= %s"
        record_sql += " AND r.created <= %s"
        params = (naive,)
    users = conn.execute(user_sql, params).fetchone()
    records = conn.execute(record_sql, params).fetchone()
    return {"users": int(users[0]) if users else 0, "records": int(records[0]) if records else 0}


def sample_files(conn: psycopg.Connection[Any], limit: int = 3) -> list[dict[str, Any]]:
    """Up to `limit` files of published records: the newest, the oldest and one in between."""
    rows = conn.execute(FILES_SQL).fetchall()
    if not rows:
        return []
    picks = [rows[0], rows[-1], rows[len(rows) // 2]][:limit]
    seen: set[tuple[str, str]] = set()
    out = []
    for recid, key, checksum, size, uri in picks:
        if (recid, key) in seen:
            continue
        seen.add((recid, key))
        out.append({"recid": recid, "key": key, "checksum": checksum, "size": int(size), "uri": uri})
    return out


# What `invenio rdm rebuild-all-indices` writes into each index (alias without the prefix), counted
# as the services' rebuild_index counts: soft-deleted rows (`json IS NULL`) are skipped; every
# version of a record is a document (the API's search then shows the latest published ones).
INDEX_SOURCES = {
    "rdmrecords-records": "SELECT count(*) FROM rdm_records_metadata WHERE json IS NOT NULL",
    "rdmrecords-drafts": "SELECT count(*) FROM rdm_drafts_metadata WHERE json IS NOT NULL",
    "communities": "SELECT count(*) FROM communities_metadata WHERE json IS NOT NULL",
    "communitymembers": "SELECT count(*) FROM communities_members WHERE json IS NOT NULL",
    "requests": "SELECT count(*) FROM request_metadata WHERE json IS NOT NULL",
    "users": "SELECT count(*) FROM accounts_user",
}


def index_source_counts(conn: psycopg.Connection[Any]) -> dict[str, int | None]:
    """alias -> rows the rebuild indexes; None where the table does not exist (older InvenioRDM)."""
    out: dict[str, int | None] = {}
    for alias, sql in INDEX_SOURCES.items():
        try:
            out[alias] = int(scalar(conn, sql))
        except psycopg.errors.UndefinedTable:
            out[alias] = None
    return out


def alembic_revisions(conn: psycopg.Connection[Any]) -> list[str]:
    """The database's Alembic revisions (`alembic_version`: one row per branch head)."""
    rows = conn.execute("SELECT version_num FROM alembic_version ORDER BY version_num").fetchall()
    return [str(r[0]) for r in rows]
