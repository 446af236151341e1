"""`python -m twin`: serve the twin until interrupted and print how to point the suite at it.

    python -m twin [--fault NAME ...] [--port 5000] [--list-faults]

In another shell, `eval` or paste the printed lines, then `pytest -m health --target aws`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from twin.account import AccountSpec
from twin.core import Twin
from twin.faults import CATALOG


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin", description=__doc__.splitlines()[0])
    parser.add_argument("--fault", action="append", default=[], metavar="NAME", help="inject a catalogued fault")
    parser.add_argument("--list-faults", action="store_true", help="list the fault catalog and exit")
    parser.add_argument("--port", type=int, default=0, help="port of the AWS endpoint (default: a free one)")
    parser.add_argument("--region", default="eu-central-1")
    parser.add_argument("--records", type=int, default=2000, help="records seeded in the database")
    args = parser.parse_args(argv)
    if args.list_faults:
        for fault in CATALOG.values():
            sections = ", ".join(f"§{s}" for s in fault.sections)
            sys.stdout.write(f"{fault.name:28} {sections:14} {'/'.join(fault.modes):12} {fault.summary}\n")
        return 0
    unknown = [f for f in args.fault if f not in CATALOG]
    if unknown:
        sys.stderr.write(f"error: unknown fault(s) {', '.join(unknown)}; see python -m twin --list-faults\n")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    twin = Twin(AccountSpec(region=args.region, records=args.records), port=args.port, faults=tuple(args.fault))
    info = twin.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sys.stdout.write("# the twin is up; point the suite at it with (eval or paste):\n")
    secret_file = twin.write_secret_file()
    for line in info.env_lines():
        key = line.split("=", 1)[0]
        if key == "TURATH_DB_PASSWORD":
            # Never printed: the value stays in a file only this user can read.
            sys.stdout.write(f'export TURATH_DB_PASSWORD="$(cat {secret_file})"\n')
        else:
            sys.stdout.write(f"export {line}\n")
    # The keys above hold the drill's policy files; a health-only shell can hold health.json alone.
    sys.stdout.write(
        "# IAM is enforced: these keys hold policies/health.json + drill.json + the optional files; for "
        f"health alone: AWS_ACCESS_KEY_ID={info.health_access_key} AWS_SECRET_ACCESS_KEY={info.health_secret_key}\n"
    )
    sys.stdout.write(f"# ready in {twin.timings['start']:.2f}s; faults: {', '.join(args.fault) or 'none'}\n")
    sys.stdout.flush()
    stop.wait()
    twin.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
