"""The IAM actions health and the drill actually call, against the policy files that grant them.

    python scripts/policy_calls.py [--profile NAME ...]   # about 1 min on 2 idle cores

Starts the twin (IAM enforced, the given production profiles applied), runs `pytest -m health`
as the health principal and `pytest -m drill` as the drill principal, each in a process of its
own pointed at the twin, and prints per mode, from the twin's recorder (the AWS endpoint and the
search domain): every action called with how often it was authorised (one call may need several:
a restore authorises on its source and its target), whether a denial happened, and the actions
the mode's files grant that the run never called (granted for paths not taken: another profile,
a failure, clone-mode storage, the terraform provisioner).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recovery.policies import MODES, load  # noqa: E402
from twin.account import AccountSpec  # noqa: E402
from twin.core import Twin  # noqa: E402


def run(mode: str, env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory() as reports:
        empty = Path(reports) / "none.env"
        empty.touch()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--env-file={empty}", "-m", mode],
            cwd=ROOT,
            env={**env, "TURATH_REPORTS_DIR": reports},
            capture_output=True,
            text=True,
            check=False,
        )
    return proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--profile", action="append", default=[], help="a twin production profile (repeatable)")
    args = parser.parse_args()
    twin = Twin(AccountSpec(region="eu-central-1"), profiles=tuple(args.profile))
    info = twin.start()
    try:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TURATH_", "AWS_", "PYTEST_"))}
        for line in info.env_lines():
            key, _, value = line.partition("=")
            base[key] = value
        principals = {"health": "turath-health", "drill": "turath-drill"}
        keys = {"health": (info.health_access_key, info.health_secret_key), "drill": (info.access_key, info.secret_key)}
        for mode in ("health", "drill"):
            start = len(twin.operations())
            access, secret = keys[mode]
            code = run(mode, {**base, "AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret})
            ops = [o for o in twin.operations()[start:] if o.principal == principals[mode]]
            called = Counter(a.action for o in ops for a in o.accesses)
            denied = sorted({o.denied.action for o in ops if o.denied})
            files = MODES[mode] if mode == "health" else MODES["drill"]
            granted = {a for f in files for a in load(f).actions()}
            print(f"## {mode} (pytest -m {mode}: exit {code}; files: {', '.join(files)})")
            for action, n in sorted(called.items()):
                print(
                    f"- {action} x{n}{'' if action in granted or action == 'sts:GetCallerIdentity' else ' NOT GRANTED'}"
                )
            print(f"denied: {', '.join(denied) or 'none'}")
            print(f"granted, not called: {', '.join(sorted(granted - set(called))) or 'none'}\n")
    finally:
        twin.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
