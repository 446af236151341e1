"""HTTP against the InvenioRDM site (production or the drill's load balancer)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

TIMEOUT = 15


@dataclass(frozen=True)
class Answer:
    """One HTTP exchange, reduced to what a check reports."""

    url: str
    status: int
    body: str
    json: Any

    @property
    def is_5xx(self) -> bool:
        return self.status >= 500


class _NamedHost(HTTPAdapter):
    """TLS to an address under the site's own name: SNI and the certificate check use `host`."""

    def __init__(self, host: str) -> None:
        self.host = host
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(server_hostname=self.host, assert_hostname=self.host)
        super().init_poolmanager(*args, **kwargs)


class Site:
    """GETs against `base_url`; with `address` (host[:port]), dialed there under `base_url`'s host name.

    A load balancer that routes by host name (host-header rules) answers the site only when asked
    for it by name: a drill's copy is reached at its own DNS name with production's Host header and
    TLS server name, as clients will reach it once DNS points at it (curl --resolve).
    """

    def __init__(self, base_url: str, verify_tls: bool = True, address: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.verify = verify_tls
        self.session.headers["User-Agent"] = "turath-recovery/1"
        self._origin = self._dialed = ""
        if address:
            parts = urlsplit(self.base_url)
            self._origin = f"{parts.scheme}://{parts.netloc}"
            dialed = address if ":" in address or parts.port is None else f"{address}:{parts.port}"
            self._dialed = f"{parts.scheme}://{dialed}"
            self.session.headers["Host"] = parts.netloc
            self.session.mount(self._dialed, _NamedHost(parts.hostname or ""))

    def dial(self, url: str) -> str:
        """The URL actually requested: the site's own URLs go to `address` when one is set."""
        if self._origin and (url == self._origin or url.startswith(f"{self._origin}/")):
            return self._dialed + url[len(self._origin) :]
        return url

    def get(self, path: str, **params: Any) -> Answer:
        url = f"{self.base_url}{path}"
        try:
            # verify per request: a session's verify loses to REQUESTS_CA_BUNDLE in the environment
            # (psf/requests#3829), and TURATH_VERIFY_TLS=false must hold on machines that set it.
            resp = self.session.get(
                self.dial(url), params=params or None, timeout=TIMEOUT, allow_redirects=False, verify=self.verify
            )
        except requests.RequestException as exc:
            return Answer(url, 0, f"{type(exc).__name__}: {exc}", None)
        try:
            data = resp.json() if "json" in resp.headers.get("Content-Type", "") else None
        except ValueError:
            data = None
        return Answer(url, resp.status_code, resp.text[:500], data)

    def records_total(self, q: str = "") -> tuple[Answer, int | None]:
        """GET /api/records?size=1 -> hits.total (from the search index, not the DB)."""
        ans = self.get("/api/records", size=1, **({"q": q} if q else {}))
        total = None
        if ans.status == 200 and isinstance(ans.json, dict):
            hits = ans.json.get("hits", {})
            raw = hits.get("total")
            total = raw.get("value") if isinstance(raw, dict) else raw
        return ans, total

    def download_md5(self, url: str) -> tuple[int, str, int]:
        """Stream a file: (status, md5 hex, bytes)."""
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        with self.session.get(self.dial(url), stream=True, timeout=TIMEOUT, verify=self.verify) as resp:
            if resp.status_code != 200:
                return resp.status_code, "", 0
            for chunk in resp.iter_content(65536):
                digest.update(chunk)
                size += len(chunk)
        return 200, digest.hexdigest(), size


def short(ans: Answer) -> str:
    """'GET <url> -> 502' plus the first words of the body."""
    body = " ".join(ans.body.split())[:120]
    return f"GET {ans.url} -> {ans.status or 'no answer'}" + (f" ({body})" if body else "")


def download_record_file(site: str, recid: str, key: str, address: str = "") -> dict[str, Any]:
    """List the record's files through the API, download `key` and hash it (plan 5.3), as the drill records it."""
    client = Site(site, verify_tls=False, address=address)
    base = f"/api/records/{quote(recid)}/files"
    out: dict[str, Any] = {"recid": recid, "key": key, "url": f"{site}{base}/{quote(key)}/content"}
    listing = client.get(base)
    out["listing_status"] = listing.status or listing.body.split(":", 1)[0]
    if listing.status == 200 and isinstance(listing.json, dict):
        out["listed"] = key in [e.get("key") for e in listing.json.get("entries", [])]
    try:
        code, md5, size = client.download_md5(out["url"])
    except requests.RequestException as exc:  # nothing answered
        out["status"] = type(exc).__name__
        return out
    out["status"] = code
    if code == 200:
        out["md5"], out["bytes"] = f"md5:{md5}", size
    else:
        out["body"] = client.get(f"{base}/{quote(key)}/content").body[:300]
    return out
