"""OpenSearch: the domain (control plane) and its read API (data plane), SigV4-signed (plan 2.3).

The data plane is the domain's HTTPS endpoint (`DescribeDomain` Endpoint, or Endpoints.vpc for a
domain in a VPC: then the runner must be inside the VPC or tunnel to it; TURATH_SEARCH_URL
overrides it, e.g. for a tunnel). Requests are signed with the run's AWS credentials for service
`es`, as the AWS SDKs do. Health only GETs; the drill's teardown and sweep also DELETE the
drill's own indices, by exact name (es:ESHttpDelete on `<domain ARN>/<prefix>-drill-*`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from recovery.aws import permissions
from recovery.errors import NotFound

TIMEOUT = 15


def domain_endpoint(opensearch: Any, domain: str) -> str:
    """The domain's endpoint host (public, or VPC); NotFound if it has none yet."""
    status = opensearch.describe_domain(DomainName=domain)["DomainStatus"]
    endpoint = status.get("Endpoint") or (status.get("Endpoints") or {}).get("vpc")
    if not endpoint:
        raise NotFound(f"OpenSearch domain {domain} has no endpoint (still being created?)")
    return str(endpoint)


class Unreachable(Exception):
    """No answer from the endpoint (network, TLS): not evidence about the index either way."""


@dataclass(frozen=True)
class Index:
    name: str
    docs: int


@dataclass
class SearchApi:
    """GETs against one domain endpoint, signed with the session's credentials."""

    endpoint: str
    credentials: Any
    region: str
    verify_tls: bool = True
    mode: str = "health"  # whose policy files grant es:ESHttp* to this caller ("health", "drill")

    @property
    def base_url(self) -> str:
        return self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}"

    def get(self, path: str, **params: str) -> tuple[int, Any]:
        """(HTTP status, JSON body or None). Unreachable when nothing answers."""
        return self.call("GET", path, **params)

    def call(self, method: str, path: str, **params: str) -> tuple[int, Any]:
        url = f"{self.base_url}/{path.lstrip('/')}" + (f"?{urlencode(params)}" if params else "")
        signed = AWSRequest(method=method, url=url)
        if self.credentials is not None:
            SigV4Auth(self.credentials, "es", self.region).add_auth(signed)
        try:
            resp = requests.request(method, url, headers=dict(signed.headers), timeout=TIMEOUT, verify=self.verify_tls)
        except requests.RequestException as exc:
            raise Unreachable(f"{self.base_url}: {type(exc).__name__}: {exc}") from None
        if resp.status_code == 403:  # the domain's IAM: the one line an operator needs
            try:
                message = str((resp.json() or {}).get("Message", ""))
            except ValueError:
                message = ""
            raise permissions.denied("es", f"ESHttp{method.capitalize()}", {"DomainName": url}, message, self.mode)
        try:
            return resp.status_code, resp.json()
        except ValueError:
            return resp.status_code, None

    def aliases(self) -> dict[str, str]:
        """alias -> index (`GET _cat/aliases?format=json`)."""
        status, body = self.get("_cat/aliases", format="json")
        if status != 200 or not isinstance(body, list):
            raise NotFound(f"GET _cat/aliases answered {status}")
        return {str(a.get("alias")): str(a.get("index")) for a in body}

    def count(self, name: str) -> int | None:
        """Documents in an index or alias (`GET <name>/_count`); None if it does not exist."""
        status, body = self.get(f"{name}/_count")
        if status == 404:
            return None
        if status != 200 or not isinstance(body, dict):
            raise NotFound(f"GET {name}/_count answered {status}: {str(body)[:200]}")
        return int(body.get("count", 0))

    def indices(self, prefix: str) -> list[Index]:
        """Concrete indices whose name starts with `prefix` (`GET _cat/indices/<prefix>*`)."""
        status, body = self.get(f"_cat/indices/{prefix}*", format="json")
        if status == 404:
            return []
        if status != 200 or not isinstance(body, list):
            raise Unreachable(f"GET _cat/indices/{prefix}* answered {status}: {str(body)[:200]}")
        rows = [r for r in body if str(r.get("index", "")).startswith(prefix)]
        return [Index(str(r["index"]), int(r.get("docs.count") or 0)) for r in rows]

    def delete(self, names: list[str]) -> None:
        """Delete indices by exact name (no wildcard: domains may require explicit names)."""
        for i in range(0, len(names), 50):  # keep the URL short
            status, body = self.call("DELETE", ",".join(names[i : i + 50]))
            if status not in (200, 404):
                raise Unreachable(f"DELETE {','.join(names[i : i + 50])} answered {status}: {str(body)[:200]}")

    def snapshots(self) -> dict[str, list[dict[str, Any]]]:
        """repository -> its snapshots (`GET _snapshot`, then `GET _snapshot/<repo>/_all`)."""
        status, body = self.get("_snapshot")
        if status != 200 or not isinstance(body, dict):
            raise NotFound(f"GET _snapshot answered {status}")
        out: dict[str, list[dict[str, Any]]] = {}
        for repo in body:
            code, found = self.get(f"_snapshot/{repo}/_all")
            out[str(repo)] = list((found or {}).get("snapshots", [])) if code == 200 else []
        return out


def production_prefix(aliases: list[str], suffix: str, configured: str = "") -> str | None:
    """The index prefix whose `<prefix><suffix>` alias exists: the configured one, else the shortest
    (a drill's indices carry production's prefix plus its own id)."""
    if configured:
        return configured if f"{configured}{suffix}" in aliases else None
    found = sorted((a.removesuffix(suffix) for a in aliases if a.endswith(suffix)), key=len)
    return found[0] if found else None
