"""Plan §2.3 / §5.3: the search index agrees with the database and finds what it holds.

Production under `-m health`; the drill's recovered copy after its reindex under `-m drill`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fixtures.meta import BOTH_MODES, check
from recovery.db import Endpoint, connect, latest_published_count, record_titles
from recovery.errors import WaitTimeout
from recovery.settings import Settings
from recovery.site import Site, short
from recovery.timeutil import wait_until

REBUILD = (
    "plan §4 step 4, in a web-ui task through the image's entrypoint: invenio index destroy --yes-i-know && "
    "invenio index init && invenio rdm rebuild-all-indices (rdm-records rebuild-index covers records only); "
    "records still missing once the queue has drained were refused by the index mapping "
    "(strict_dynamic_mapping_exception or mapper_parsing_exception in the Celery worker's log): map that "
    "metadata (a custom field) or correct it before the next rebuild"
)


@check("2.3", severity="high", remediation=REBUILD, modes=BOTH_MODES)
def test_search_index_matches_database(
    site: Site, db_endpoint: Endpoint, settings: Settings, observed: Callable[[str], None]
) -> None:
    """Public latest published records in the DB equal anonymous hits.total (after the index queue settles)."""
    with connect(db_endpoint) as conn:
        in_db = latest_published_count(conn)
    seen: dict[str, Any] = {}

    def agrees() -> bool:
        ans, total = site.records_total()
        seen.update(ans=ans, total=total)
        return total == in_db

    try:
        wait_until(agrees, timeout=settings.search_settle_seconds, interval=0.5, what="search index and database agree")
        observed(f"hits.total {seen.get('total')} = DB {in_db} latest published records")
    except WaitTimeout:
        total = seen.get("total")
        if total is None:
            raise AssertionError(f"cannot read hits.total: {short(seen['ans'])}") from None
        kind = "orphans (records not in the DB)" if total > in_db else "records missing from the index"
        raise AssertionError(
            f"index and database disagree: hits.total {total} vs {in_db} public published records in the DB "
            f"({abs(total - in_db)} {kind})"
        ) from None


# A title search of a large library can rank the record below the first page (relevance ties
# among records of the same title): read this many pages of 100 before calling it missing.
SEARCH_PAGES = 5


def _phrase(title: str) -> str:
    """`title` as one quoted phrase of the query syntax (a quote or backslash in it escaped)."""
    return '"' + title.replace("\\", "\\\\").replace('"', '\\"') + '"'


@check("5.3", severity="medium", remediation=REBUILD, modes=BOTH_MODES)
def test_search_query_finds_known_record(site: Site, db_endpoint: Endpoint, observed: Callable[[str], None]) -> None:
    """A search for the title of a recent record, as a phrase, returns that record."""
    with connect(db_endpoint) as conn:
        recent = record_titles(conn, limit=3)
    assert recent, "no published record in the database to search for"
    misses = []
    for recid, title in recent:
        q = _phrase(title) if title.strip() else recid
        found, pages, total, last = None, 0, None, None
        while found is None and pages < SEARCH_PAGES:
            pages += 1
            last = site.get("/api/records", q=q, size=100, page=pages)
            body = (last.json or {}).get("hits", {}) if last.status == 200 else {}
            total = body.get("total")
            hits = body.get("hits", [])
            if any(h.get("id") == recid for h in hits):
                found = pages
            elif len(hits) < 100:
                break
        if found is None:
            where = f"{total} hit(s), {pages} page(s) of 100 read" if total is not None else short(last)
            misses.append(f"q={q} does not return {recid} ({where})")
        else:
            observed(f"q={q} returns {recid} (page {found}, {total} hit(s))")
    assert not misses, "search misses records the database holds: " + "; ".join(misses)


@check(
    "5.3",
    severity="high",
    remediation="plan §4 step 3: the tasks' IAM role must read s3://{files_bucket} "
    "(aws iam get-role-policy; aws s3api get-bucket-policy --bucket {files_bucket}); a missing object can be "
    "restored from a previous version (aws s3api list-object-versions) or from s3://{backup_bucket}",
    modes=BOTH_MODES,
)
def test_site_record_file_downloads_with_checksum(
    site: Site, db_endpoint: Endpoint, observed: Callable[[str], None]
) -> None:
    """A recent record lists its files and one downloads with the checksum the database stores."""
    with connect(db_endpoint) as conn:
        recent = record_titles(conn, limit=1)
    assert recent, "no published record to open"
    recid = recent[0][0]
    listing = site.get(f"/api/records/{recid}/files")
    assert listing.status == 200, f"file listing of {recid}: {short(listing)}"
    entries = (listing.json or {}).get("entries", [])
    assert entries, f"record {recid} lists no files"
    # A multipart upload's checksum (or none) is not an MD5 until InvenioRDM recomputes it.
    comparable = [e for e in entries if str(e.get("checksum") or "").startswith("md5:")]
    assert comparable, f"record {recid} lists no file with an MD5 checksum: {[e.get('checksum') for e in entries]}"
    entry = comparable[0]
    url = entry.get("links", {}).get("content") or f"{site.base_url}/api/records/{recid}/files/{entry['key']}/content"
    status, md5, size = site.download_md5(url)
    observed(f"{recid}/{entry['key']}: HTTP {status}, md5:{md5} ({size} bytes), record says {entry.get('checksum')}")
    assert status == 200, f"download of {recid}/{entry['key']} answers {status} (the viewer cannot load the PDF)"
    assert f"md5:{md5}" == entry.get("checksum"), (
        f"{recid}/{entry['key']}: downloaded md5:{md5} ({size} bytes) but the record says {entry.get('checksum')}"
    )
