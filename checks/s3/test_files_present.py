"""Plan §2.2: every file the database references exists in the files bucket, same size."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fixtures.meta import check
from fixtures.reporting import attach_evidence
from recovery.aws import s3 as s3_api
from recovery.aws.session import Aws
from recovery.db import Endpoint, checksum_kinds, connect, file_refs, split_s3_uri
from recovery.settings import Settings


@check(
    "2.2",
    severity="critical",
    remediation="the files bucket is versioned: a deleted object comes back when its delete marker is removed. "
    "List them, then remove them (this restores every deleted key the list shows): "
    "aws s3api list-object-versions --bucket {files_bucket} --query 'DeleteMarkers[?IsLatest].[Key,VersionId]' "
    "--output text; aws s3api list-object-versions --bucket {files_bucket} "
    "--query 'DeleteMarkers[?IsLatest].[Key,VersionId]' --output text | while read -r key version; do "
    'aws s3api delete-object --bucket {files_bucket} --key "$key" --version-id "$version"; done; '
    "an object with no earlier version comes from the cold-storage copy: "
    "aws s3 sync s3://{backup_bucket} s3://{files_bucket}",
)
def test_files_referenced_objects_exist(
    request: pytest.FixtureRequest,
    aws: Aws,
    db_endpoint: Endpoint,
    settings: Settings,
    observed: Callable[[str], None],
) -> None:
    """Listing the bucket once, every referenced object is there with the size the DB records."""
    with connect(db_endpoint) as conn:
        refs = file_refs(conn)
        kinds = checksum_kinds(conn)
    # Not a mismatch: a multipart upload's checksum is no MD5 until a task recomputes it; NULL is unknown.
    observed("checksums: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))
    assert refs, "the database references no files at all"
    s3 = aws.client("s3")
    listed: dict[tuple[str, str], int] = {}
    for bucket in sorted({split_s3_uri(uri)[0] for uri, _, _ in refs if uri.startswith("s3://")}):
        objects = request.getfixturevalue("files_bucket_objects") if bucket == settings.files_bucket else None
        for obj in objects if objects is not None else s3_api.iter_objects(s3, bucket):
            listed[(bucket, obj["Key"])] = int(obj["Size"])
    missing, wrong = [], []
    for uri, size, _ in refs:
        key = split_s3_uri(uri)
        if not uri.startswith("s3://") or key not in listed:
            missing.append(uri)
        elif size is not None and listed[key] != size:
            wrong.append(f"{uri} is {listed[key]} bytes, DB says {size}")
    observed(f"{len(refs)} referenced file(s): {len(missing)} missing, {len(wrong)} with the wrong size")
    evidence = {"referenced": len(refs), "missing": missing[:50], "wrong_size": wrong[:50]}
    attach_evidence(request, "files bucket vs database", evidence)
    problems = missing + wrong
    assert not problems, (
        f"{len(missing)} of {len(refs)} referenced file(s) missing, {len(wrong)} with the wrong size; first: "
        + "; ".join(problems[:3])
    )
