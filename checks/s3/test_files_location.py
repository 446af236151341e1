"""Plan §2.2 / §4 step 3: the files the database records live in the bucket the services use.

A file stays bound to the bucket its location and `files_files.uri` name: syncing the files to a
new bucket and changing S3_BUCKET_NAME does not re-point them (InvenioRDM's files_location; a
new location only serves new uploads). Previews (PDF.js, Mirador) read the files from the
browser, so the bucket needs CORS for the site's origin.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from fixtures.meta import check
from recovery.aws import ecs as ecs_api
from recovery.aws import s3 as s3_api
from recovery.aws.session import Aws
from recovery.db import Endpoint, connect, file_buckets, file_locations, split_s3_uri
from recovery.settings import Settings


def _services_buckets(running: dict[str, dict[str, Any]], settings: Settings) -> dict[str, str]:
    """service -> the S3_BUCKET_NAME its running task definition sets (the suite's setting if none)."""
    out = {}
    for name, td in running.items():
        env = ecs_api.container_env(td, settings.app_container) or {}
        out[name] = env.get("S3_BUCKET_NAME") or settings.files_bucket
    return out


REPOINT = (
    "files stay in the bucket their location names (plan §4 step 3): set S3_BUCKET_NAME of the services back to "
    "{old} (terraform apply, then {deploy_web_services}), or copy the objects: aws s3 sync s3://{old} s3://{new}; "
    "and re-point the database: UPDATE files_location SET uri = 's3://{new}' WHERE uri = 's3://{old}'; "
    "UPDATE files_files SET uri = replace(uri, 's3://{old}/', 's3://{new}/')"
)


@check(
    "2.2",
    severity="critical",
    remediation="files stay in the bucket their location names (plan §4 step 3): set S3_BUCKET_NAME of the "
    "services back to that bucket (terraform apply, then {deploy_web_services}), or copy the objects to "
    "s3://{files_bucket} (aws s3 sync) and re-point files_location.uri and files_files.uri of the database to it",
)
def test_s3_files_location_is_the_services_bucket(
    aws: Aws,
    db_endpoint: Endpoint,
    settings: Settings,
    running_task_definitions: dict[str, dict[str, Any]],
    observed: Callable[[str], None],
    remedy: Callable[..., None],
) -> None:
    """Every files location and stored file names an existing bucket, the one the services are configured with."""
    with connect(db_endpoint) as conn:
        locations = file_locations(conn)
        stored = file_buckets(conn)
    assert locations, "the database has no files location: InvenioRDM cannot store or find any file"
    services = _services_buckets(running_task_definitions, settings)
    configured = set(services.values())
    observed(
        "locations: "
        + ", ".join(f"{n}={u}{' (default)' if d else ''}" for n, u, d in locations)
        + "; services use "
        + ", ".join(sorted(configured))
    )
    problems = []
    named: dict[str, str] = {}
    for name, uri, _ in locations:
        if not uri.startswith("s3://"):
            problems.append(f"location {name} is {uri}, not an S3 bucket")
            continue
        named.setdefault(split_s3_uri(uri)[0], f"location {name} ({uri})")
    for bucket, count in stored.items():
        named.setdefault(bucket, f"{count} stored file(s)")
    s3 = aws.client("s3")
    for bucket, what in sorted(named.items()):
        if bucket not in configured:
            users = ", ".join(f"{svc}={b}" for svc, b in sorted(services.items()))
            problems.append(f"{what} in s3://{bucket}, but the services use S3_BUCKET_NAME {users}")
        if not s3_api.bucket_exists(s3, bucket):
            problems.append(f"{what} in s3://{bucket}, which does not exist")
    elsewhere = sorted(b for b in named if b not in configured)
    if len(elsewhere) == 1 and len(configured) == 1:  # one bucket the files name, one the services use
        remedy(REPOINT, old=elsewhere[0], new=next(iter(configured)))
    assert not problems, "files bound to the wrong bucket: " + "; ".join(problems)


def _allows(rule: dict[str, Any], origin: str) -> bool:
    methods = {m.upper() for m in rule.get("AllowedMethods", [])}
    return "GET" in methods and any(fnmatchcase(origin, pattern) for pattern in rule.get("AllowedOrigins", []))


@check(
    "2.2",
    severity="medium",
    remediation="aws s3api put-bucket-cors --bucket {files_bucket} --cors-configuration "
    '\'{{"CORSRules": [{{"AllowedOrigins": ["{site_url}"], "AllowedMethods": ["GET", "HEAD"], '
    '"AllowedHeaders": ["*"], "MaxAgeSeconds": 3000}}]}}\'; or declare the same rule in Terraform',
)
def test_s3_files_bucket_cors_allows_previews(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """The files bucket lets the site's origin GET objects from a browser (previews read files directly)."""
    parts = urlsplit(settings.site_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    rules = s3_api.cors_rules(aws.client("s3"), settings.files_bucket)
    observed(
        f"CORS of s3://{settings.files_bucket}: "
        + ("; ".join(f"{r.get('AllowedMethods')} from {r.get('AllowedOrigins')}" for r in rules) or "none")
    )
    assert rules, f"s3://{settings.files_bucket} has no CORS configuration: previews of PDFs and scans fail"
    assert any(_allows(r, origin) for r in rules), (
        f"no CORS rule of s3://{settings.files_bucket} allows GET from {origin}: previews fail in the browser"
    )
