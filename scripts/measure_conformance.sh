#!/usr/bin/env bash
# What scripts/conformance.sh adds to CI, without a cache (fresh TURATH_CACHE: venv from the lock,
# migrations, CLI, populate, test) and with it (restore and test only). Prints the README lines.
set -euo pipefail
cd "$(dirname "$0")/.."
cold="$(mktemp -d /tmp/turath-cold-cache.XXXXXX)"
trap 'rm -rf "$cold"' EXIT
t0=$(date +%s.%N)
TURATH_CACHE="$cold" scripts/conformance.sh >/dev/null
t1=$(date +%s.%N)
scripts/conformance.sh >/dev/null
t2=$(date +%s.%N)
build="$(TURATH_CACHE="$cold" python3 scripts/invenio_build.py)/build.json"
python3 - "$t0" "$t1" "$t2" "$build" <<'PY'
import json, sys
t0, t1, t2, build = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
info = json.load(open(build))
steps = info["steps"]
cli = sum(v for k, v in steps.items() if k not in ("alembic upgrade", "populate"))
print(f"- without cache: {t1 - t0:.0f} s (venv from the lock, then the build: alembic upgrade "
      f"{steps['alembic upgrade']:.0f} s, {len(steps) - 2} CLI calls {cli:.0f} s, populate {steps['populate']:.0f} s)")
print(f"- with cache: {t2 - t1:.1f} s (restore the dump, run the test)")
print(f"- built: invenio-app-rdm {info['invenio-app-rdm']}, invenio-rdm-records {info['invenio-rdm-records']}, "
      f"PostgreSQL {info['postgresql']}")
PY
