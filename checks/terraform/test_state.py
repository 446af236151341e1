"""Plan §2.4: Terraform state is backed up in a versioned, encrypted S3 bucket."""

from __future__ import annotations

from collections.abc import Callable

from fixtures.meta import check
from recovery import tfstate
from recovery.aws import s3 as s3_api
from recovery.aws.session import Aws
from recovery.settings import Settings
from recovery.timeutil import as_utc, human_age, utcnow


@check(
    "2.4",
    severity="high",
    remediation="aws s3api put-bucket-versioning --bucket {tfstate_bucket} --versioning-configuration Status=Enabled",
)
def test_tfstate_bucket_versioning_enabled(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """The state bucket keeps every version of terraform.tfstate."""
    status = s3_api.versioning_status(aws.client("s3"), settings.tfstate_bucket)
    observed(f"s3://{settings.tfstate_bucket} versioning {status}")
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
def test_tfstate_bucket_encrypted(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """The state bucket encrypts by default: the state holds the RDS master password (plan §2.5)."""
    algo = s3_api.default_encryption(aws.client("s3"), settings.tfstate_bucket)
    observed(f"s3://{settings.tfstate_bucket} default encryption {algo or 'none'}")
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
def test_tfstate_object_recent(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """The state object exists in the bucket and is younger than the configured age."""
    head = s3_api.head_object(aws.client("s3"), settings.tfstate_bucket, settings.tfstate_key)
    where = f"s3://{settings.tfstate_bucket}/{settings.tfstate_key}"
    assert head is not None, f"no Terraform state at {where}: the state lives only locally, if anywhere"
    age = (utcnow() - as_utc(head["LastModified"])).total_seconds()
    observed(f"{where} last written {human_age(age)} ago (limit {settings.tfstate_max_age_days} d)")
    assert age <= settings.tfstate_max_age_days * 86400, (
        f"{where} was last written {human_age(age)} ago (limit {settings.tfstate_max_age_days} days): "
        "the backed-up state is probably not the one in use"
    )


@check(
    "2.4",
    severity="critical",
    remediation="aws s3api put-public-access-block --bucket {tfstate_bucket} --public-access-block-configuration "
    "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true; remove the "
    "statements granting Principal * (aws s3api get-bucket-policy --bucket {tfstate_bucket}); then rotate the "
    "master password, which the state holds (plan 2.5: terraform apply -replace=random_password.rds_master_password)",
)
def test_tfstate_bucket_not_public(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """The state bucket blocks public access and no policy or ACL grants it to everyone.

    "Securely backed up" (plan §2.4): the state holds the RDS master password (plan §2.5).
    """
    s3 = aws.client("s3")
    bucket = settings.tfstate_bucket
    block = s3_api.public_access_block(s3, bucket)
    account = s3_api.account_public_access_block(aws.client("s3control"), aws.account_id())
    # The account-wide block applies to every bucket: a flag on at either level is on.
    off = [k for k in PUBLIC_ACCESS_FLAGS if not (block.get(k) or account.get(k))]
    observed(
        f"s3://{bucket} public-access block: "
        + (", ".join(f"{k}={block.get(k, False)}" for k in PUBLIC_ACCESS_FLAGS) if block else "none")
        + "; account-wide: "
        + (", ".join(k for k in PUBLIC_ACCESS_FLAGS if account.get(k)) or "none")
    )
    grants = s3_api.public_grants(s3_api.bucket_policy(s3, bucket)) + s3_api.public_acl_grants(s3, bucket)
    observed(f"s3://{bucket} grants to everyone: {'; '.join(grants) or 'none'}")
    problems = ([f"public-access block off ({', '.join(off)})"] if off else []) + grants
    assert not problems, (
        f"Terraform state bucket s3://{bucket} can be public, and its state holds "
        f"random_password.rds_master_password: {'; '.join(problems)}"
    )


PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@check(
    "2.4",
    severity="high",
    remediation="aws s3api list-object-versions --bucket {tfstate_bucket} --prefix {tfstate_key}; restore the "
    "version before the current one: aws s3api copy-object --bucket {tfstate_bucket} --key {tfstate_key} "
    '--copy-source "{tfstate_bucket}/{tfstate_key}?versionId=$(aws s3api list-object-versions --bucket '
    "{tfstate_bucket} --prefix {tfstate_key} --query 'Versions[?IsLatest==`false`] | [0].VersionId' "
    '--output text)"; then terraform plan must show no changes',
)
def test_tfstate_never_goes_backwards(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """The current state's serial is not lower than an earlier version's, and it did not lose resources
    to another lineage or without a newer serial (ListObjectVersions; only serial, lineage, counts read)."""
    versions = tfstate.history(aws.client("s3"), settings.tfstate_bucket, settings.tfstate_key)
    where = f"s3://{settings.tfstate_bucket}/{settings.tfstate_key}"
    assert versions, f"no version of {where}: the state lives only locally, if anywhere"
    observed(f"{len(versions)} version(s) read; " + "; ".join(v.describe() for v in versions[:3]))
    problems = tfstate.went_backwards(versions)
    assert not problems, f"the Terraform state in {where} went backwards: " + "; ".join(problems)
