"""The InvenioRDM CLI commands the recovery plan runs, against the twin's database and index.

A command sees only the environment of the task that runs it. Through the image's entrypoint
(`/usr/local/bin/resolve-db-uri.sh`) the database URI is built from `RDS_DB_*`; an
`ecs execute-command` shell or a one-off task that overrides the entrypoint skips that script
and falls back to InvenioRDM's default URI on localhost, which fails (FACTS, plan 6.3).

No line ever contains a password: command output is scrubbed of every secret the command saw.
"""

from __future__ import annotations

import hashlib
import logging
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import psycopg

from twin.invenio_db import ALEMBIC_HEADS
from twin.search import IndexExistsError, SearchIndex

log = logging.getLogger(__name__)

DEFAULT_DB_URI = "postgresql+psycopg2://invenio:invenio@localhost/invenio"
DEFAULT_SEARCH_HOSTS = "localhost:9200"
ENTRYPOINT = "/usr/local/bin/resolve-db-uri.sh"
_TAG = "[resolve-db-uri]"

IndexResolver = Callable[[str], SearchIndex | None]


@dataclass
class CommandResult:
    exit_code: int
    lines: list[str] = field(default_factory=list)


class CommandFailed(Exception):
    """Ends a command with `exit_code`; its message lines are the last output."""

    def __init__(self, exit_code: int, *lines: str) -> None:
        super().__init__(lines[0] if lines else "")
        self.exit_code = exit_code
        self.lines = list(lines)


def hash_password(password: str) -> str:
    """How the twin stores passwords (the real app uses pbkdf2; only equality matters here)."""
    return hashlib.sha256(password.encode()).hexdigest()


def search_key(env: Mapping[str, str]) -> str:
    """Which search indices the environment names: INVENIO_SEARCH_HOSTS, plus the index prefix.

    InvenioRDM's SEARCH_INDEX_PREFIX lets a recovery environment rebuild its own indices on a
    shared cluster; the key is `hosts` or `hosts|prefix`.
    """
    hosts = env.get("INVENIO_SEARCH_HOSTS") or DEFAULT_SEARCH_HOSTS
    prefix = env.get("INVENIO_SEARCH_INDEX_PREFIX", "")
    return f"{hosts}|{prefix}" if prefix else hosts


def resolve_db_uri(env: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """What the image's entrypoint does: build INVENIO_SQLALCHEMY_DATABASE_URI from RDS_DB_*."""
    password = env.get("RDS_DB_PASSWORD", "")
    if not password:
        return None, [f"{_TAG} ERROR: RDS_DB_PASSWORD is not set"]
    lines = [f"{_TAG} Using RDS_DB_PASSWORD (manual password management)"]
    endpoint = env.get("RDS_DB_HOST", "")
    if not endpoint:
        return None, [*lines, f"{_TAG} ERROR: RDS_DB_HOST is not set"]
    host, _, port = endpoint.partition(":")
    user = env.get("RDS_DB_USER") or "inveniordm_user"
    name = env.get("RDS_DB_NAME") or "invenio"
    uri = f"postgresql+psycopg2://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port or '5432'}/{name}"
    return uri, [*lines, f"{_TAG} DB URI resolved successfully"]


def conninfo(uri: str) -> str:
    """A psycopg connection string from an SQLAlchemy URI (`postgresql+driver://...`)."""
    scheme, sep, rest = uri.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        raise ValueError("not a PostgreSQL URI")
    return f"postgresql://{rest}"


def uri_password(uri: str) -> str:
    try:
        return unquote(urlsplit(conninfo(uri)).password or "")
    except ValueError:
        return ""


def _is_default_localhost(uri: str) -> bool:
    parts = urlsplit(conninfo(uri))
    return (parts.hostname or "localhost") == "localhost" and (parts.port or 5432) == 5432


def db_error_lines(exc: BaseException) -> list[str]:
    """The log lines SQLAlchemy + psycopg2 print for a failed connection."""
    text = str(exc).strip().removeprefix("connection failed: ")
    first, *rest = text.splitlines() or [""]
    return [f"sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) {first}", *rest]


def localhost_error_lines() -> list[str]:
    """What the default URI gives inside a container with no PostgreSQL of its own."""
    return [
        'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "localhost"'
        " (127.0.0.1), port 5432 failed: Connection refused",
        "\tIs the server running on that host and accepting TCP/IP connections?",
        "(Background on this error at: https://sqlalche.me/e/20/e3q8)",
    ]


def connect(uri: str) -> psycopg.Connection[Any]:
    """Connect like the app does; raises CommandFailed(1) with the log lines on failure."""
    try:
        info = conninfo(uri)
        local = _is_default_localhost(uri)
    except ValueError:
        raise CommandFailed(1, "sqlalchemy.exc.ArgumentError: Could not parse SQLAlchemy URL") from None
    if local:
        raise CommandFailed(1, *localhost_error_lines())
    try:
        return psycopg.connect(info, connect_timeout=2)
    except psycopg.Error as exc:
        raise CommandFailed(1, *db_error_lines(exc)) from None


def scrub(lines: Sequence[str], secrets: Sequence[str]) -> list[str]:
    out = []
    for line in lines:
        for secret in secrets:
            if secret:
                line = line.replace(secret, "****").replace(quote(secret, safe=""), "****")
        out.append(line)
    return out


class _Invocation:
    """One command run: its environment, its database URI, its search index."""

    def __init__(self, env: Mapping[str, str], indices: IndexResolver, uri: str, heads: Sequence[str]) -> None:
        self.env = env
        self.indices = indices
        self.uri = uri
        self.heads = heads
        self.out: list[str] = []

    def index(self) -> SearchIndex:
        hosts = search_key(self.env)
        found = self.indices(hosts)
        if found is None:
            raise CommandFailed(
                1,
                f"opensearchpy.exceptions.ConnectionError: ConnectionError(<urllib3.connection.HTTPConnection>:"
                f" Failed to establish a new connection: [Errno 111] Connection refused) caused by:"
                f" NewConnectionError({hosts})",
            )
        return found

    def db(self) -> psycopg.Connection[Any]:
        return connect(self.uri)

    def dsn(self) -> str:
        return conninfo(self.uri)

    # ---- index ----------------------------------------------------------------------------
    def index_destroy(self, args: list[str]) -> None:
        if "--yes-i-know" not in args:
            self.out.append("Do you know that you are going to destroy all indexes? [y/N]: ")
            raise CommandFailed(1, "Aborted!")
        index = self.index()
        self.out.append("Destroying indexes...")
        self.out += [f"Destroyed {name}" for name in index.destroy()]

    def index_init(self, args: list[str]) -> None:
        index = self.index()
        self.out.append("Creating indexes...")
        try:
            created = index.init(force="--force" in args)
        except IndexExistsError as exc:
            raise CommandFailed(
                1,
                "opensearchpy.exceptions.RequestError: RequestError(400, "
                f"'resource_already_exists_exception', '{exc}')",
            ) from None
        self.out += [f"Created {name}" for name in created]

    # ---- reindexing ---------------------------------------------------------------------------
    def _reindex(self, kinds: Sequence[str]) -> None:
        queries = {
            "users": "SELECT id FROM accounts_user",
            "communities": "SELECT id FROM communities_metadata WHERE json IS NOT NULL",
            "records": "SELECT id FROM rdm_records_metadata WHERE json IS NOT NULL",
            "drafts": "SELECT id FROM rdm_drafts_metadata WHERE json IS NOT NULL",
            "members": "SELECT id FROM communities_members WHERE json IS NOT NULL",
            "requests": "SELECT id FROM request_metadata WHERE json IS NOT NULL",
        }
        with self.db() as conn:
            ids = {kind: [str(r[0]) for r in conn.execute(queries[kind]).fetchall()] for kind in kinds}
        index = self.index()
        for kind in kinds:
            self.out.append(f"Reindexing {kind}...")
            index.queue(kind, ids[kind], self.dsn())
            self.out.append(f"Queued {len(ids[kind])} {kind} for reindexing")

    def rebuild_all(self, args: list[str]) -> None:
        self._reindex(["users", "communities", "members", "records", "drafts", "requests"])
        self.out.append("Reindexing finished (indexing continues in the background workers)")

    def rebuild_records(self, args: list[str]) -> None:
        self._reindex(["records", "drafts"])
        self.out.append("Reindexing finished (indexing continues in the background workers)")

    # ---- accounts -------------------------------------------------------------------------------
    def users_create(self, args: list[str]) -> None:
        positional, opts = _parse(args, valued={"--password", "-p"})
        if len(positional) != 1:
            raise CommandFailed(2, "Usage: invenio users create [OPTIONS] EMAIL", "Error: Missing argument 'EMAIL'.")
        email = positional[0]
        password = opts.get("--password") or opts.get("-p")
        if password is None:
            raise CommandFailed(1, "Password: ", "Error: no TTY for password prompt")
        if len(password) < 6:
            raise CommandFailed(
                2, "Error: Error creating user. {'password': ['Password must be at least 6 characters long.']}"
            )
        active = "--active" in opts or "-a" in opts
        confirm = "--confirm" in opts or "-c" in opts
        with self.db() as conn:
            if conn.execute("SELECT 1 FROM accounts_user WHERE lower(email) = lower(%s)", (email,)).fetchone():
                raise CommandFailed(
                    2, f"Error: Error creating user. {{'email': ['{email} is already associated with an account.']}}"
                )
            row = conn.execute(
                "INSERT INTO accounts_user (email, password, active, confirmed_at, created, updated, version_id) "
                "VALUES (%s, %s, %s, CASE WHEN %s THEN timezone('utc', now()) END, "
                "timezone('utc', now()), timezone('utc', now()), 1) RETURNING id",
                (email, hash_password(password), active, confirm),
            ).fetchone()
        self.out.append("User created successfully.")
        self.out.append(str({"email": email, "password": "****", "active": active}))
        found = self.indices(search_key(self.env))
        if found is not None and row is not None:
            found.queue("users", [str(row[0])], self.dsn())

    def roles_create(self, args: list[str]) -> None:
        positional, opts = _parse(args, valued={"--description", "-d"})
        if len(positional) != 1:
            raise CommandFailed(2, "Error: Missing argument 'NAME'.")
        name = positional[0]
        with self.db() as conn:
            if conn.execute("SELECT 1 FROM accounts_role WHERE name = %s", (name,)).fetchone():
                raise CommandFailed(
                    1,
                    f"sqlalchemy.exc.IntegrityError: duplicate key value violates unique "
                    f'constraint "accounts_role_name_key" (name)=({name})',
                )
            conn.execute(
                "INSERT INTO accounts_role (id, name, description, created, updated, version_id, is_managed) "
                "VALUES (%s, %s, %s, timezone('utc', now()), timezone('utc', now()), 1, true)",
                (name, name, opts.get("--description") or opts.get("-d")),
            )
        self.out.append("Role created successfully.")
        self.out.append(str({"name": name, "description": opts.get("--description") or ""}))

    def roles_add(self, args: list[str]) -> None:
        positional, _ = _parse(args, valued=set())
        if len(positional) != 2:
            raise CommandFailed(2, "Error: Missing argument 'ROLE'.")
        email, role = positional
        with self.db() as conn:
            user = conn.execute("SELECT id FROM accounts_user WHERE lower(email) = lower(%s)", (email,)).fetchone()
            if user is None:
                raise CommandFailed(2, "Error: Cannot find user.")
            found = conn.execute("SELECT id FROM accounts_role WHERE name = %s", (role,)).fetchone()
            if found is None:
                raise CommandFailed(2, "Error: Cannot find role.")
            conn.execute(
                "INSERT INTO accounts_userrole (user_id, role_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (user[0], found[0]),
            )
        self.out.append(f'Role "{role}" added to user "{email}" successfully.')

    def access_allow(self, args: list[str]) -> None:
        """`invenio access allow ACTION role ROLE` or `... user EMAIL` (a direct grant)."""
        positional, _ = _parse(args, valued={"--argument", "-a"})
        if len(positional) != 3 or positional[1] not in {"role", "user"}:
            raise CommandFailed(
                2, "Usage: invenio access allow ACTION [role ROLE|user EMAIL]", "Error: Missing command."
            )
        action, kind, name = positional
        with self.db() as conn:
            if kind == "role":
                found = conn.execute("SELECT id FROM accounts_role WHERE name = %s", (name,)).fetchone()
                if found is None:
                    raise CommandFailed(2, f"Error: Invalid value for 'ROLE': Role '{name}' does not exist.")
                table, column = "access_actionsroles", "role_id"
            else:
                found = conn.execute("SELECT id FROM accounts_user WHERE lower(email) = lower(%s)", (name,)).fetchone()
                if found is None:
                    raise CommandFailed(2, f"Error: Invalid value for 'USER': User {name} does not exist.")
                table, column = "access_actionsusers", "user_id"
            exists = conn.execute(
                f"SELECT 1 FROM {table} WHERE action = %s AND {column} = %s AND NOT exclude",  # type: ignore[arg-type]
                (action, found[0]),
            ).fetchone()
            if not exists:
                conn.execute(
                    f"INSERT INTO {table} (action, exclude, {column}) VALUES (%s, false, %s)",  # type: ignore[arg-type]
                    (action, found[0]),
                )
        self.out.append(f"Allowed {action} to {kind} {name}")

    def alembic_upgrade(self, args: list[str]) -> None:
        """Up to the image's heads. A revision the image does not know (the database is ahead of it) stops
        alembic before it changes anything; the image knows the released history and its own heads."""
        self.out += [
            "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.",
            "INFO  [alembic.runtime.migration] Will assume transactional DDL.",
        ]
        with self.db() as conn:
            current = {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
            unknown = sorted(current - {*self.heads, *ALEMBIC_HEADS})
            if unknown:
                message = f"ERROR [alembic.util.messaging] Can't locate revision identified by '{unknown[0]}'"
                raise CommandFailed(1, message)
            for head in sorted(set(self.heads) - current):
                self.out.append(f"INFO  [alembic.runtime.migration] Running upgrade  -> {head}")
            conn.execute("DELETE FROM alembic_version")
            for head in self.heads:
                conn.execute("INSERT INTO alembic_version (version_num) VALUES (%s)", (head,))


_Handler = Callable[[_Invocation, list[str]], None]

# (group, subcommand) -> handler; a group's known subcommands make click's "No such command".
COMMANDS: dict[tuple[str, ...], _Handler] = {
    ("index", "destroy"): _Invocation.index_destroy,
    ("index", "init"): _Invocation.index_init,
    ("rdm", "rebuild-all-indices"): _Invocation.rebuild_all,
    ("rdm-records", "rebuild-index"): _Invocation.rebuild_records,
    ("users", "create"): _Invocation.users_create,
    ("roles", "create"): _Invocation.roles_create,
    ("roles", "add"): _Invocation.roles_add,
    ("access", "allow"): _Invocation.access_allow,
    ("alembic", "upgrade"): _Invocation.alembic_upgrade,
}
_GROUPS = {group for group, _ in COMMANDS} | {"db", "shell", "files", "search", "rdm-records", "vocabularies"}


def _parse(args: list[str], valued: set[str]) -> tuple[list[str], dict[str, str]]:
    """Split click-style arguments into positionals and options (`--x v`, `--x=v`, flags)."""
    positional: list[str] = []
    opts: dict[str, str] = {}
    it = iter(args)
    for arg in it:
        if arg.startswith("-"):
            name, eq, value = arg.partition("=")
            if eq:
                opts[name] = value
            elif name in valued:
                opts[name] = next(it, "")
            else:
                opts[name] = ""
        else:
            positional.append(arg)
    return positional, opts


def _split(argv: Sequence[str]) -> list[list[str]]:
    """The invenio commands in argv: plain, `pipenv run ...`, or a `bash -c "a && b"` line."""
    args = list(argv)
    if len(args) >= 3 and args[0].rsplit("/", 1)[-1] in {"bash", "sh"} and args[1] in {"-c", "-lc"}:
        tokens = shlex.split(args[2])
        commands: list[list[str]] = [[]]
        for token in tokens:
            if token in {"&&", ";"}:
                commands.append([])
            else:
                commands[-1].append(token)
        return [c for c in commands if c]
    return [args]


def _run_one(
    argv: list[str], env: Mapping[str, str], indices: IndexResolver, uri: str, heads: Sequence[str]
) -> CommandResult:
    args = argv[2:] if argv[:2] == ["pipenv", "run"] else argv
    if not args or args[0].rsplit("/", 1)[-1] != "invenio":
        name = args[0] if args else ""
        return CommandResult(127, [f"bash: {name}: command not found"])
    rest = args[1:]
    if not rest:
        return CommandResult(0, ["Usage: invenio [OPTIONS] COMMAND [ARGS]..."])
    group = rest[0]
    if group not in _GROUPS:
        return CommandResult(2, ["Usage: invenio [OPTIONS] COMMAND [ARGS]...", f"Error: No such command '{group}'."])
    sub = rest[1] if len(rest) > 1 else ""
    handler = COMMANDS.get((group, sub))
    if handler is None:
        return CommandResult(
            2, [f"Usage: invenio {group} [OPTIONS] COMMAND [ARGS]...", f"Error: No such command '{sub}'."]
        )
    invocation = _Invocation(env, indices, uri, heads)
    try:
        handler(invocation, rest[2:])
    except CommandFailed as exc:
        return CommandResult(exc.exit_code, invocation.out + exc.lines)
    return CommandResult(0, invocation.out)


def run_command(
    argv: Sequence[str],
    env: Mapping[str, str],
    indices: IndexResolver,
    entrypoint: bool,
    heads: Sequence[str] = ALEMBIC_HEADS,
) -> CommandResult:
    """Run an InvenioRDM CLI command as a container of a task with environment `env` would.

    `entrypoint`: whether the image's entrypoint ran first (a normal task start, or a one-off
    task that keeps it). `indices` maps INVENIO_SEARCH_HOSTS to the index it names, or None.
    `heads`: the Alembic heads of the image the container runs.
    """
    lines: list[str] = []
    if entrypoint:
        uri, lines = resolve_db_uri(env)
        if uri is None:
            return CommandResult(1, scrub(lines, _secrets(env, argv, "")))
    else:
        uri = env.get("INVENIO_SQLALCHEMY_DATABASE_URI") or DEFAULT_DB_URI
    result = CommandResult(0, [])
    for command in _split(argv):
        result = _run_one(command, env, indices, uri, heads)
        lines += result.lines
        if result.exit_code != 0:
            break
    secrets = _secrets(env, argv, uri)
    return CommandResult(result.exit_code, scrub(lines, secrets))


def _secrets(env: Mapping[str, str], argv: Sequence[str], uri: str) -> list[str]:
    found = [env.get("RDS_DB_PASSWORD", ""), uri_password(uri)]
    env_uri = env.get("INVENIO_SQLALCHEMY_DATABASE_URI", "")
    if env_uri:
        found.append(uri_password(env_uri))
    for command in _split(argv):
        _, opts = _parse(command, valued={"--password", "-p"})
        found += [opts.get("--password", ""), opts.get("-p", "")]
    # Longest first so a secret containing another is masked whole.
    return sorted({s for s in found if s and s != "invenio"}, key=len, reverse=True)
