"""HTTP against the drill's site (its load balancer): what a user and the plan's curl lines see.

Thin views over `recovery.site.Site`, shaped as the drill's state records them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from recovery.site import Site


def records_total(site: str) -> int | None:
    """`hits.total` of GET /api/records?size=1, as the health checks read it (recovery.site)."""
    return Site(site, verify_tls=False).records_total()[1]


def download_md5(site: str, recid: str, key: str) -> dict[str, Any]:
    """List the record's files through the API, download `key` and hash it (plan 5.3)."""
    client = Site(site, verify_tls=False)
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
