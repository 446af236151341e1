#!/usr/bin/env bash
# InvenioRDM's own environment for the conformance test, apart from the suite's install: a venv
# under ~/.cache/turath keyed by the hash of tests/conformance/invenio-requirements.txt (a pip
# freeze of invenio-app-rdm[opensearch2]==13.1.2). Reused when complete; prints its path.
# To move to another InvenioRDM release: install it in a scratch venv, pip freeze into the lock
# file (keep its two comment lines), commit; the next run builds a new venv and a new database.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(python3 scripts/invenio_build.py --print-venv)"
if [ ! -e "$venv/.complete" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  # The lock is complete (pip freeze): no resolver work, exactly these versions.
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r tests/conformance/invenio-requirements.txt \
    2> >(grep -v "^WARNING: Location" >&2)
  "$venv/bin/invenio" --help >/dev/null
  touch "$venv/.complete"
fi
echo "$venv"
