"""Remove what dead drills left, found from the account (any machine sees the same), never a live drill.

A drill is alive while it holds the target's lock with a fresh heartbeat: the sweep never
touches it, whatever is asked. `--drill-id ID` sweeps that drill whatever its age (its stale
lock too); without it, drills younger than TURATH_DRILL_SWEEP_HOURS are left alone (a `--keep`
drill someone may be inspecting). Dry run by default: it lists exactly what `--apply` deletes,
plus what is named like a drill but not tagged as one (left alone). `--apply` deletes in
dependency order through clients guarded for that drill id, then lists again: what is still
there is reported, and the command fails.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from recovery.aws.session import Aws
from recovery.drill import lock
from recovery.drill.context import DrillAws, make_guard
from recovery.drill.guard import Guard
from recovery.drill.ledger import DONE, Ledger, ledger_path
from recovery.drill.naming import DrillNames, validate_drill_id
from recovery.drill.scan import Found, scan, search_api, search_gone_reason
from recovery.drill.teardown import Deleter, add_found, order_of
from recovery.errors import RecoveryError
from recovery.settings import Settings
from recovery.timeutil import iso, utcnow, wait_until

log = logging.getLogger(__name__)


class DrillAlive(RecoveryError):
    """The drill asked for holds the lock with a fresh heartbeat: it is running."""


@dataclass
class SweptDrill:
    drill_id: str
    oldest: datetime | None
    resources: list[Found] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    remaining: list[Found] = field(default_factory=list)
    skipped: str = ""  # why it was left alone

    def as_dict(self) -> dict[str, Any]:
        return {
            "drill_id": self.drill_id,
            "oldest": iso(self.oldest) if self.oldest else None,
            "resources": [f.as_dict() for f in self.resources],
            "deleted": self.deleted,
            "remaining": [f.as_dict() for f in self.remaining],
            "skipped": self.skipped,
        }


@dataclass
class SweepResult:
    drills: list[SweptDrill] = field(default_factory=list)
    foreign: list[Found] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(d.remaining for d in self.drills)


def sweep(
    settings: Settings,
    aws: Aws,
    older_than_hours: float,
    apply: bool = False,
    drill_id: str | None = None,
    now: datetime | None = None,
    poll_seconds: float = 15.0,
) -> SweepResult:
    """Dead drills found (and, with apply, removed); DrillAlive if `drill_id` is running."""
    now = now or utcnow()
    if drill_id:
        validate_drill_id(drill_id)
    cutoff = now - timedelta(hours=older_than_hours)
    reader = DrillAws(aws, Guard(DrillNames(settings.drill_prefix, "d000000", now), read_only=True))
    gone = search_gone_reason(aws, settings)
    search = None if gone else search_api(aws, settings)
    found = scan(reader.client, settings.drill_prefix, drill_id, search, gone)
    owner = lock.holder(reader.client("ssm"))
    alive = owner.drill_id if owner is not None and owner.alive(now, settings.drill_lock_stale_seconds) else None
    if drill_id and drill_id == alive and owner is not None:
        raise DrillAlive(f"{owner.describe(now)} is alive: the sweep leaves a running drill alone")
    by_drill: dict[str, list[Found]] = defaultdict(list)
    for item in found.found:
        by_drill[item.drill_id].append(item)
    result = SweepResult(foreign=found.foreign, unchecked=found.unchecked)
    for did, resources in sorted(by_drill.items()):
        times = [f.created for f in resources if f.created is not None]
        swept = SweptDrill(did, min(times) if times else None, resources)
        result.drills.append(swept)
        if did == alive:
            swept.skipped = "alive: it holds the drill lock with a fresh heartbeat"
            continue
        if not drill_id and swept.oldest is not None and swept.oldest > cutoff:
            swept.skipped = f"younger than {older_than_hours} h (sweep it by id: --drill-id {did})"
            continue
        if apply:
            _delete(settings, aws, swept, poll_seconds)
    return result


def _delete(settings: Settings, aws: Aws, swept: SweptDrill, poll: float) -> None:
    did = swept.drill_id
    names = DrillNames(settings.drill_prefix, did, swept.oldest or utcnow())
    clients = DrillAws(aws, make_guard(names))
    path = ledger_path(Path(settings.reports_dir), did)
    ledger = Ledger.load(path) if path.exists() else Ledger.create(Path(settings.reports_dir), did)
    add_found(ledger.entries, swept.resources, names, settings.region)
    ledger.save()
    deleter = Deleter(clients.client, names, lambda: search_api(aws, settings), settings.app_container, max_delay=poll)
    ledger.teardown(deleter, order_of)
    swept.deleted = [{"kind": e.kind, "id": e.id, "status": e.status, "outcome": e.outcome} for e in ledger.entries]
    gone = search_gone_reason(aws, settings)
    search = None if gone else search_api(aws, settings)
    remaining: list[list[Found]] = [[]]

    def clean() -> bool:
        remaining[0] = scan(clients.client, settings.drill_prefix, did, search, gone).found
        return not remaining[0]

    try:  # listings lag behind deletions: a short, bounded re-listing before calling anything left over
        wait_until(clean, timeout=30.0, interval=3.0, what=f"drill {did} gone from the listings")
    except RecoveryError:
        log.warning("sweep: drill %s still has %d resource(s)", did, len(remaining[0]))
    swept.remaining = remaining[0]
    failed = [e for e in ledger.entries if e.status not in DONE]
    for entry in failed:
        if not any(f.kind == entry.kind and f.id == entry.id for f in swept.remaining):
            swept.remaining.append(Found(entry.kind, entry.id, did, None, {"outcome": entry.outcome}))
