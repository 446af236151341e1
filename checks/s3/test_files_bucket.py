"""Plan §2.2: the files bucket is versioned and replicated; the cold-storage bucket exists."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from fixtures.meta import check
from recovery.aws import s3 as s3_api
from recovery.aws.session import Aws
from recovery.settings import Settings
from recovery.timeutil import as_utc, utcnow


@check(
    "2.2",
    severity="critical",
    remediation="aws s3api put-bucket-versioning --bucket {files_bucket} --versioning-configuration Status=Enabled",
)
def test_s3_files_bucket_versioning_enabled(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """Versioning is Enabled on the files bucket, so overwritten or deleted PDFs can be recovered."""
    status = s3_api.versioning_status(aws.client("s3"), settings.files_bucket)
    observed(f"s3://{settings.files_bucket} versioning {status}")
    assert status == "Enabled", (
        f"versioning on s3://{settings.files_bucket} is {status}: an overwrite or delete of a PDF/HOCR "
        "file is permanent"
    )


@check(
    "2.2",
    severity="high",
    remediation="aws s3api get-bucket-replication --bucket {files_bucket}; restore the replication "
    "rule to s3://{backup_bucket} (terraform apply), and make sure the destination is versioned: "
    "aws s3api put-bucket-versioning --bucket {backup_bucket} --versioning-configuration Status=Enabled",
)
def test_s3_files_bucket_replication_enabled(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """An Enabled replication rule copies the files bucket to an existing, versioned destination."""
    s3 = aws.client("s3")
    rules = s3_api.replication_rules(s3, settings.files_bucket)
    assert rules, f"s3://{settings.files_bucket} has no replication configuration"
    enabled = [r for r in rules if r.get("Status") == "Enabled"]
    assert enabled, f"every replication rule of s3://{settings.files_bucket} is disabled: " + ", ".join(
        f"{r.get('ID', '?')}={r.get('Status')}" for r in rules
    )
    for rule in enabled:
        dest = s3_api.bucket_from_arn(rule["Destination"]["Bucket"])
        assert s3_api.bucket_exists(s3, dest), f"replication rule {rule.get('ID')} targets missing bucket {dest}"
        status = s3_api.versioning_status(s3, dest)
        observed(f"rule {rule.get('ID', '?')} Enabled -> s3://{dest} (versioning {status})")
        assert status == "Enabled", (
            f"replication destination s3://{dest} has versioning {status}; S3 replication requires it"
        )


@check(
    "2.2",
    severity="medium",
    remediation="create the cold-storage bucket (terraform apply) or fix TURATH_BACKUP_BUCKET; "
    "then run backup_s3_manual.sh to sync s3://{files_bucket} to s3://{backup_bucket}",
)
def test_s3_cold_storage_bucket_exists(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """The cold-storage bucket for the manual backup (backup_s3_manual.sh) exists."""
    exists = s3_api.bucket_exists(aws.client("s3"), settings.backup_bucket)
    observed(f"s3://{settings.backup_bucket} {'exists' if exists else 'missing'}")
    assert exists, f"cold-storage bucket s3://{settings.backup_bucket} does not exist"


REPLICATION_SAMPLE = 8
REPLICATION_GRACE = timedelta(hours=1)  # S3 replicates most objects within minutes; PENDING is normal before


@check(
    "2.2",
    severity="high",
    remediation="aws s3api get-bucket-replication --bucket {files_bucket}; give the rule to s3://{backup_bucket} "
    'an empty filter ("Filter": {{}}) so it covers the whole bucket (terraform apply); objects uploaded while '
    "it was narrower are not replicated retroactively: copy them with S3 Batch Replication or "
    "aws s3 sync s3://{files_bucket} s3://{backup_bucket}",
)
def test_s3_files_bucket_replication_covers_every_object(
    request: pytest.FixtureRequest, aws: Aws, settings: Settings, observed: Callable[[str], None]
) -> None:
    """An enabled replication rule covers the whole files bucket (no filter narrower than the bucket), and
    where objects carry ReplicationStatus, a sample of the older ones is COMPLETED (plan §2.2: *all* files)."""
    s3 = aws.client("s3")
    rules = [r for r in s3_api.replication_rules(s3, settings.files_bucket) if r.get("Status") == "Enabled"]
    assert rules, f"s3://{settings.files_bucket} has no enabled replication rule: no file is replicated"
    scopes = {str(r.get("ID", "?")): s3_api.rule_scope(r) for r in rules}
    observed("enabled rules: " + "; ".join(f"{rid} covers {sc or 'the whole bucket'}" for rid, sc in scopes.items()))
    whole = [rid for rid, scope in scopes.items() if not scope]
    assert whole, (
        f"no replication rule of s3://{settings.files_bucket} covers the whole bucket: "
        + "; ".join(f"{rid} only {scope}" for rid, scope in scopes.items())
        + ": files outside it are not replicated"
    )
    objects: list[dict[str, Any]] = request.getfixturevalue("files_bucket_objects")
    settled = [o for o in objects if utcnow() - as_utc(o["LastModified"]) > REPLICATION_GRACE]
    sample = _spread(sorted(settled, key=lambda o: as_utc(o["LastModified"])), REPLICATION_SAMPLE)
    statuses = {}
    for obj in sample:
        head = s3_api.head_object(s3, settings.files_bucket, obj["Key"]) or {}
        statuses[obj["Key"]] = str(head.get("ReplicationStatus", ""))
    carrying = {k: v for k, v in statuses.items() if v}
    if not carrying:
        observed(f"{len(sample)} sampled object(s) carry no ReplicationStatus (nothing to compare)")
        return
    observed(f"ReplicationStatus of {len(carrying)} sampled object(s): " + ", ".join(sorted(set(carrying.values()))))
    bad = {k: v for k, v in carrying.items() if v not in ("COMPLETED", "COMPLETE")}
    assert not bad, f"{len(bad)} of {len(carrying)} sampled object(s) not replicated: " + "; ".join(
        f"{k} {v}" for k, v in list(bad.items())[:5]
    )


def _spread(items: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Up to `n` items spread over the list (oldest, newest and between)."""
    if len(items) <= n:
        return items
    step = (len(items) - 1) / (n - 1)
    return [items[round(i * step)] for i in range(n)]
