"""Plan §3: the stateless services the app needs exist (they boot empty on recovery)."""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from fixtures.meta import check
from recovery.aws.session import Aws, error_code
from recovery.settings import Settings


@check(
    "3",
    severity="medium",
    remediation="aws elasticache describe-cache-clusters --cache-cluster-id {cache_cluster}; "
    "terraform apply recreates it (it holds only sessions and cache)",
)
def test_elasticache_cache_available(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """The Redis cache cluster exists and is available."""
    try:
        clusters = aws.client("elasticache").describe_cache_clusters(CacheClusterId=settings.cache_cluster)
    except ClientError as exc:
        raise AssertionError(f"cache cluster {settings.cache_cluster}: {error_code(exc)}") from None
    status = clusters["CacheClusters"][0].get("CacheClusterStatus")
    observed(f"cache cluster {settings.cache_cluster} is {status}")
    assert status == "available", f"cache cluster {settings.cache_cluster} is {status}"


@check(
    "3",
    severity="medium",
    remediation="aws mq list-brokers; terraform apply recreates the broker (in-flight Celery tasks are lost "
    "and must be retried)",
)
def test_mq_broker_running(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """The Celery message broker exists and is RUNNING."""
    brokers = aws.client("mq").list_brokers().get("BrokerSummaries", [])
    mine = [b for b in brokers if b.get("BrokerName") == settings.broker_name]
    assert mine, f"no Amazon MQ broker named {settings.broker_name} (found: {[b.get('BrokerName') for b in brokers]})"
    observed(f"broker {settings.broker_name} is {mine[0].get('BrokerState')}")
    assert mine[0].get("BrokerState") == "RUNNING", f"broker {settings.broker_name} is {mine[0].get('BrokerState')}"
