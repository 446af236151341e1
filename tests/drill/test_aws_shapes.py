"""Production shapes the drill must take as real AWS does (issue 9 findings on the drill's side).

Capacity providers: ECS rejects a capacity-provider strategy naming providers that are not on the
cluster, so the drill's cluster carries production's Fargate providers. Multipart copies: a
clone-mode copy of an object over 8 MiB is CreateMultipartUpload/UploadPartCopy/Complete, which
the guard must let through on the drill's own bucket (and refuse on production's).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from recovery.drill.context import DrillAws, make_guard
from recovery.drill.guard import UnsafeCall
from recovery.drill.naming import DrillNames
from recovery.drill.steps.provision import _launch, cluster_capacity
from tests.drill.conftest import DrillEnv
from twin.core import Twin

NAMES = DrillNames("invenio", "dshape1", datetime(2026, 12, 2, tzinfo=UTC))


def test_fargate_strategies_put_their_providers_on_the_drill_cluster() -> None:
    spot = {
        "capacityProviderStrategy": [
            {"capacityProvider": "FARGATE_SPOT", "weight": 3},
            {"capacityProvider": "FARGATE", "base": 1},
        ]
    }
    plain = {"launchType": "FARGATE"}
    launches = [_launch(spot), _launch(plain)]
    assert launches[0] == {"capacityProviderStrategy": spot["capacityProviderStrategy"]}
    assert cluster_capacity(launches) == {"capacityProviders": ["FARGATE", "FARGATE_SPOT"]}
    assert cluster_capacity([_launch(plain)]) == {}


def test_a_cluster_bound_capacity_provider_becomes_fargate() -> None:
    asg = {"capacityProviderStrategy": [{"capacityProvider": "prod-asg-provider", "weight": 1}]}
    assert _launch(asg) == {"launchType": "FARGATE"}


def test_multipart_copy_into_the_drill_bucket_passes_the_guard(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    _, aws = drill_env(fresh_twin)
    s3 = DrillAws(aws, make_guard(NAMES)).client("s3")
    region = fresh_twin.spec.region
    s3.create_bucket(Bucket=NAMES.files_bucket, CreateBucketConfiguration={"LocationConstraint": region})
    big = b"x" * (9 * 1024 * 1024)  # over boto3's 8 MiB multipart threshold
    fresh_twin.client("s3").put_object(Bucket="invenio-default-files", Key="big.pdf", Body=big)
    s3.copy({"Bucket": "invenio-default-files", "Key": "big.pdf"}, NAMES.files_bucket, "big.pdf")
    head = s3.head_object(Bucket=NAMES.files_bucket, Key="big.pdf")
    assert head["ContentLength"] == len(big)
    with pytest.raises(UnsafeCall, match="invenio-default-files"):
        s3.copy({"Bucket": NAMES.files_bucket, "Key": "big.pdf"}, "invenio-default-files", "copied-back.pdf")
    assert not s3.list_multipart_uploads(Bucket=NAMES.files_bucket).get("Uploads")
