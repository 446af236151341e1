#!/usr/bin/env bash
# The conformance test (issue 14): the suite's SQL and the twin's schema against InvenioRDM's real
# database. Makes InvenioRDM's venv and database when they are not cached (~/.cache/turath, keyed
# by tests/conformance/invenio-requirements.txt and the build scripts), then runs the test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/invenio_env.sh >/dev/null
python3 scripts/invenio_build.py >/dev/null
TURATH_CONFORMANCE_BUILD=1 python3 -m pytest -q -m conformance tests/conformance "$@"
