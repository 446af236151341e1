"""SQL the drill and its checks run against the restored and the production databases.

InvenioRDM stores naive timestamps in UTC; they are returned as aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from recovery.db import PUBLISHED_LATEST, Endpoint
from recovery.errors import ConfigError
from recovery.secrets import Secret

# Tables whose newest change marks "the data as of" (measured data loss, plan 5).
CHANGE_TABLES = (
    "rdm_records_metadata",
    "rdm_drafts_metadata",
    "accounts_user",
    "files_files",
    "communities_metadata",
)

# One definition of what an auditor counts, shared with the health checks.
LATEST_PUBLISHED_SQL = PUBLISHED_LATEST

FILES_SQL = """
SELECT r.recid, rf.key, ff.checksum, ff.size, ff.uri FROM rdm_records_metadata r
JOIN rdm_records_files rf ON rf.record_id = r.id
JOIN files_files ff ON ff.id = rf.file_id
WHERE r.json IS NOT NULL AND r.deletion_status = 'P'
ORDER BY r.updated DESC, rf.key
"""


def connect(host_port: str, dbname: str, user: str, password: Secret, timeout: int = 10) -> psycopg.Connection[Any]:
    """A connection to `host:port` (psycopg errors propagate; callers decide what they mean)."""
    if not host_port:
        raise ConfigError("TURATH_DB_HOST", "no database address to connect to")
    return psycopg.connect(Endpoint(host_port, user, password, dbname).conninfo(timeout), autocommit=True)


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
    row = conn.execute(LATEST_PUBLISHED_SQL).fetchone()
    return int(row[0]) if row else 0


def counts(conn: psycopg.Connection[Any], as_of: datetime | None = None) -> dict[str, int]:
    """Users and latest published records, optionally as they were at `as_of` (by creation time)."""
    params: tuple[Any, ...] = ()
    user_sql = "SELECT count(*) FROM accounts_user"
    record_sql = LATEST_PUBLISHED_SQL
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
