"""Plan §2.2: the files bucket is versioned and replicated; the cold-storage bucket exists."""

from __future__ import annotations

from fixtures.meta import check
from recovery.aws import s3 as s3_api
from recovery.aws.session import Aws
from recovery.settings import Settings


@check(
    "2.2",
    severity="critical",
    remediation="aws s3api put-bucket-versioning --bucket {files_bucket} --versioning-configuration Status=Enabled",
)
def test_s3_files_bucket_versioning_enabled(aws: Aws, settings: Settings) -> None:
    """Versioning is Enabled on the files bucket, so overwritten or deleted PDFs can be recovered."""
    status = s3_api.versioning_status(aws.client("s3"), settings.files_bucket)
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
def test_s3_files_bucket_replication_enabled(aws: Aws, settings: Settings) -> None:
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
        assert status == "Enabled", (
            f"replication destination s3://{dest} has versioning {status}; S3 replication requires it"
        )


@check(
    "2.2",
    severity="medium",
    remediation="create the cold-storage bucket (terraform apply) or fix TURATH_BACKUP_BUCKET; "
    "then run backup_s3_manual.sh to sync s3://{files_bucket} to s3://{backup_bucket}",
)
def test_s3_cold_storage_bucket_exists(aws: Aws, settings: Settings) -> None:
    """The cold-storage bucket for the manual backup (backup_s3_manual.sh) exists."""
    assert s3_api.bucket_exists(aws.client("s3"), settings.backup_bucket), (
        f"cold-storage bucket s3://{settings.backup_bucket} does not exist"
    )
