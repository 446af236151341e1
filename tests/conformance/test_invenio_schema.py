"""Every query of recovery/db.py, and the twin's schema, against InvenioRDM's real database.

The database was made by InvenioRDM 13.1.2's own migrations, CLI and services
(scripts/invenio_build.py); `facts` is what InvenioRDM's API said about the same data. A query
that fails, or means something InvenioRDM does not, fails here; so does any drift of the twin's
tables from the real ones (columns, types, nullability, keys).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from recovery import db
from twin.invenio_db import TWIN_TABLES


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _latest_published(facts: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in facts["records"] if r["is_latest"] and r["published"]]


def test_users_and_active_users(real_db: psycopg.Connection[Any], facts: dict[str, Any]) -> None:
    counts = db.counts(real_db)
    assert (counts.users, counts.active_users) == (facts["users"], facts["active_users"])


def test_admins_are_who_invenio_access_allows(real_db: psycopg.Connection[Any], facts: dict[str, Any]) -> None:
    """By role and by direct grant; not the excluded user, not the inactive one (Permission(superuser_access))."""
    assert list(db.admins(real_db)) == facts["admins"]
    assert "direct@turath-project.com" in facts["admins"], "the build must hold a direct grant"
    assert db.counts(real_db).admins == tuple(facts["admins"])


def test_published_records_exclude_tombstones_and_old_versions(
    real_db: psycopg.Connection[Any], facts: dict[str, Any]
) -> None:
    latest = _latest_published(facts)
    assert any(r["deleted"] for r in facts["records"]), "the build must hold a tombstone"
    assert any(not r["is_latest"] and r["published"] for r in facts["records"]), "and an older version"
    assert db.counts(real_db).published_records == len(latest)
    assert db.counts_as_of(real_db)["records"] == len(latest)


def test_parity_count_is_what_anonymous_search_shows(real_db: psycopg.Connection[Any], facts: dict[str, Any]) -> None:
    public = [r for r in _latest_published(facts) if r["public"]]
    assert len(public) < len(_latest_published(facts)), "the build must hold a restricted record"
    assert db.latest_published_count(real_db) == len(public)
    assert db.counts(real_db).public_records == len(public)


def test_recids_and_titles_are_invenio_pids(real_db: psycopg.Connection[Any], facts: dict[str, Any]) -> None:
    readable = {r["recid"]: r["title"] for r in _latest_published(facts) if r["public"] and r["files_public"]}
    titles = db.record_titles(real_db, limit=100)
    assert dict(titles) == readable


def test_file_refs_follow_object_versions(real_db: psycopg.Connection[Any], facts: dict[str, Any]) -> None:
    expected = {
        (f["uri"], f["size"], f["checksum"])
        for r in facts["records"]
        if r["published"] or r["deleted"]
        for f in r["files"]
    }
    assert set(db.file_refs(real_db)) == expected


def test_checksums_reported_by_kind(real_db: psycopg.Connection[Any], facts: dict[str, Any]) -> None:
    files = {f["uri"]: f["checksum"] for r in facts["records"] for f in r["files"]}
    kinds = {"md5": 0, "multipart": 0, "none": 0}
    for checksum in files.values():
        kinds["none" if checksum is None else checksum.split(":", 1)[0]] += 1
    assert db.checksum_kinds(real_db) == {k: n for k, n in kinds.items() if n}
    assert kinds["multipart"], "the build must hold a multipart checksum"
    assert kinds["none"], "and a missing one"


def test_sample_files_are_downloadable_with_an_md5(real_db: psycopg.Connection[Any], facts: dict[str, Any]) -> None:
    allowed = {
        (r["recid"], f["key"], f["checksum"], f["size"], f["uri"])
        for r in _latest_published(facts)
        if r["public"] and r["files_public"]
        for f in r["files"]
        if (f["checksum"] or "").startswith("md5:")
    }
    samples = db.sample_files(real_db, limit=3)
    assert samples
    for s in samples:
        assert (s["recid"], s["key"], s["checksum"], s["size"], s["uri"]) in allowed


def test_newest_change_is_user_data_not_bookkeeping(real_db: psycopg.Connection[Any], facts: dict[str, Any]) -> None:
    """InvenioRDM's checksum verification ran last and rewrote files_files.updated: not a user change."""
    newest = db.newest_change(real_db)
    assert newest is not None
    assert newest <= _utc(facts["last_user_change"]) < _utc(facts["bookkeeping_started"])
    touched = real_db.execute("SELECT max(updated) FROM files_files").fetchone()
    assert touched is not None
    assert touched[0].replace(tzinfo=UTC) > _utc(facts["bookkeeping_started"]), "verification must have run"
    assert db.newest_change(real_db, before=newest) == newest
    oldest = db.oldest_change(real_db)
    assert oldest is not None
    assert oldest < newest


def test_counts_as_of_use_the_version_pointer_of_that_time(
    real_db: psycopg.Connection[Any], facts: dict[str, Any]
) -> None:
    """A record that got a new version after the moment still counts once, as it did then."""
    as_of = facts["as_of"]
    assert db.counts_as_of(real_db, _utc(as_of["time"])) == {"users": as_of["users"], "records": as_of["records"]}


def test_file_locations_and_buckets(real_db: psycopg.Connection[Any], facts: dict[str, Any]) -> None:
    expected = [(loc["name"], loc["uri"], loc["default"]) for loc in facts["locations"]]
    assert db.file_locations(real_db) == expected
    # The build stores files locally (no S3 here): no URI names a bucket.
    assert db.file_buckets(real_db) == {}


def _columns(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    rows = conn.execute(
        """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND c.relname = ANY(%s)
        ORDER BY c.relname, a.attnum
        """,
        (list(TWIN_TABLES),),
    ).fetchall()
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table, *column in rows:
        out.setdefault(table, []).append(tuple(column))
    return out


def _keys(conn: psycopg.Connection[Any]) -> set[tuple[str, str, str, str]]:
    """Primary, unique and foreign keys (only those between twin tables), and indexes."""
    constraints = conn.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, c.contype::text, pg_get_constraintdef(c.oid)
        FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
        WHERE t.relname = ANY(%(t)s) AND c.contype IN ('p', 'u', 'f')
          AND (c.contype <> 'f' OR c.confrelid::regclass::text = ANY(%(t)s))
        """,
        {"t": list(TWIN_TABLES)},
    ).fetchall()
    indexes = conn.execute(
        "SELECT tablename, indexname, 'i', indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename = ANY(%s)",
        (list(TWIN_TABLES),),
    ).fetchall()
    return {tuple(row) for row in constraints + indexes}  # type: ignore[misc]


def test_twin_tables_are_invenio_tables_column_by_column(real_conninfo: str, twin_conninfo: str) -> None:
    with psycopg.connect(real_conninfo) as real, psycopg.connect(twin_conninfo) as twin:
        real_columns, twin_columns = _columns(real), _columns(twin)
        real_keys, twin_keys = _keys(real), _keys(twin)
    assert sorted(twin_columns) == sorted(TWIN_TABLES), "every twin table exists in the twin schema"
    assert sorted(real_columns) == sorted(TWIN_TABLES), "every twin table exists in InvenioRDM's schema"
    drift = {
        table: {"real": real_columns[table], "twin": twin_columns[table]}
        for table in TWIN_TABLES
        if real_columns[table] != twin_columns[table]
    }
    assert not drift, f"columns (name, type, NOT NULL, default) drifted: {drift}"
    assert twin_keys == real_keys, (
        f"keys drifted: only in InvenioRDM {sorted(real_keys - twin_keys)}; only in the twin "
        f"{sorted(twin_keys - real_keys)}"
    )


def test_every_query_runs_on_the_twin_schema_too(twin_conninfo: str) -> None:
    """The same SQL on the twin's (empty) schema: no query names a column only one side has."""
    with psycopg.connect(twin_conninfo, autocommit=True) as conn:
        counts = db.counts(conn)
        assert (counts.users, counts.published_records, counts.admins) == (0, 0, ())
        assert db.file_refs(conn) == []
        assert db.sample_files(conn) == []
        assert db.record_titles(conn) == []
        assert db.counts_as_of(conn, datetime.now(UTC)) == {"users": 0, "records": 0}
        assert db.checksum_kinds(conn) == {}
        assert db.file_locations(conn) == []
        assert db.oldest_change(conn) is None
