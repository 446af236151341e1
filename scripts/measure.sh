#!/usr/bin/env bash
# Reproduce every figure of the README's "Measured" section. Run on an otherwise idle machine.
#
#   bash scripts/measure.sh          # twin start-up, health and drill wall times, drill RTO, the
#                                    # health checks' own time and its biggest part (5 runs each)
#   bash scripts/measure.sh tests    # the suite's own tests: pytest tests -n 2 (one run)
#   bash scripts/measure.sh ci [N]   # bash .ci/run in N fresh clones (default 3), as CI runs it
#
# The drill's RPO on the twin is not measured here: it is the twin's constant point-in-time lag
# (twin/realism.py DEFAULT_PITR_LAG, 95 s), which the script prints beside the RTO as such.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURATH_REPORTS_DIR="${TURATH_REPORTS_DIR:-/tmp/turath-measure-reports}"
mode="${1:-runs}"

if [ "$mode" = tests ]; then
  start=$(date +%s.%N)
  python3 -m pytest tests -n 2 -q -p no:cacheprovider | tail -1
  python3 -c "import sys; print(f'pytest tests -n 2: {float(sys.argv[2]) - float(sys.argv[1]):.0f} s')" "$start" "$(date +%s.%N)"
  exit 0
fi

if [ "$mode" = ci ]; then
  runs="${2:-3}"
  for i in $(seq "$runs"); do
    clone=$(mktemp -d)
    git clone -q . "$clone/repo"
    start=$(date +%s)
    (cd "$clone/repo" && CI=true bash .ci/run >"$clone/ci.log" 2>&1) || { echo "run $i failed: $clone/ci.log"; exit 1; }
    echo "bash .ci/run, fresh clone $i: $(( $(date +%s) - start )) s"
    echo "  its pytest tests -n 2: $(grep -m1 -E '(passed|failed).* in [0-9.]+s' "$clone/ci.log")"
    rm -rf "$clone"
  done
  exit 0
fi

python3 - <<'PY'
import json, os, pathlib, statistics, subprocess, sys, time
import xml.etree.ElementTree as ET

from twin.realism import DEFAULT_PITR_LAG

code = (
    "import time; t=time.perf_counter(); from twin.core import Twin; from twin.account import AccountSpec; "
    "tw=Twin(AccountSpec(region='eu-central-1')); tw.start(); "
    "print(round(time.perf_counter()-t,3), round(tw.timings['start'],3)); tw.stop()"
)
runs = [tuple(map(float, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                        check=True).stdout.split())) for _ in range(5)]
print(f"twin ready incl. imports: median {statistics.median(r[0] for r in runs):.2f} s  {sorted(r[0] for r in runs)}")
print(f"twin ready (Twin.start):  median {statistics.median(r[1] for r in runs):.2f} s  {sorted(r[1] for r in runs)}")
latest = pathlib.Path(os.environ["TURATH_REPORTS_DIR"]) / "latest"
for cmd in (["-m", "health"], ["-m", "health", "-n", "2"], ["-m", "drill"]):
    times, rtos, checks_time, biggest = [], [], [], []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "-q", *cmd], capture_output=True, check=True)
        times.append(round(time.perf_counter() - t, 2))
        drill = json.loads((latest / "results.json").read_text()).get("drill") or {}
        if drill:
            rtos.append(drill["rto_seconds"])
        cases = [(c.get("name"), float(c.get("time", 0))) for c in ET.parse(latest / "junit.xml").iter("testcase")]
        checks_time.append(sum(t for _, t in cases))
        biggest.append(max(cases, key=lambda c: c[1]))
    print(f"pytest {' '.join(cmd)}: median {statistics.median(times):.1f} s  {sorted(times)}")
    print(f"  the checks themselves (sum of JUnit times): median {statistics.median(checks_time):.1f} s; "
          f"slowest check {biggest[0][0]} {statistics.median(b[1] for b in biggest):.1f} s (its fixtures included)")
    if rtos:
        print(f"  drill RTO: median {statistics.median(rtos):.1f} s  {sorted(rtos)}")
        print(f"  drill RPO: {DEFAULT_PITR_LAG.total_seconds():.0f} s, the twin's constant point-in-time lag (not measured)")
PY
