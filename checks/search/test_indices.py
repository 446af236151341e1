"""Plan §2.3, corrected: every index agrees with the database, and what is not derived is snapshotted.

`invenio rdm-records rebuild-index` rebuilds records and drafts only: communities without members
and invisible requests follow a restore (invenio-app-rdm #1816, #1914, #2608). Since InvenioRDM
v12 usage statistics (`stats-*`) live only in OpenSearch (docs-invenio-rdm, backup_search_indices):
the plan's "entirely derived from the database" is wrong for them, and only snapshots keep them.
Counts go through the domain's endpoint (SigV4-signed GETs), per alias, never a wildcard.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from fixtures.meta import check
from recovery.aws import opensearch as opensearch_api
from recovery.aws.opensearch import SearchApi, Unreachable
from recovery.db import Endpoint, connect, index_source_counts
from recovery.errors import WaitTimeout
from recovery.settings import Settings
from recovery.timeutil import human_age, utcnow, wait_until

REBUILD_ALL = (
    "plan §4 step 4, corrected: in a web-ui task through the image's entrypoint: invenio rdm rebuild-all-indices "
    "(rdm-records rebuild-index covers records and drafts only), then wait for the Celery queue to drain"
)
STATS = "stats-"  # stats-record-view, events-stats-file-download, ...


def _aliases(search_api: SearchApi) -> dict[str, str]:
    try:
        return search_api.aliases()
    except Unreachable as exc:
        pytest.skip(f"no route to the OpenSearch endpoint from this runner (VPC domain?): {exc}")


@check("2.3", severity="high", remediation=REBUILD_ALL)
def test_search_indices_match_database(
    search_api: SearchApi,
    db_endpoint: Endpoint,
    running_task_definitions: dict[str, dict[str, Any]],
    settings: Settings,
    observed: Callable[[str], None],
) -> None:
    """Each index (records, drafts, communities, members, requests, users) holds as many documents as
    the rows the rebuild indexes (soft-deleted excluded), counted through its alias."""
    aliases = list(_aliases(search_api))
    web = next(iter(running_task_definitions.values()), {})
    container = next((c for c in web.get("containerDefinitions", []) if c.get("name") == settings.app_container), {})
    configured = {e["name"]: e.get("value", "") for e in container.get("environment", [])}.get(
        "INVENIO_SEARCH_INDEX_PREFIX", ""
    )
    prefix = opensearch_api.production_prefix(aliases, "rdmrecords-records", configured)
    assert prefix is not None, (
        f"no rdmrecords-records index on {search_api.endpoint} (aliases: {', '.join(sorted(aliases)[:10]) or 'none'}): "
        "the index was destroyed and not rebuilt"
    )
    seen: dict[str, tuple[int | None, int | None]] = {}

    def agree() -> bool:
        # Indexing is asynchronous (Celery): on a live site a new upload is in the DB seconds before the index.
        with connect(db_endpoint) as conn:
            in_db = index_source_counts(conn)
        seen.clear()
        for alias, rows in in_db.items():
            seen[alias] = (rows, search_api.count(f"{prefix}{alias}") if rows is not None else None)
        return all(rows is None or docs == rows for rows, docs in seen.values())

    with contextlib.suppress(WaitTimeout):
        wait_until(
            agree, timeout=settings.search_settle_seconds, interval=1.0, what="every index agrees with the database"
        )
    problems = []
    for alias, (rows, docs) in seen.items():
        if rows is None:
            observed(f"{alias}: no table in this database version, not compared")
        elif docs is None:
            problems.append(f"index {prefix}{alias} is missing ({rows} rows in the DB)")
        else:
            observed(f"index {prefix}{alias} {docs} {'=' if docs == rows else '!='} DB {rows}")
            if docs != rows:
                kind = "orphans (documents the DB no longer has)" if docs > rows else "rows missing from the index"
                problems.append(f"{prefix}{alias} has {docs} documents, the DB {rows} ({abs(docs - rows)} {kind})")
    assert not problems, "search indices disagree with the database: " + "; ".join(problems)


@check(
    "2.3",
    severity="high",
    remediation="aws opensearch describe-domain --domain-name {opensearch_domain} --query "
    "'DomainStatus.SnapshotOptions'; GET _snapshot/cs-automated-enc/_all shows why snapshots fail (a red "
    "cluster stops them); for copies that outlive the domain register a manual S3 repository (say "
    "turath-stats) and snapshot the stats indices daily: PUT _snapshot/turath-stats/stats-$(date -u +%Y%m%d) "
    "with indices stats-*,events-stats-*",
)
def test_opensearch_stats_snapshot_recent(
    search_api: SearchApi, settings: Settings, observed: Callable[[str], None]
) -> None:
    """The usage statistics (stats-*, events-stats-*), which no rebuild can restore, are in a successful
    snapshot younger than the daily limit, in the automated repository or a manual one."""
    aliases = _aliases(search_api)
    stats = sorted({index for alias, index in aliases.items() if STATS in alias})
    if not stats:
        observed("no stats-* index: nothing that only OpenSearch holds")
        return
    observed(f"{len(stats)} statistics index(es): {', '.join(stats[:4])}")
    repositories = search_api.snapshots()
    observed(f"snapshot repositories: {', '.join(repositories) or 'none'}")
    assert repositories, f"{settings.opensearch_domain} has no snapshot repository: the usage statistics have no copy"
    best: tuple[float, str, str] | None = None
    for repo, snaps in repositories.items():
        for snap in snaps:
            if snap.get("state") != "SUCCESS":
                continue
            if not set(stats) <= set(snap.get("indices") or []):
                continue
            age = (utcnow().timestamp() * 1000 - float(snap.get("end_time_in_millis") or 0)) / 1000
            if best is None or age < best[0]:
                best = (age, repo, str(snap.get("snapshot")))
    assert best is not None, (
        f"no successful snapshot of {settings.opensearch_domain} holds the statistics indices "
        f"({', '.join(stats[:4])}): " + "; ".join(f"{repo}: {_summary(snaps)}" for repo, snaps in repositories.items())
    )
    age, repo, name = best
    limit = settings.snapshot_max_age_hours
    observed(f"newest snapshot holding them: {repo}/{name}, {human_age(age)} old (limit {limit} h)")
    assert age <= limit * 3600, (
        f"the newest snapshot holding the statistics indices is {repo}/{name}, {human_age(age)} old (limit "
        f"{limit} h); since then: {_summary(repositories[repo])}"
    )


def _summary(snaps: list[dict[str, Any]]) -> str:
    states: dict[str, int] = {}
    for snap in snaps:
        states[str(snap.get("state"))] = states.get(str(snap.get("state")), 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no snapshots"
