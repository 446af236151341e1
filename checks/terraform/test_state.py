"""Plan §2.4: Terraform state is backed up in a versioned, encrypted S3 bucket."""

from __future__ import annotations

from fixtures.meta import check
from recovery.aws import s3 as s3_api
from recovery.aws.session import Aws
from recovery.settings import Settings
from recovery.timeutil import as_utc, human_age, utcnow


@check(
    "2.4",
    severity="high",
    remediation="aws s3api put-bucket-versioning --bucket {tfstate_bucket} --versioning-configuration Status=Enabled",
)
def test_tfstate_bucket_versioning_enabled(aws: Aws, settings: Settings) -> None:
    """The state bucket keeps every version of terraform.tfstate."""
    status = s3_api.versioning_status(aws.client("s3"), settings.tfstate_bucket)
    assert status == "Enabled", (
        f"versioning on state bucket s3://{settings.tfstate_bucket} is {status}: a bad apply or a "
        "corrupted state cannot be rolled back"
    )


@check(
    "2.4",
    severity="high",
    remediation="aws s3api put-bucket-encryption --bucket {tfstate_bucket} --server-side-encryption-configuration "
    '\'{{"Rules":[{{"ApplyServerSideEncryptionByDefault":{{"SSEAlgorithm":"aws:kms"}}}}]}}\'',
)
def test_tfstate_bucket_encrypted(aws: Aws, settings: Settings) -> None:
    """The state bucket encrypts by default: the state holds the RDS master password (plan §2.5)."""
    algo = s3_api.default_encryption(aws.client("s3"), settings.tfstate_bucket)
    assert algo, (
        f"state bucket s3://{settings.tfstate_bucket} has no default encryption, and the state "
        "contains random_password.rds_master_password"
    )


@check(
    "2.4",
    severity="medium",
    remediation="in the Terraform configuration's directory: terraform init -backend-config=bucket={tfstate_bucket} "
    "-backend-config=key={tfstate_key} && terraform plan; if the state lives only on a laptop, push it: "
    "terraform state push terraform.tfstate",
)
def test_tfstate_object_recent(aws: Aws, settings: Settings) -> None:
    """The state object exists in the bucket and is younger than the configured age."""
    head = s3_api.head_object(aws.client("s3"), settings.tfstate_bucket, settings.tfstate_key)
    where = f"s3://{settings.tfstate_bucket}/{settings.tfstate_key}"
    assert head is not None, f"no Terraform state at {where}: the state lives only locally, if anywhere"
    age = (utcnow() - as_utc(head["LastModified"])).total_seconds()
    assert age <= settings.tfstate_max_age_days * 86400, (
        f"{where} was last written {human_age(age)} ago (limit {settings.tfstate_max_age_days} days): "
        "the backed-up state is probably not the one in use"
    )
