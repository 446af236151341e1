"""`python -m recovery drill|plan|sweep`: the drill outside pytest, through the same code.

    python -m recovery drill [--plan] [--keep] [--resume-from STEP] [--drill-id ID] [--restore-time ISO]
    python -m recovery plan                      # same as drill --plan: prints every mutating call
    python -m recovery sweep [--drill-id ID] [--older-than-hours N] [--apply]

Settings come from the environment and `.env` like the suite's (`--set KEY=VALUE` overrides).
With TURATH_TARGET=twin (the default) it starts the embedded twin for the command's duration,
so `plan` needs no AWS account; with `aws` it talks to AWS or AWS_ENDPOINT_URL.
Exit codes (recovery/errors.py, the same as pytest's and `python -m twin`'s): 0 success; 1 a step
failed, the plan would refuse, or something was left behind; 2 interrupted (after teardown);
4 bad configuration (one line naming the setting); 6 the drill lock is held or the swept drill is alive.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from recovery.aws.session import Aws, StaticCredentials
from recovery.drill import engine
from recovery.drill.context import DrillOptions
from recovery.drill.lock import LockHeld
from recovery.drill.preflight import InvalidDrill
from recovery.drill.steps import STEPS
from recovery.drill.sweep import DrillAlive, SweepResult, sweep
from recovery.errors import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    ConfigError,
    PermissionMissing,
    StepFailed,
)
from recovery.secrets import redact
from recovery.settings import Settings, load_settings
from recovery.tools import cli as tools_cli

TOOL_COMMANDS = ("snapshot", "s3-backup", "restore-guide")  # run as policies/tools.json on AWS


def _out(text: str) -> None:
    """The command's result (stdout): what a script or an operator reads."""
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    """Progress and errors (stderr), already redacted by the caller."""
    sys.stderr.write(text + "\n")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m recovery", description="Turath recovery drill (plan section 4)")
    p.add_argument("--env-file", default=".env", help="dotenv file (default .env)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any setting by its env key")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("drill", "plan"):
        d = sub.add_parser(name, help="run the drill" if name == "drill" else "print the drill's mutating calls")
        d.add_argument("--plan", action="store_true", help="print every step and mutating call; touch nothing")
        d.add_argument("--keep", action="store_true", help="keep the environment for inspection (sweep it later)")
        d.add_argument("--resume-from", choices=STEPS, help="continue a kept/killed drill from this step")
        d.add_argument("--drill-id", help="the drill to resume (default: the newest one not torn down)")
        d.add_argument("--restore-time", help="'latest' or ISO-8601: point-in-time restore instead of a snapshot")
    s = sub.add_parser("sweep", help="remove what dead drills left (dry run unless --apply)")
    s.add_argument("--drill-id", help="sweep this drill whatever its age (never while it is alive)")
    s.add_argument("--older-than-hours", type=float, default=None, help="without --drill-id: age threshold")
    s.add_argument("--apply", action="store_true", help="delete (default: only list)")
    tools_cli.add_subcommands(sub)
    return p


def _settings(args: argparse.Namespace) -> Settings:
    cli: dict[str, str | None] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item}", "expected KEY=VALUE")
        cli[key.strip()] = value
    env_file = Path(args.env_file)
    if args.env_file != ".env" and not env_file.exists():
        raise ConfigError("--env-file", f"no such file {env_file}")
    return load_settings(cli=cli, dotenv_path=env_file)


@contextlib.contextmanager
def _target(settings: Settings, command: str) -> Iterator[tuple[Settings, Aws]]:
    """AWS (or AWS_ENDPOINT_URL) as configured; on `twin`, an embedded twin for this command, called
    as the principal that command runs as on AWS (the drill's policies, or the tools' for the plan's
    backup scripts)."""
    if settings.target != "twin":
        yield settings, Aws(settings)
        return
    from twin.core import Twin  # the default target: a stand-in account, started here like pytest does
    from twin.spec import spec_from_settings

    twin = Twin(spec_from_settings(settings))
    info = twin.start()
    try:
        from recovery.secrets import Secret, register

        register(info.db_password)
        pointed = settings.with_overrides(
            endpoint_url=info.endpoint_url,
            site_url=info.site_url,
            db_host=info.db_host,
            db_password=Secret(info.db_password),
            drill_allowed_accounts=(*settings.drill_allowed_accounts, info.account_id),
        )
        keys = (info.access_key, info.secret_key)
        if command in TOOL_COMMANDS:
            keys = (info.tools_access_key, info.tools_secret_key)
        yield pointed, Aws(pointed, StaticCredentials(*keys))
    finally:
        twin.stop()


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr
    )
    for noisy in ("botocore", "urllib3", "boto3", "werkzeug", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _terminate)  # teardown runs on SIGTERM like on Ctrl-C
    try:
        settings = _settings(args)
        with _target(settings, args.command) as (pointed, aws):
            return _run(args, pointed, aws)
    except (ConfigError, InvalidDrill, PermissionMissing) as exc:
        _err(redact(str(exc)))
        return EXIT_CONFIG
    except (LockHeld, DrillAlive) as exc:
        _err(redact(str(exc)))
        return EXIT_LOCKED


def _run(args: argparse.Namespace, settings: Settings, aws: Aws) -> int:
    if (code := tools_cli.run(args, settings, aws)) is not None:
        return code
    if args.command == "sweep":
        return _sweep(settings, aws, args)
    options = DrillOptions.from_settings(
        settings,
        plan=args.plan or args.command == "plan",
        keep=args.keep,
        resume_from=args.resume_from or "",
        drill_id=args.drill_id,
        restore_time=args.restore_time,
    )
    ctx = engine.begin(settings, aws, options)
    if options.plan:
        calls = engine.plan(ctx)
        _out(f"drill {ctx.drill_id} would make these mutating AWS calls (nothing was changed):")
        for call in calls:
            _out("  " + redact(call.line()))
        if engine.refused(calls):
            _err("the drill would refuse: no recovery point passes the snapshot gate (see REFUSED above)")
            return EXIT_FAILED
        return EXIT_OK
    try:
        result = engine.run_drill(ctx)
    except StepFailed as exc:
        _err(redact(str(exc)))
        if exc.diagnostics:
            _err(redact(json.dumps(exc.diagnostics, indent=2, default=str)))
        _out(redact(json.dumps(engine.summary(ctx), indent=2, default=str)))
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err(f"interrupted; drill {ctx.drill_id} torn down (ledger {ctx.ledger.path})")
        return EXIT_INTERRUPTED
    _out(redact(json.dumps(result, indent=2, default=str)))
    return EXIT_FAILED if result["leftovers"] else EXIT_OK


def _sweep(settings: Settings, aws: Aws, args: argparse.Namespace) -> int:
    hours = args.older_than_hours if args.older_than_hours is not None else settings.drill_sweep_hours
    result = sweep(settings, aws, hours, apply=args.apply, drill_id=args.drill_id)
    _report_sweep(result, args.apply, hours)
    return EXIT_FAILED if result.failed else EXIT_OK


def _report_sweep(result: SweepResult, applied: bool, hours: float) -> None:
    for drill in result.drills:
        head = f"drill {drill.drill_id} (oldest {drill.as_dict()['oldest']})"
        if drill.skipped:
            _out(f"{head}: left alone, {drill.skipped}")
            continue
        if not applied:
            _out(f"{head}: would remove {len(drill.resources)} resource(s) (dry run; --apply deletes)")
            for f in drill.resources:
                _out(f"  {f.kind} {f.id}")
            continue
        removed = len(drill.resources) - len(drill.remaining)
        _out(f"{head}: removed {removed} of {len(drill.resources)} resource(s)")
        for f in drill.remaining:
            _out(f"  NOT REMOVED: {f.kind} {f.id} {f.extra.get('outcome', '')}".rstrip())
    for f in result.foreign:
        _out(f"left alone (named like drill {f.drill_id} but not tagged drill-id={f.drill_id}): {f.kind} {f.id}")
    for note in result.unchecked:
        _out(note)
    if not result.drills:
        _out(f"no drill resources found (sweep without --drill-id leaves drills younger than {hours} h)")


if __name__ == "__main__":
    sys.exit(main())
