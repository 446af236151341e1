"""Build InvenioRDM's real database with its own migrations, CLI and services; cache the result.

    python3 scripts/invenio_build.py [--force]   # prints the cache directory

Needs InvenioRDM's environment (scripts/invenio_env.sh makes it; INVENIO_VENV overrides where it
is). Starts a throw-away PostgreSQL the way the twin does (twin.postgres), then in InvenioRDM's
own process: `invenio alembic upgrade`, `invenio users create / roles create / roles add /
access allow` (a role grant and a direct grant of superuser-access, an excluded grant, an
inactive user in the admin role), and tests/conformance/invenio_populate.py (records, files,
versions, a tombstone, a restricted record, checksum verification). The result is dumped with
pg_dump into ~/.cache/turath/invenio-db-<key>/ (dump.sql, facts.json, build.json), keyed by the
requirements lock and the scripts, so a second run costs nothing.

No OpenSearch or Redis: INVENIO_CACHE_TYPE=SimpleCache, Celery's broker in memory, the
communities identity cache in a dict (tests/conformance/invenio_stubs.py), the search client a
mock inside the populate script.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from psycopg.conninfo import make_conninfo  # noqa: E402

from twin.postgres import PostgresServer  # noqa: E402

log = logging.getLogger("invenio_build")

CONFORMANCE = ROOT / "tests" / "conformance"
LOCK = CONFORMANCE / "invenio-requirements.txt"
INPUTS = (LOCK, CONFORMANCE / "invenio_populate.py", CONFORMANCE / "invenio_stubs.py", Path(__file__))
CACHE = Path(os.environ.get("TURATH_CACHE", Path.home() / ".cache" / "turath"))
DB_USER = "inveniordm_user"
DB_NAME = "invenio"

# Who InvenioRDM's CLI creates (EMAIL, active, how superuser-access reaches them).
ADMIN_ROLE_USER = "admin@turath-project.com"  # role admin, the role holds superuser-access
DIRECT_ADMIN = "direct@turath-project.com"  # `invenio access allow superuser-access user EMAIL`
EXCLUDED_ADMIN = "excluded@turath-project.com"  # role admin, but `access deny ... user EMAIL`
INACTIVE_ADMIN = "inactive@turath-project.com"  # role admin, account not active
READER = "reader@example.org"  # nobody special


def key() -> str:
    digest = hashlib.sha256()
    for path in INPUTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def lock_key() -> str:
    return hashlib.sha256(LOCK.read_bytes()).hexdigest()[:12]


def venv() -> Path:
    return Path(os.environ.get("INVENIO_VENV") or CACHE / f"invenio-venv-{lock_key()}")


def cache_dir() -> Path:
    return CACHE / f"invenio-db-{key()}"


def _invenio_env(dsn_uri: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVENIO_", "TURATH_"))}
    env.update(
        PYTHONPATH=str(CONFORMANCE),
        INVENIO_SQLALCHEMY_DATABASE_URI=dsn_uri,
        INVENIO_INSTANCE_PATH=str(instance),
        INVENIO_SECRET_KEY="conformance-build-only",
        INVENIO_CACHE_TYPE="SimpleCache",
        INVENIO_BROKER_URL="memory://",
        INVENIO_CELERY_BROKER_URL="memory://",
        INVENIO_CELERY_RESULT_BACKEND="cache+memory://",
        INVENIO_COMMUNITIES_IDENTITIES_CACHE_HANDLER="invenio_stubs:MemoryIdentityCache",
    )
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path, timings: dict[str, float], label: str) -> None:
    started = time.monotonic()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=900, check=False)
    timings[label] = round(time.monotonic() - started, 2)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise SystemExit(f"{' '.join(args[-4:])} failed ({done.returncode}):\n{tail}")


def build(target: Path) -> None:
    bindir = venv() / "bin"
    if not (bindir / "invenio").exists():
        raise SystemExit(f"no InvenioRDM environment at {venv()}: run scripts/invenio_env.sh first")
    timings: dict[str, float] = {}
    started = time.monotonic()
    with PostgresServer() as pg, tempfile.TemporaryDirectory(prefix="turath-invenio-") as tmp:
        work = Path(tmp)
        password = "conformance-build-only"
        pg.ensure_role(DB_USER, password)
        pg.create_database(DB_NAME, owner=DB_USER)
        uri = f"postgresql+psycopg2://{DB_USER}:{password}@{pg.host}:{pg.port}/{DB_NAME}"
        env = _invenio_env(uri, work / "instance")
        invenio = [str(bindir / "invenio")]
        _run([*invenio, "alembic", "upgrade"], env, work, timings, "alembic upgrade")
        for email in (ADMIN_ROLE_USER, DIRECT_ADMIN, EXCLUDED_ADMIN, READER):
            create = [*invenio, "users", "create", email, "--password", "turath-pass-1", "--active", "--confirm"]
            _run(create, env, work, timings, email)
        inactive = [*invenio, "users", "create", INACTIVE_ADMIN, "--password", "turath-pass-1"]
        _run(inactive, env, work, timings, "inactive")
        _run([*invenio, "roles", "create", "admin"], env, work, timings, "roles create")
        for email in (ADMIN_ROLE_USER, EXCLUDED_ADMIN, INACTIVE_ADMIN):
            _run([*invenio, "roles", "add", email, "admin"], env, work, timings, f"roles add {email}")
        _run([*invenio, "access", "allow", "superuser-access", "role", "admin"], env, work, timings, "allow role")
        _run([*invenio, "access", "allow", "superuser-access", "user", DIRECT_ADMIN], env, work, timings, "allow")
        _run([*invenio, "access", "deny", "superuser-access", "user", EXCLUDED_ADMIN], env, work, timings, "deny")
        files = work / "files"
        files.mkdir()
        facts = work / "facts.json"
        populate = [str(bindir / "python"), str(CONFORMANCE / "invenio_populate.py"), str(files), str(facts)]
        _run(populate, env, work, timings, "populate")
        staging = target.with_name(target.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        dump = staging / "dump.sql"
        conninfo = make_conninfo(pg.superuser_dsn, dbname=DB_NAME)
        subprocess.run(
            [str(pg.bindir / "pg_dump"), "--no-owner", "--no-privileges", "-d", conninfo, "-f", str(dump)],
            check=True,
            timeout=300,
        )
        shutil.copy(facts, staging / "facts.json")
        versions = subprocess.run(
            [str(bindir / "python"), "-m", "pip", "freeze"], capture_output=True, text=True, check=True, timeout=120
        ).stdout
        pinned = {line.split("==")[0].lower(): line.split("==")[1] for line in versions.splitlines() if "==" in line}
        build_info = {
            "invenio-app-rdm": pinned.get("invenio-app-rdm"),
            "invenio-rdm-records": pinned.get("invenio-rdm-records"),
            "invenio-files-rest": pinned.get("invenio-files-rest"),
            "invenio-access": pinned.get("invenio-access"),
            "invenio-accounts": pinned.get("invenio-accounts"),
            "postgresql": pg.version,
            "seconds": round(time.monotonic() - started, 1),
            "steps": timings,
        }
        (staging / "build.json").write_text(json.dumps(build_info, indent=1))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the cache has this build")
    parser.add_argument("--print-venv", action="store_true", help="print where InvenioRDM's environment goes")
    args = parser.parse_args(argv)
    if args.print_venv:
        sys.stdout.write(f"{venv()}\n")
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    target = cache_dir()
    if args.force or not (target / "build.json").exists():
        build(target)
    sys.stdout.write(f"{target}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
