"""S3 Control on an AWS-compatible endpoint: the account-wide public-access block is read, not lost.

S3 Control puts the account id in the host name, which does not resolve for a local endpoint;
botocore retried that connection error with back-off for about 10 s on every health run, and the
check then saw no account-wide block at all.
"""

from __future__ import annotations

import time
from pathlib import Path

from recovery.aws import s3 as s3_api
from recovery.aws.session import Aws, StaticCredentials
from recovery.settings import load_settings
from twin.account import ACCOUNT_ID
from twin.core import Twin

FLAGS = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def _aws(twin: Twin, tmp_path: Path) -> Aws:
    assert twin.info is not None
    settings = load_settings(
        cli={"endpoint_url": twin.info.endpoint_url, "target": "aws", "reports_dir": str(tmp_path)},
        environ={},
        dotenv_path=None,
    )
    return Aws(settings, StaticCredentials(twin.info.health_access_key, twin.info.health_secret_key))


def test_account_public_access_block_is_read_at_once(fresh_twin: Twin, tmp_path: Path) -> None:
    s3control = _aws(fresh_twin, tmp_path).client("s3control")
    started = time.monotonic()
    assert s3_api.account_public_access_block(s3control, ACCOUNT_ID) == {}  # the seeded account has none
    fresh_twin.client("s3control").put_public_access_block(AccountId=ACCOUNT_ID, PublicAccessBlockConfiguration=FLAGS)
    assert s3_api.account_public_access_block(s3control, ACCOUNT_ID) == FLAGS
    assert time.monotonic() - started < 2, "no connection retries against the endpoint"
