"""Plan §2.3: the OpenSearch domain the index is rebuilt into exists and is usable."""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from fixtures.meta import check
from recovery.aws.session import Aws, error_code
from recovery.settings import Settings


@check(
    "2.3",
    severity="high",
    remediation="aws opensearch describe-domain --domain-name {opensearch_domain}; if it is gone, "
    "terraform apply recreates it, then rebuild (plan §4 step 4): invenio index init && "
    "invenio rdm rebuild-all-indices",
)
def test_opensearch_domain_ready(aws: Aws, settings: Settings, observed: Callable[[str], None]) -> None:
    """The domain exists, is not deleted and is not processing a configuration change."""
    try:
        status = aws.client("opensearch").describe_domain(DomainName=settings.opensearch_domain)["DomainStatus"]
    except ClientError as exc:
        raise AssertionError(
            f"OpenSearch domain {settings.opensearch_domain} cannot be described: {error_code(exc)}"
        ) from None
    observed(
        f"domain {settings.opensearch_domain}: Deleted={bool(status.get('Deleted'))}, "
        f"Processing={bool(status.get('Processing'))}, {status.get('EngineVersion', '?')}"
    )
    assert not status.get("Deleted"), f"OpenSearch domain {settings.opensearch_domain} is being deleted"
    assert not status.get("Processing"), (
        f"OpenSearch domain {settings.opensearch_domain} is processing a change: searches may fail"
    )
