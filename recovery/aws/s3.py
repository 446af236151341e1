"""S3: versioning, replication, encryption, objects (plan 2.2, 2.4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

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


def cors_rules(s3: Any, bucket: str) -> list[dict[str, Any]]:
    """The bucket's CORS rules (GetBucketCors); [] when it has no CORS configuration."""
    try:
        return list(s3.get_bucket_cors(Bucket=bucket).get("CORSRules", []))
    except ClientError as exc:
        if error_code(exc) == "NoSuchCORSConfiguration":
            return []
        raise
