#!/usr/bin/env bash
# Reproduce the README's "Measured" table: twin start-up, health and drill wall times,
# five runs each (medians are what the README states). Run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURATH_REPORTS_DIR="${TURATH_REPORTS_DIR:-/tmp/turath-measure-reports}"
python3 - <<'PY'
import statistics, subprocess, sys
code = (
    "import time; t=time.perf_counter(); from twin.core import Twin; from twin.account import AccountSpec; "
    "tw=Twin(AccountSpec(region='eu-central-1')); tw.start(); "
    "print(round(time.perf_counter()-t,3), round(tw.timings['start'],3)); tw.stop()"
)
runs = [tuple(map(float, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                        check=True).stdout.split())) for _ in range(5)]
print(f"twin ready incl. imports: median {statistics.median(r[0] for r in runs):.2f} s  {sorted(r[0] for r in runs)}")
print(f"twin ready (Twin.start):  median {statistics.median(r[1] for r in runs):.2f} s  {sorted(r[1] for r in runs)}")
import json, os, pathlib, time
latest = pathlib.Path(os.environ["TURATH_REPORTS_DIR"]) / "latest" / "results.json"
for cmd in (["-m", "health"], ["-m", "health", "-n", "2"], ["-m", "drill"]):
    times, rtos, rpos = [], [], []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "-q", *cmd], capture_output=True, check=True)
        times.append(round(time.perf_counter() - t, 2))
        drill = json.loads(latest.read_text()).get("drill") or {}
        if drill:
            rtos.append(drill["rto_seconds"])
            rpos.append(drill["rpo_seconds"])
    print(f"pytest {' '.join(cmd)}: median {statistics.median(times):.1f} s  {sorted(times)}")
    if rtos:
        print(f"  drill RTO: median {statistics.median(rtos):.1f} s  {sorted(rtos)}")
        print(f"  drill RPO: median {statistics.median(rpos):.0f} s  {sorted(rpos)}")
PY
