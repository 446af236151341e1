"""HTTP against the InvenioRDM site (production or the drill's load balancer)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import requests

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


class Site:
    def __init__(self, base_url: str, verify_tls: bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.verify = verify_tls
        self.session.headers["User-Agent"] = "turath-recovery/1"

    def get(self, path: str, **params: Any) -> Answer:
        url = f"{self.base_url}{path}"
        try:
            resp = self.session.get(url, params=params or None, timeout=TIMEOUT, allow_redirects=False)
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
        with self.session.get(url, stream=True, timeout=TIMEOUT) as resp:
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
