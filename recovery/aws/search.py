"""OpenSearch data plane: list and delete indices by name, signed with SigV4 (service `es`).

The drill's indices live in production's search domain under the drill's own prefix; teardown,
the leak check and the sweep find them here, from the search service itself, not from a local
ledger. The URL is TURATH_SEARCH_URL, else `https://<domain endpoint>` (reachable from inside
the VPC: the in-VPC runner, a tunnel, or a bastion). IAM: es:DescribeDomain on the domain,
es:ESHttpGet and es:ESHttpDelete on `<domain ARN>/<prefix>-drill-*` (and `/_cat/indices*`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from recovery.aws.session import Aws, error_code
from recovery.errors import NotFound, RecoveryError

log = logging.getLogger(__name__)
TIMEOUT = 15


class SearchUnavailable(RecoveryError):
    """The search data plane did not answer (unreachable, or an error status)."""


@dataclass(frozen=True)
class Index:
    name: str
    docs: int


def domain_endpoint(opensearch: Any, domain: str) -> str:
    """`https://<endpoint>` of the domain (VPC or public); NotFound when the domain does not exist."""
    try:
        status = opensearch.describe_domain(DomainName=domain)["DomainStatus"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise NotFound(f"OpenSearch domain {domain} does not exist") from None
        raise
    if status.get("Deleted"):
        raise NotFound(f"OpenSearch domain {domain} is being deleted")
    endpoint = status.get("Endpoint") or next(iter((status.get("Endpoints") or {}).values()), "")
    return f"https://{endpoint}" if endpoint else ""


class SearchApi:
    """A few REST calls against the domain, each signed like the AWS CLI would."""

    def __init__(self, aws: Aws, url: str) -> None:
        self.aws = aws
        self.url = url.rstrip("/")
        self.http = requests.Session()

    def _call(self, method: str, path: str) -> Any:
        url = f"{self.url}/{path.lstrip('/')}"
        request = AWSRequest(method=method, url=url, headers={"Content-Type": "application/json"})
        credentials = self.aws.session.get_credentials()
        if credentials is not None:
            SigV4Auth(credentials.get_frozen_credentials(), "es", self.aws.settings.region).add_auth(request)
        try:
            resp = self.http.request(method, url, headers=dict(request.headers), timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise SearchUnavailable(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        if resp.status_code == 404:
            return None
        if resp.status_code >= 400:
            raise SearchUnavailable(f"{method} {url} -> HTTP {resp.status_code}: {resp.text[:200]}")
        return json.loads(resp.text or "null")

    def indices(self, prefix: str) -> list[Index]:
        """Indices whose name starts with `prefix` (GET /_cat/indices/<prefix>*)."""
        rows = self._call("GET", f"_cat/indices/{prefix}*?format=json") or []
        return [
            Index(str(r["index"]), int(r.get("docs.count") or 0)) for r in rows if str(r["index"]).startswith(prefix)
        ]

    def delete(self, names: list[str]) -> None:
        """Delete indices by exact name (no wildcard: domains may require explicit names)."""
        for i in range(0, len(names), 50):  # keep the URL short
            self._call("DELETE", ",".join(names[i : i + 50]))
