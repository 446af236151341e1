"""Entrypoint of the runner image: preflight, then `pytest <args>`, then the evidence to S3.

    python deploy/runner/entrypoint.py -m drill

The exit code is the suite's (or preflight's, if it failed: nothing else ran). Evidence
(`reports/latest/`: report.html, junit.xml, results.json) is uploaded to
s3://$TURATH_EVIDENCE_BUCKET/<mode>/<UTC stamp>/ whatever the outcome; without the variable it
stays in the container's log only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3

SUITE = Path(__file__).resolve().parents[2]


def pytest(*args: str) -> int:
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=SUITE, check=False).returncode


def upload(mode: str, reports: Path, bucket: str) -> None:
    latest = reports / "latest"
    if not bucket or not latest.is_dir():
        return
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    s3 = boto3.client("s3")
    for path in sorted(p for p in latest.rglob("*") if p.is_file()):
        key = f"{mode}/{stamp}/{path.relative_to(latest)}"
        s3.upload_file(str(path), bucket, key, ExtraArgs={"ServerSideEncryption": "AES256"})
    sys.stdout.write(f"evidence uploaded to s3://{bucket}/{mode}/{stamp}/\n")


def main(argv: list[str]) -> int:
    args = argv or ["-m", "health"]
    mode = args[args.index("-m") + 1] if "-m" in args else "run"
    rc = pytest("-m", "preflight")
    if rc == 0:
        rc = pytest(*args)
    reports = Path(os.environ.get("TURATH_REPORTS_DIR", SUITE / "reports"))
    upload(mode, reports, os.environ.get("TURATH_EVIDENCE_BUCKET", ""))
    return rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
