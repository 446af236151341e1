"""`python -m recovery drill|plan|sweep`: the drill outside pytest, through the same code.

    python -m recovery drill [--plan] [--keep] [--resume-from STEP] [--drill-id ID] [--restore-time ISO]
    python -m recovery plan                      # same as drill --plan: prints every mutating call
    python -m recovery sweep [--older-than-hours N] [--apply]

Settings come from the environment and `.env` like the suite's (`--set KEY=VALUE` overrides).
It talks to AWS or an AWS-compatible endpoint (`python -m twin` prints the lines to set).
Exit codes: 0 success, 1 a step failed or leftovers remain, 2 bad configuration, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from recovery.aws.session import Aws
from recovery.drill import steps
from recovery.drill.context import DrillOptions
from recovery.drill.lock import LockHeld
from recovery.drill.sweep import sweep
from recovery.errors import ConfigError, StepFailed
from recovery.secrets import redact
from recovery.settings import load_settings


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
        d.add_argument("--resume-from", choices=steps.STEPS, help="continue a kept/killed drill from this step")
        d.add_argument("--drill-id", help="the drill to resume (default: the newest one not torn down)")
        d.add_argument("--restore-time", help="'latest' or ISO-8601: point-in-time restore instead of a snapshot")
    s = sub.add_parser("sweep", help="remove what dead drills left (dry run unless --apply)")
    s.add_argument("--older-than-hours", type=float, default=None, help="age threshold (default 6)")
    s.add_argument("--apply", action="store_true", help="delete (default: only list)")
    return p


def _settings(args: argparse.Namespace) -> Any:
    cli: dict[str, str | None] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item}", "expected KEY=VALUE")
        cli[key.strip()] = value
    settings = load_settings(cli=cli, dotenv_path=Path(args.env_file))
    if settings.target == "twin":
        raise ConfigError(
            "TURATH_TARGET",
            "python -m recovery talks to AWS or an AWS-compatible endpoint: set TURATH_TARGET=aws "
            "(for the twin, use the lines `python -m twin` prints)",
        )
    return settings


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr
    )
    for noisy in ("botocore", "urllib3", "boto3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _terminate)  # teardown runs on SIGTERM like on Ctrl-C
    try:
        settings = _settings(args)
        aws = Aws(settings)
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
        ctx = steps.begin(settings, aws, options)
    except (ConfigError, LockHeld) as exc:
        _err(redact(str(exc)))
        return 2
    if options.plan:
        _out(f"drill {ctx.drill_id} would make these mutating AWS calls (nothing was changed):")
        for call in steps.plan(ctx):
            _out("  " + redact(call.line()))
        return 0
    try:
        result = steps.run_drill(ctx, progress=_err)
    except StepFailed as exc:
        _err(redact(str(exc)))
        if exc.diagnostics:
            _err(redact(json.dumps(exc.diagnostics, indent=2, default=str)))
        _out(json.dumps(steps.summary(ctx), indent=2, default=str))
        return 1
    except KeyboardInterrupt:
        _err(f"interrupted; drill {ctx.drill_id} torn down (ledger {ctx.ledger.path})")
        return 130
    _out(redact(json.dumps(result, indent=2, default=str)))
    return 1 if result["leftovers"] else 0


def _sweep(settings: Any, aws: Aws, args: argparse.Namespace) -> int:
    hours = args.older_than_hours
    if hours is None:
        hours = float(getattr(settings, "drill_sweep_hours", 6.0))
    found = sweep(settings, aws, hours, apply=args.apply)
    verb = "removed" if args.apply else "would remove (dry run; --apply deletes)"
    for drill in found:
        _out(f"drill {drill.drill_id} (oldest {drill.as_dict()['oldest']}): {verb} {len(drill.resources)} resource(s)")
        for f in drill.resources:
            _out(f"  {f.kind} {f.id}")
    if not found:
        _out(f"no drill resources older than {hours} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
