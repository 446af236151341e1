"""Remove what dead drills left: drill-named or drill-tagged resources older than a threshold.

Dry-run by default (lists what it would delete); `apply=True` deletes, per drill id, in reverse
order of creation, through clients guarded for that drill id, recording the outcome in that
drill's ledger (kept, or a new one). A drill younger than the threshold is left alone: it may be
running. Search indices of a dead drill (in the shared cluster) are only known from its ledger.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from recovery.aws.session import Aws
from recovery.drill.context import DrillAws, make_guard
from recovery.drill.guard import Guard
from recovery.drill.ledger import DONE, Entry, Ledger, ledger_path
from recovery.drill.naming import DrillNames
from recovery.drill.teardown import CREATION_ORDER, Deleter, Found, scan
from recovery.settings import Settings
from recovery.timeutil import iso, utcnow

log = logging.getLogger(__name__)


@dataclass
class SweptDrill:
    drill_id: str
    oldest: datetime | None
    resources: list[Found] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "drill_id": self.drill_id,
            "oldest": iso(self.oldest) if self.oldest else None,
            "resources": [f.as_dict() for f in self.resources],
            "deleted": self.deleted,
        }


def sweep(
    settings: Settings,
    aws: Aws,
    older_than_hours: float,
    apply: bool = False,
    now: datetime | None = None,
    poll_seconds: float = 15.0,
) -> list[SweptDrill]:
    """Dead drills found (and, with apply, removed). A drill with no known age counts as old."""
    now = now or utcnow()
    cutoff = now - timedelta(hours=older_than_hours)
    reader = DrillAws(aws, Guard(DrillNames(settings.drill_prefix, "d000000", now), read_only=True))
    by_drill: dict[str, list[Found]] = defaultdict(list)
    for found in scan(reader.client, settings.drill_prefix):
        by_drill[found.drill_id].append(found)
    out: list[SweptDrill] = []
    for drill_id, resources in sorted(by_drill.items()):
        times = [f.created for f in resources if f.created is not None]
        oldest = min(times) if times else None
        # A drill's age is its first resource's (its start): a live drill is younger than its RTO.
        if oldest is not None and oldest > cutoff:
            log.info("sweep: drill %s is younger than %s h, left alone", drill_id, older_than_hours)
            continue
        swept = SweptDrill(drill_id, oldest, resources)
        if apply:
            swept.deleted = _delete(settings, aws, drill_id, resources, oldest or now, poll_seconds)
        out.append(swept)
    return out


def _delete(
    settings: Settings, aws: Aws, drill_id: str, resources: list[Found], created: datetime, poll: float
) -> list[dict[str, Any]]:
    names = DrillNames(settings.drill_prefix, drill_id, created)
    clients = DrillAws(aws, make_guard(names))
    path = ledger_path(Path(settings.reports_dir), drill_id)
    ledger = Ledger.load(path) if path.exists() else Ledger.create(Path(settings.reports_dir), drill_id)
    known = {(e.kind, e.id) for e in ledger.entries if e.status not in DONE}
    order = {kind: i for i, kind in enumerate(CREATION_ORDER)}
    extra = [
        Entry(f.kind, f.id, settings.region, "sweep", status="created", extra=dict(f.extra))
        for f in sorted(resources, key=lambda f: order.get(f.kind, len(order)))
        if (f.kind, f.id) not in known
    ]
    # Found resources go first in the list, so reverse-order teardown deletes them after the
    # ledger's own entries (services and tasks before clusters, listeners before target groups).
    ledger.entries = extra + ledger.entries
    ledger.save()
    ledger.teardown(Deleter(clients.client, names, settings.app_container, max_delay=poll))
    return [{"kind": e.kind, "id": e.id, "status": e.status, "outcome": e.outcome} for e in ledger.entries]
