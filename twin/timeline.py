"""Time for the twin's data: every database keeps a log of its row changes with their commit times.

RDS restores a point in time by replaying transaction logs; a snapshot holds the database as it
was when taken. The twin gets the same answers from one PostgreSQL cluster, cheaply:

- Every table of an instance's database carries a trigger that writes each row change (the old
  and the new row as JSON) into `twin_history.change`, a schema the master user cannot read.
  The server runs with `track_commit_timestamp`, so a change's time is the commit time of its
  transaction: a restore to T holds exactly the transactions committed by T, each whole.
- "The database as of T" is a template clone of the live database (`CREATE DATABASE ... TEMPLATE`,
  tens of milliseconds) in which the changes committed after T are undone, newest first: an
  insert is deleted, a delete re-inserted, an update put back. Foreign keys are not checked
  while undoing (`session_replication_role = replica`): the end state is one that existed.
- Before its log began, a database's history is the seed's own: InvenioRDM rows carry their
  `created`/`updated` times, and `rdsdata.PRUNE_SQL` takes them back to T.
- A copy starts a new lineage: its log is emptied (a restored instance's history begins at its
  creation, as its restorable window does).

Costs: a clone per snapshot or restore, plus work proportional to the changes undone (none when
nothing changed since T); a write costs one more row in the log. Not rewound: DDL (a table
created after the log began is not logged) and sequence positions (they stay ahead, harmless).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

SCHEMA = "twin_history"
# Set (SET LOCAL) by the twin's own bulk rewrites (pruning a copy) so they are not logged.
OFF_SETTING = f"{SCHEMA}.off"

INSTALL_SQL = f"""
CREATE SCHEMA {SCHEMA};
REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC;
CREATE TABLE {SCHEMA}.change (
    id bigserial PRIMARY KEY,
    relid oid NOT NULL,
    op "char" NOT NULL,
    old jsonb,
    new jsonb,
    xact xid8 NOT NULL DEFAULT pg_current_xact_id(),
    shift interval NOT NULL DEFAULT '0'
);
-- When a change happened: its transaction's commit, earlier by `shift` for a back-dated one.
CREATE FUNCTION {SCHEMA}.happened(c {SCHEMA}.change) RETURNS timestamptz
LANGUAGE sql STABLE AS $$ SELECT pg_xact_commit_timestamp(xid(c.xact)) - c.shift $$;
CREATE FUNCTION {SCHEMA}.record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('{OFF_SETTING}', true) = 'on' THEN
        RETURN NULL;
    END IF;
    INSERT INTO {SCHEMA}.change (relid, op, old, new) VALUES (
        TG_RELID, left(TG_OP, 1),
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END $$;
-- TRUNCATE fires no row trigger: log every row it is about to remove as deleted.
CREATE FUNCTION {SCHEMA}.record_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_setting('{OFF_SETTING}', true) = 'on' THEN
        RETURN NULL;
    END IF;
    EXECUTE format('INSERT INTO {SCHEMA}.change (relid, op, old) SELECT %s, ''D'', to_jsonb(t) FROM %s AS t',
                   TG_RELID, TG_RELID::regclass);
    RETURN NULL;
END $$;
CREATE FUNCTION {SCHEMA}.rewind(target timestamptz) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c record;
    keys text;
    undone bigint := 0;
BEGIN
    SET LOCAL session_replication_role = replica;
    FOR c IN
        SELECT ch.relid::regclass AS rel, ch.old, ch.new FROM {SCHEMA}.change AS ch
        WHERE {SCHEMA}.happened(ch) > target ORDER BY ch.id DESC
    LOOP
        IF c.new IS NOT NULL THEN
            SELECT string_agg(format('x.%1$I = r.%1$I', a.attname), ' AND ') INTO keys
            FROM pg_index AS i JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
            WHERE i.indrelid = c.rel AND i.indisprimary;
            IF keys IS NULL THEN
                EXECUTE format('DELETE FROM %1$s WHERE ctid = '
                               '(SELECT x.ctid FROM %1$s AS x WHERE to_jsonb(x) = $1 LIMIT 1)', c.rel) USING c.new;
            ELSE
                EXECUTE format('DELETE FROM %1$s AS x USING jsonb_populate_record(NULL::%1$s, $1) AS r WHERE %2$s',
                               c.rel, keys) USING c.new;
            END IF;
        END IF;
        IF c.old IS NOT NULL THEN
            EXECUTE format('INSERT INTO %1$s OVERRIDING SYSTEM VALUE '
                           'SELECT * FROM jsonb_populate_record(NULL::%1$s, $1)', c.rel) USING c.old;
        END IF;
        undone := undone + 1;
    END LOOP;
    RETURN undone;
END $$;
DO $$
DECLARE t regclass;
BEGIN
    FOR t IN SELECT c.oid FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') LOOP
        EXECUTE format('CREATE TRIGGER twin_history AFTER INSERT OR UPDATE OR DELETE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.record()', t);
        EXECUTE format('CREATE TRIGGER twin_history_truncate BEFORE TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.record_truncate()', t);
    END LOOP;
END $$;
"""


def install(conn: psycopg.Connection[Any]) -> None:
    """Start logging the changes of every table in `public` (a superuser connection to the database)."""
    conn.execute(INSTALL_SQL)  # type: ignore[arg-type]


def installed(conn: psycopg.Connection[Any]) -> bool:
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)).fetchone() is not None


def rewind(conn: psycopg.Connection[Any], as_of: datetime) -> int:
    """Undo every change committed after `as_of`; returns how many were undone. Leaves the log as it was."""
    if not installed(conn):
        return 0
    row = conn.execute(f"SELECT {SCHEMA}.rewind(%s)", (as_of,)).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


def logged_by(conn: psycopg.Connection[Any], moment: datetime) -> bool:
    """Whether the log holds a change that happened at or before `moment` (one back-dated before it began)."""
    if not installed(conn):
        return False
    row = conn.execute(
        f"SELECT 1 FROM {SCHEMA}.change AS c WHERE {SCHEMA}.happened(c) <= %s LIMIT 1",  # type: ignore[arg-type]
        (moment,),
    ).fetchone()
    return row is not None


def forget(conn: psycopg.Connection[Any]) -> None:
    """Empty the log: this database is a new lineage whose history starts now."""
    if installed(conn):
        conn.execute(f"TRUNCATE {SCHEMA}.change")  # type: ignore[arg-type]


def backdate(conn: psycopg.Connection[Any], since: datetime, by: timedelta) -> int:
    """Move the changes committed since `since` `by` into the past (a fault's state has lasted a while)."""
    cur = conn.execute(
        f"UPDATE {SCHEMA}.change AS c SET shift = shift + %s "  # type: ignore[arg-type]
        f"WHERE pg_xact_commit_timestamp(xid(c.xact)) >= %s",
        (by, since),
    )
    return cur.rowcount


def quiet(conn: psycopg.Connection[Any]) -> None:
    """Stop logging for the rest of this transaction (the twin's own rewrites of a copy)."""
    conn.execute(f"SET LOCAL {OFF_SETTING} = 'on'")  # type: ignore[arg-type]
