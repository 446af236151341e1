"""`python -m twin`: serve the twin until interrupted and print how to point the suite at it.

    python -m twin [--fault NAME ...] [--profile NAME ...] [--port 5000] [--region eu-central-1]
                   [--records 2000] [--exports-file PATH] [--list-faults] [--list-profiles]

The printed `export` lines (also written to `--exports-file PATH`, to `source` in another shell
while the twin keeps running) point `pytest -m health --target aws`, `python -m recovery` and
the AWS CLI at it. Bad input ends with one line naming the option and exit code 4, like pytest.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn

from recovery.errors import EXIT_CONFIG, EXIT_OK, ConfigError
from recovery.settings import load_settings
from twin import profiles
from twin.account import AccountSpec
from twin.core import Twin
from twin.faults import CATALOG


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """A usage error is a configuration error: one line and the shared exit code."""
        self.exit(EXIT_CONFIG, f"configuration error: {message} (python -m twin --help)\n")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="python -m twin", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fault", action="append", default=[], metavar="NAME", help="inject a catalogued fault")
    parser.add_argument("--list-faults", action="store_true", help="list the fault catalog and exit")
    parser.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME",
        help="a production shape (repeatable, or comma-separated)",
    )
    parser.add_argument("--list-profiles", action="store_true", help="list the production shapes and exit")
    parser.add_argument("--port", type=int, default=0, help="port of the AWS endpoint (default: a free one)")
    parser.add_argument("--region", default="eu-central-1", help="AWS region of the twin's account")
    parser.add_argument("--records", default="2000", help="records seeded in the database (at least 10)")
    parser.add_argument("--exports-file", metavar="PATH", help="also write the export lines here (mode 0600)")
    return parser.parse_args(argv)


def validate(args: argparse.Namespace) -> AccountSpec:
    """The same rules as the suite's settings (AWS_REGION, TURATH_TWIN_SIZE) and the fault catalog."""
    try:
        settings = load_settings(cli={"region": args.region, "twin_size": args.records}, environ={}, dotenv_path=None)
    except ConfigError as exc:
        option = "--region" if exc.setting.startswith("AWS_REGION") else "--records (TURATH_TWIN_SIZE)"
        raise ConfigError(option, str(exc).split(": ", 2)[-1]) from None
    unknown = [f for f in args.fault if f not in CATALOG]
    if unknown:
        raise ConfigError("--fault", f"unknown fault(s) {', '.join(unknown)}; see python -m twin --list-faults")
    bad = profiles.unknown(selected_profiles(args))
    if bad:
        raise ConfigError("--profile", f"unknown profile(s) {', '.join(bad)}; see python -m twin --list-profiles")
    if not 0 <= args.port <= 65535:
        raise ConfigError("--port", f"expected 0-65535, got {args.port}")
    return AccountSpec(region=settings.region, records=settings.twin_size)


def selected_profiles(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(p.strip() for arg in args.profile for p in arg.split(",") if p.strip())


def export_lines(env_lines: list[str], secret_file: Path | str) -> list[str]:
    """`export KEY=value` lines; the password only as a read of its private file, never its value."""
    out = []
    for line in env_lines:
        key, _, value = line.partition("=")
        if key == "TURATH_DB_PASSWORD":
            out.append(f'export TURATH_DB_PASSWORD="$(cat {secret_file})"')
            continue
        out.append(f"export {key}={value}")
        if key == "AWS_REGION":
            out.append(f"export AWS_DEFAULT_REGION={value}")  # the AWS CLI (v1) reads this one
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.list_faults:
        for fault in CATALOG.values():
            sections = ", ".join(f"§{s}" for s in fault.sections)
            sys.stdout.write(f"{fault.name:28} {sections:14} {'/'.join(fault.modes):12} {fault.summary}\n")
        return EXIT_OK
    if args.list_profiles:
        for profile in profiles.PROFILES.values():
            sys.stdout.write(f"{profile.name:20} {profile.summary}\n")
        return EXIT_OK
    try:
        spec = validate(args)
    except ConfigError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_CONFIG
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    twin = Twin(spec, port=args.port, faults=tuple(args.fault), profiles=selected_profiles(args))
    info = twin.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    lines = export_lines(info.env_lines(), twin.write_secret_file())
    if args.exports_file:
        path = Path(args.exports_file)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# written by python -m twin; source it while the twin runs\n" + "\n".join(lines) + "\n")
        os.chmod(path, 0o600)
    where = f" (also in {args.exports_file}: source it)" if args.exports_file else ""
    sys.stdout.write(f"# the twin is up; point the suite at it with these lines{where}:\n")
    sys.stdout.write("\n".join(lines) + "\n")
    # The keys above hold the drill's policy files; a health-only shell can hold health.json alone.
    sys.stdout.write(
        "# IAM is enforced: these keys hold policies/health.json + drill.json + the optional files; for "
        f"health alone: AWS_ACCESS_KEY_ID={info.health_access_key} AWS_SECRET_ACCESS_KEY={info.health_secret_key}\n"
    )
    shapes = ", ".join(selected_profiles(args)) or "none"
    sys.stdout.write(
        f"# ready in {twin.timings['start']:.2f}s; faults: {', '.join(args.fault) or 'none'}; profiles: {shapes}\n"
    )
    sys.stdout.flush()
    stop.wait()
    log = logging.getLogger("twin")
    log.info("stopping")
    started = time.monotonic()
    twin.stop()
    log.info("stopped in %.1f s", time.monotonic() - started)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
