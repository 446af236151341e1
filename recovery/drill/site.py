"""HTTP against the drill's site (its load balancer): what a user and the plan's curl lines see."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

import requests

from recovery.site import Site

TIMEOUT = 20


def get(url: str, verify: bool = False, **kwargs: Any) -> requests.Response:
    return requests.get(url, timeout=TIMEOUT, verify=verify, allow_redirects=False, **kwargs)


def status(url: str) -> int | str:
    """HTTP status, or the connection error's class name when nothing answered."""
    try:
        return get(url).status_code
    except requests.RequestException as exc:
        return type(exc).__name__


def records_total(site: str) -> int | None:
    """`hits.total` of GET /api/records?size=1, as the health checks read it (recovery.site)."""
    return Site(site, verify_tls=False).records_total()[1]


def download_md5(site: str, recid: str, key: str) -> dict[str, Any]:
    """List the record's files through the API, download `key` and hash it (plan 5.3)."""
    base = f"{site}/api/records/{quote(recid)}/files"
    out: dict[str, Any] = {"recid": recid, "key": key, "url": f"{base}/{quote(key)}/content"}
    try:
        listing = get(base)
        out["listing_status"] = listing.status_code
        if listing.status_code == 200:
            keys = [e.get("key") for e in listing.json().get("entries", [])]
            out["listed"] = key in keys
        resp = get(out["url"], stream=True)
        out["status"] = resp.status_code
        if resp.status_code == 200:
            digest = hashlib.md5(usedforsecurity=False)
            size = 0
            for chunk in resp.iter_content(64 * 1024):
                digest.update(chunk)
                size += len(chunk)
            out["md5"] = f"md5:{digest.hexdigest()}"
            out["bytes"] = size
        else:
            out["body"] = resp.text[:300]
    except requests.RequestException as exc:
        out["status"] = type(exc).__name__
    return out
