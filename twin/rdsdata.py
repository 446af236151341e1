"""RDS backed by real databases: every instance, snapshot and restore of the twin is a copy.

One PostgreSQL cluster holds a database per RDS instance, reachable at the instance's own
endpoint (127.0.0.1:<port>) through a proxy that maps the client's database name onto it.
moto's RDS backend is wrapped so that the AWS API calls do the data work a real RDS does:

- CreateDBSnapshot copies the instance's database at that moment (template clone).
- RestoreDBInstanceFromDBSnapshot creates an instance whose database is the snapshot's copy.
- CopyDBSnapshot makes a snapshot holding its source's data; only `SnapshotCreateTime` is new
  (`OriginalSnapshotCreateTime` stays the source's, as on AWS).
- RestoreDBInstanceToPointInTime refuses times outside the restorable window and restores
  the data as of the requested time, inserts, updates and deletes alike (`twin.timeline`).
- ModifyDBInstance with MasterUserPassword shows `resetting-master-credentials`, then the new
  password authenticates, the old one no longer does, and a "Reset master credentials" event
  (RDS-EVENT-0016, configuration change) is listed by DescribeEvents.
- New instances and snapshots pass through `creating` before `available`; DeleteDBInstance
  drops the database and closes the endpoint.

Time: each database logs its row changes with their commit times (`twin.timeline`); "as of T"
is a clone with the later changes undone, and before a database's log began, the seed's own
timestamps (PRUNE_SQL). Snapshots seeded with back-dated times are materialised lazily, as of
their creation time: from the pristine seed when no logged change precedes them (production's
sessions are left alone), else from the live instance rewound.
Limitation: instances share the cluster's login role, so all of them accept the same master
password, and a reset through the API changes it for all (true of restores from one lineage
made after the reset, which is all the plan does).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from moto.rds.exceptions import RDSClientError
from moto.rds.models import RDSBackend
from psycopg.conninfo import make_conninfo

from recovery.timeutil import as_utc
from twin import timeline
from twin.pgproxy import DatabaseProxy
from twin.postgres import PostgresServer

log = logging.getLogger(__name__)

TRANSITION_SECONDS = 0.6
_active: RdsData | None = None
_installed = False


def db_name(kind: str, ident: str) -> str:
    """A PostgreSQL database name (max 63 bytes) for an instance or snapshot id."""
    digest = hashlib.sha1(ident.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{kind}_{ident[:40]}_{digest}".replace(":", "_")


# The database as of %(t)s: rows created later never existed, changes made later never happened.
# Ordered for InvenioRDM's foreign keys (most are ON DELETE RESTRICT).
PRUNE_SQL = """
DELETE FROM rdm_records_files WHERE created > %(t)s;
UPDATE rdm_versions_state SET next_draft_id = NULL
  WHERE next_draft_id IN (SELECT id FROM rdm_drafts_metadata WHERE created > %(t)s);
UPDATE rdm_versions_state v SET (latest_id, latest_index) = (
    SELECT r.id, r.index FROM rdm_records_metadata r WHERE r.parent_id = v.parent_id AND r.created <= %(t)s
    ORDER BY r.index DESC LIMIT 1);
DELETE FROM rdm_records_metadata WHERE created > %(t)s;
DELETE FROM rdm_drafts_metadata WHERE created > %(t)s;
DELETE FROM pidstore_pid WHERE created > %(t)s;
DELETE FROM files_object o WHERE created > %(t)s
  AND NOT EXISTS (SELECT 1 FROM rdm_records_files rf WHERE rf.object_version_id = o.version_id);
DELETE FROM files_files f WHERE created > %(t)s
  AND NOT EXISTS (SELECT 1 FROM files_object o WHERE o.file_id = f.id);
DELETE FROM files_bucket b WHERE created > %(t)s
  AND NOT EXISTS (SELECT 1 FROM files_object o WHERE o.bucket_id = b.id)
  AND NOT EXISTS (SELECT 1 FROM rdm_records_metadata r WHERE r.bucket_id = b.id)
  AND NOT EXISTS (SELECT 1 FROM rdm_drafts_metadata d WHERE d.bucket_id = b.id);
DELETE FROM rdm_versions_state WHERE latest_id IS NULL AND next_draft_id IS NULL;
DELETE FROM rdm_parents_metadata p WHERE created > %(t)s
  AND NOT EXISTS (SELECT 1 FROM rdm_versions_state v WHERE v.parent_id = p.id)
  AND NOT EXISTS (SELECT 1 FROM rdm_records_metadata r WHERE r.parent_id = p.id)
  AND NOT EXISTS (SELECT 1 FROM rdm_drafts_metadata d WHERE d.parent_id = p.id);
DELETE FROM communities_metadata WHERE created > %(t)s;
DELETE FROM access_actionsusers WHERE user_id IN (SELECT id FROM accounts_user WHERE created > %(t)s);
DELETE FROM accounts_userrole WHERE user_id IN (SELECT id FROM accounts_user WHERE created > %(t)s);
DELETE FROM accounts_user WHERE created > %(t)s;
UPDATE rdm_records_metadata SET deletion_status = 'P', json = json - 'tombstone'
  WHERE deletion_status = 'D' AND updated > %(t)s;
UPDATE rdm_records_metadata SET updated = %(t)s WHERE updated > %(t)s;
UPDATE rdm_drafts_metadata SET updated = %(t)s WHERE updated > %(t)s;
UPDATE accounts_user SET updated = %(t)s WHERE updated > %(t)s;
UPDATE files_object SET updated = %(t)s WHERE updated > %(t)s;
UPDATE files_files SET updated = %(t)s, last_check_at = NULL, last_check = NULL WHERE updated > %(t)s;
"""


class RdsData:
    """The data side of the twin's RDS. One per process (moto's backends are global)."""

    def __init__(self, pg: PostgresServer, master_user: str, db_name_in_instance: str) -> None:
        self.pg = pg
        self.master_user = master_user
        self.db_name_in_instance = db_name_in_instance
        self.proxies: dict[str, DatabaseProxy] = {}
        self.schema_sql = ""
        self.lazy_snapshots = False
        self._timers: list[threading.Timer] = []
        self._lock = threading.RLock()
        # Per database: when its change log began, and the unchanging template it was copied from.
        self.log_began: dict[str, datetime] = {}
        self.bases: dict[str, str] = {}

    # ---- instances -------------------------------------------------------------------------
    def attach(self, instance: Any, template: str | None, as_of: datetime | None = None) -> None:
        """Give `instance` a database (a copy of `template`, or empty) and an endpoint."""
        ident = instance.db_instance_identifier
        name = db_name("rds", ident)
        with self._lock:
            if self.pg.database_exists(name):
                self.pg.drop_database(name)
            self.pg.create_database(name, owner=self.master_user, template=template)
            self.begin_lineage(name, template, as_of)
            proxy = DatabaseProxy("127.0.0.1", self.pg.host, self.pg.port, name)
            port = proxy.start()
            old = self.proxies.pop(ident, None)
            if old is not None:
                old.stop()
            self.proxies[ident] = proxy
        instance.twin_address = "127.0.0.1"
        instance.port = port

    def detach(self, ident: str) -> None:
        with self._lock:
            proxy = self.proxies.pop(ident, None)
            if proxy is not None:
                proxy.stop()
            name = db_name("rds", ident)
            if self.pg.database_exists(name):
                self.pg.drop_database(name)

    def prune(self, database: str, as_of: datetime) -> None:
        """Make `database` hold the data as of `as_of` (rows created later never existed)."""
        with psycopg.connect(self._superuser(database)) as conn:
            _prune(conn, as_of)

    def begin_lineage(self, database: str, template: str | None, as_of: datetime | None) -> None:
        """`database`, a fresh copy of `template`, as of `as_of` (default: now); its own history starts now.

        Changes committed after `as_of` are undone; before the template's log began, the seed's
        timestamps take the data back (a template without a log has none: always).
        """
        began = self.log_began.get(template or "")
        with psycopg.connect(self._superuser(database)) as conn:
            if as_of is not None:
                timeline.rewind(conn, as_of)
                if began is None or as_of < began:
                    _prune(conn, as_of)
            timeline.forget(conn)
        self.log_began[database] = datetime.now(UTC)
        if template is not None and as_of is None:
            self.bases[database] = self.bases.get(template, template)

    def _superuser(self, database: str) -> str:
        return make_conninfo(self.pg.superuser_dsn, dbname=database)

    # ---- snapshots -------------------------------------------------------------------------
    def snapshot_db(self, snap: Any) -> str:
        """The snapshot's database, materialised on first use for lazily seeded snapshots."""
        name = db_name("snap", snap.db_snapshot_identifier)
        with self._lock:
            if self.pg.database_exists(name):
                return name
            if getattr(snap, "twin_empty", False):
                self.pg.create_database(name, owner=self.master_user)
                self._schema_only(name)
            else:
                # As of when its data was taken: a copy's `created` is the copy's own time.
                taken = as_utc(getattr(snap, "original_snapshot_create_time", None) or snap.created)
                self._copy_as_of(name, db_name("rds", snap.database.db_instance_identifier), taken)
        return name

    def copy_snapshot_db(self, source: Any, target: Any) -> None:
        """CopyDBSnapshot: the copy holds its source's data (not the source instance's of now)."""
        name = db_name("snap", target.db_snapshot_identifier)
        with self._lock:
            template = self.snapshot_db(source)
            if self.pg.database_exists(name):
                self.pg.drop_database(name)
            self.pg.create_database(name, owner=self.master_user, template=template)

    def _copy_as_of(self, name: str, live: str, when: datetime) -> None:
        """Database `name` holding what database `live` held at `when`.

        Before `live`'s log began and with no logged change back-dated to then, its unchanging
        base (the seed) pruned to `when` is the same data, and copying it leaves the live
        instance's sessions alone; it also outlives the instance.
        """
        base = self.bases.get(live)
        began = self.log_began.get(live)
        from_base = base is not None and began is not None and when < began and self.pg.database_exists(base)
        if from_base and self.pg.database_exists(live):
            with psycopg.connect(self._superuser(live)) as conn:
                from_base = not timeline.logged_by(conn, when)
        self.pg.create_database(name, owner=self.master_user, template=base if from_base else live)
        self.begin_lineage(name, None if from_base else live, when)

    def backdate_changes(self, ident: str, since: datetime, by: timedelta) -> int:
        """Changes made to `ident`'s data since `since` happened `by` earlier (a fault's state has lasted)."""
        with psycopg.connect(self._superuser(db_name("rds", ident))) as conn:
            return timeline.backdate(conn, since, by)

    def reset_master_password(self, instance: Any, password: str) -> None:
        """ModifyDBInstance MasterUserPassword: applied asynchronously, then recorded as an event."""
        instance.status = "resetting-master-credentials"

        def apply() -> None:
            self.pg.ensure_role(self.master_user, password)
            instance.status = "available"
            instance.add_event("DB_INSTANCE_RESET_MASTER_CREDENTIALS")

        timer = threading.Timer(TRANSITION_SECONDS, apply)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _schema_only(self, database: str) -> None:
        with psycopg.connect(self._superuser(database), autocommit=True) as conn:
            conn.execute(f'ALTER SCHEMA public OWNER TO "{self.master_user}"')  # type: ignore[arg-type]
            # As the master user, like Alembic on RDS: the tables must be the master user's to read.
            conn.execute(f'SET ROLE "{self.master_user}"')  # type: ignore[arg-type]
            conn.execute(self.schema_sql)  # type: ignore[arg-type]
            conn.execute("RESET ROLE")
            timeline.install(conn)

    def drop_snapshot(self, snapshot_id: str) -> None:
        name = db_name("snap", snapshot_id)
        with self._lock:
            if self.pg.database_exists(name):
                self.pg.drop_database(name)

    # ---- status transitions ----------------------------------------------------------------
    def transition(self, obj: Any, interim: str, final: str = "available") -> None:
        """Show `interim` for a moment, then `final`: waiters and progress lines get exercised."""
        obj.status = interim
        timer = threading.Timer(TRANSITION_SECONDS, setattr, args=(obj, "status", final))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def reset(self) -> None:
        """Drop every instance and snapshot database (moto's state is being reset too)."""
        self.stop()
        for name in self.pg.list_databases():
            if name.startswith(("rds_", "snap_")):
                self.pg.drop_database(name)

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for ident in list(self.proxies):
            self.proxies.pop(ident).stop()


def _prune(conn: psycopg.Connection[Any], as_of: datetime) -> None:
    """PRUNE_SQL in one transaction of `conn`, unlogged: the twin rewriting a copy is no change of its data."""
    with conn.transaction(), conn.cursor() as cur:
        timeline.quiet(conn)
        t = {"t": as_of.astimezone(UTC).replace(tzinfo=None)}
        for statement in filter(None, (s.strip() for s in PRUNE_SQL.split(";"))):
            cur.execute(statement, t)  # type: ignore[arg-type]


def activate(data: RdsData | None) -> None:
    global _active
    _active = data
    if data is not None:
        _install()
        _install_master_password_reset()


def active() -> RdsData | None:
    return _active


def restore_time(use_latest: Any, requested: Any, window: tuple[datetime, datetime], source: str) -> datetime:
    """The time a point-in-time restore goes to, refused as RDS refuses it outside the window."""
    earliest, latest = window
    if use_latest:
        when = latest
    elif requested:
        when = as_utc(requested)
    else:
        raise RDSClientError("InvalidParameterCombination", "RestoreTime or UseLatestRestorableTime is required")
    if not earliest <= when <= latest:
        raise RDSClientError(
            "InvalidRestoreFault",
            f"Restore time {when.isoformat()} is outside the restorable window "
            f"{earliest.isoformat()} - {latest.isoformat()} of {source}",
        )
    return when


def _restore_window(instance: Any) -> tuple[datetime, datetime]:
    latest = instance.latest_restorable_time
    if latest is None:
        raise RDSClientError(
            "InvalidDBInstanceState", f"automated backups are disabled for {instance.db_instance_identifier}"
        )
    earliest = datetime.now(UTC) - timedelta(days=instance.backup_retention_period)
    created = as_utc(instance.instance_create_time)
    return max(earliest, created), as_utc(latest)


def _install() -> None:
    """Wrap moto's RDS backend methods once per process; they act only while a twin is active."""
    global _installed
    if _installed:
        return
    _installed = True
    orig_create_snapshot = RDSBackend.create_db_snapshot
    orig_restore_snapshot = RDSBackend.restore_db_instance_from_db_snapshot
    orig_restore_pitr = RDSBackend.restore_db_instance_to_point_in_time
    orig_delete_instance = RDSBackend.delete_db_instance
    orig_delete_snapshot = RDSBackend.delete_db_snapshot
    orig_copy_snapshot = RDSBackend.copy_db_snapshot

    def create_db_snapshot(
        self: Any, db_instance_identifier: str, db_snapshot_identifier: str, *a: Any, **kw: Any
    ) -> Any:
        snap = orig_create_snapshot(self, db_instance_identifier, db_snapshot_identifier, *a, **kw)
        data = _active
        source_ready = data is not None and db_instance_identifier in data.proxies
        if data is not None and not data.lazy_snapshots and source_ready:
            # Copy now: a snapshot holds the data of the moment it was requested.
            data.snapshot_db(snap)
            data.transition(snap, "creating")
        return snap

    def restore_db_instance_from_db_snapshot(self: Any, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        data = _active
        snap_id = from_snapshot_id.split(":snapshot:")[-1]
        if data is not None:
            snaps = self.describe_db_snapshots(db_instance_identifier=None, db_snapshot_identifier=snap_id)
            template = data.snapshot_db(snaps[0])
        instance = orig_restore_snapshot(self, from_snapshot_id, overrides)
        if data is not None:
            data.attach(instance, template)
            data.transition(instance, "creating")
        return instance

    def restore_db_instance_to_point_in_time(
        self: Any, source_db_identifier: str, target_db_identifier: str, overrides: dict[str, Any]
    ) -> Any:
        data = _active
        source = self.describe_db_instances(db_instance_identifier=source_db_identifier)[0]
        when = restore_time(
            overrides.get("use_latest_restorable_time"),
            overrides.get("restore_time"),
            _restore_window(source),
            source_db_identifier,
        )
        clean = {k: v for k, v in overrides.items() if k not in ("restore_time", "use_latest_restorable_time")}
        instance = orig_restore_pitr(self, source_db_identifier, target_db_identifier, clean)
        if data is not None:
            data.attach(instance, db_name("rds", source_db_identifier), as_of=when)
            data.transition(instance, "creating")
        return instance

    def copy_db_snapshot(
        self: Any, source_db_snapshot_identifier: str, target_db_snapshot_identifier: str, *a: Any, **kw: Any
    ) -> Any:
        target = orig_copy_snapshot(self, source_db_snapshot_identifier, target_db_snapshot_identifier, *a, **kw)
        if _active is not None and not _active.lazy_snapshots:
            # Lazily seeded snapshots need nothing: the copy is materialised as of its original time.
            source_id = source_db_snapshot_identifier.split(":snapshot:")[-1]
            _active.copy_snapshot_db(self.get_db_snapshot(source_id), target)
        return target

    def delete_db_instance(self: Any, db_instance_identifier: str, *a: Any, **kw: Any) -> Any:
        instance = orig_delete_instance(self, db_instance_identifier, *a, **kw)
        if _active is not None:
            _active.detach(db_instance_identifier)
        instance.status = "deleting"
        return instance

    def delete_db_snapshot(self: Any, db_snapshot_identifier: str) -> Any:
        snap = orig_delete_snapshot(self, db_snapshot_identifier)
        if _active is not None:
            _active.drop_snapshot(db_snapshot_identifier)
        return snap

    RDSBackend.create_db_snapshot = create_db_snapshot  # type: ignore[method-assign]
    RDSBackend.restore_db_instance_from_db_snapshot = restore_db_instance_from_db_snapshot  # type: ignore[method-assign]
    RDSBackend.restore_db_instance_to_point_in_time = restore_db_instance_to_point_in_time  # type: ignore[method-assign]
    RDSBackend.delete_db_instance = delete_db_instance  # type: ignore[method-assign]
    RDSBackend.delete_db_snapshot = delete_db_snapshot  # type: ignore[method-assign]
    RDSBackend.copy_db_snapshot = copy_db_snapshot  # type: ignore[method-assign]


_password_reset_installed = False


def _install_master_password_reset() -> None:
    """Wrap ModifyDBInstance once per process: a new master password reaches the database."""
    global _password_reset_installed
    if _password_reset_installed:
        return
    _password_reset_installed = True
    orig_modify = RDSBackend.modify_db_instance

    def modify_db_instance(self: Any, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        password = db_kwargs.get("master_user_password")
        instance = orig_modify(self, db_instance_identifier, db_kwargs)
        data = _active
        if password and data is not None and instance.db_instance_identifier in data.proxies:
            data.reset_master_password(instance, str(password))
        return instance

    RDSBackend.modify_db_instance = modify_db_instance  # type: ignore[method-assign]
