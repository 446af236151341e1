"""S3: versioning, replication, encryption, objects (plan 2.2, 2.4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from recovery.aws.session import error_code


def bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except ClientError as exc:
        if error_code(exc) in {"404", "NoSuchBucket", "NotFound"}:
            return False
        raise


def versioning_status(s3: Any, bucket: str) -> str:
    """'Enabled', 'Suspended' or 'Never enabled'."""
    return str(s3.get_bucket_versioning(Bucket=bucket).get("Status") or "Never enabled")


def replication_rules(s3: Any, bucket: str) -> list[dict[str, Any]]:
    try:
        conf = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
    except ClientError as exc:
        if error_code(exc) == "ReplicationConfigurationNotFoundError":
            return []
        raise
    return list(conf.get("Rules", []))


def bucket_from_arn(arn: str) -> str:
    return arn.split(":::", 1)[-1]


def default_encryption(s3: Any, bucket: str) -> str | None:
    """The default SSE algorithm (AES256, aws:kms) or None."""
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as exc:
        if error_code(exc) == "ServerSideEncryptionConfigurationNotFoundError":
            return None
        raise
    for rule in rules:
        algo = rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
        if algo:
            return str(algo)
    return None


def head_object(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return dict(s3.head_object(Bucket=bucket, Key=key))
    except ClientError as exc:
        if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise


def iter_objects(s3: Any, bucket: str, prefix: str = "") -> Iterator[dict[str, Any]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def iter_object_versions(s3: Any, bucket: str, prefix: str = "") -> Iterator[dict[str, Any]]:
    """Every version (not delete markers) of the objects under `prefix`, as ListObjectVersions pages them."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Versions", [])


def get_object_bytes(s3: Any, bucket: str, key: str, version_id: str | None = None) -> bytes:
    """The body of one object version (GetObject). Callers must not log or show it."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    return bytes(s3.get_object(**kwargs)["Body"].read())


def public_access_block(s3: Any, bucket: str) -> dict[str, bool]:
    """The bucket's PublicAccessBlockConfiguration ({} when there is none)."""
    try:
        conf = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except ClientError as exc:
        if error_code(exc) in {"NoSuchPublicAccessBlockConfiguration", "NoSuchPublicAccessBlock"}:
            return {}
        raise
    return {k: bool(v) for k, v in conf.items()}


def bucket_policy(s3: Any, bucket: str) -> dict[str, Any]:
    """The bucket policy as a document ({} when there is none)."""
    try:
        raw = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except ClientError as exc:
        if error_code(exc) in {"NoSuchBucketPolicy"}:
            return {}
        raise
    return dict(json.loads(raw))


def public_grants(policy: dict[str, Any]) -> list[str]:
    """Allow statements that grant to everyone (Principal "*" or {"AWS": "*"}) without a condition."""
    out = []
    statements = policy.get("Statement", [])
    for i, stmt in enumerate([statements] if isinstance(statements, dict) else statements):
        if stmt.get("Effect") != "Allow" or stmt.get("Condition"):
            continue
        principal = stmt.get("Principal")
        values = principal.get("AWS", []) if isinstance(principal, dict) else principal
        values = [values] if isinstance(values, str) else list(values or [])
        if "*" in values:
            action = stmt.get("Action")
            out.append(f"statement {stmt.get('Sid') or i} allows {action} to Principal *")
    return out


def public_acl_grants(s3: Any, bucket: str) -> list[str]:
    """ACL grants to AllUsers or AuthenticatedUsers."""
    grants = s3.get_bucket_acl(Bucket=bucket).get("Grants", [])
    groups = ("AllUsers", "AuthenticatedUsers")
    return [
        f"ACL grants {g.get('Permission')} to {g['Grantee']['URI'].rsplit('/', 1)[-1]}"
        for g in grants
        if any(name in str((g.get("Grantee") or {}).get("URI", "")) for name in groups)
    ]


def rule_scope(rule: dict[str, Any]) -> str:
    """'' when a replication rule applies to the whole bucket, else what narrows it."""
    if "Prefix" in rule and rule.get("Prefix"):
        return f"prefix {rule['Prefix']!r}"
    filt = rule.get("Filter") or {}
    narrow = []
    if filt.get("Prefix"):
        narrow.append(f"prefix {filt['Prefix']!r}")
    if filt.get("Tag"):
        narrow.append(f"tag {filt['Tag'].get('Key')}={filt['Tag'].get('Value')}")
    both = filt.get("And") or {}
    if both.get("Prefix"):
        narrow.append(f"prefix {both['Prefix']!r}")
    narrow += [f"tag {t.get('Key')}={t.get('Value')}" for t in both.get("Tags", [])]
    if filt.get("ObjectSizeGreaterThan") or both.get("ObjectSizeGreaterThan"):
        narrow.append("objects above a size")
    if filt.get("ObjectSizeLessThan") or both.get("ObjectSizeLessThan"):
        narrow.append("objects below a size")
    return " and ".join(narrow)


def account_public_access_block(s3control: Any, account_id: str) -> dict[str, bool]:
    """The account-wide PublicAccessBlockConfiguration ({} when there is none or it cannot be read)."""
    try:
        conf = s3control.get_public_access_block(AccountId=account_id)["PublicAccessBlockConfiguration"]
    except (ClientError, BotoCoreError):  # none, denied, or an endpoint without the account host prefix
        return {}
    return {k: bool(v) for k, v in conf.items()}
