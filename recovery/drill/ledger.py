"""The teardown ledger: what a drill created, persisted, so teardown and resume survive a crash.

Good: every resource is written down (kind, id, region) *before* the call that creates it,
so a crash between the call and its answer still leaves a line teardown can act on; teardown
walks the ledger in reverse, records each deletion's outcome and can run again safely.
The file `<reports_dir>/.drills/<id>.json` also keeps the saved step state for `--resume-from`.
Nothing secret is ever stored here (the password is re-read from the task definition).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recovery.errors import RecoveryError
from recovery.timeutil import iso, utcnow

log = logging.getLogger(__name__)

PENDING, CREATED, DELETED, GONE, FAILED = "pending", "created", "deleted", "gone", "delete-failed"
DONE = (DELETED, GONE)


@dataclass
class Entry:
    """One resource: written before creation (pending), confirmed (created), then deleted."""

    kind: str
    id: str
    region: str
    step: str
    status: str = PENDING
    recorded_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    deleted_at: str = ""
    outcome: str = ""


@dataclass
class Ledger:
    """The drill's ledger and saved state. `save()` after every change (atomic replace)."""

    path: Path
    drill_id: str
    created_at: str = ""
    entries: list[Entry] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    torn_down: bool = False
    dry: bool = False  # --plan: never written

    @classmethod
    def create(cls, reports_dir: Path, drill_id: str) -> Ledger:
        ledger = cls(ledger_path(reports_dir, drill_id), drill_id, iso(utcnow()))
        ledger.save()
        return ledger

    @classmethod
    def load(cls, path: Path) -> Ledger:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = [Entry(**e) for e in data.pop("entries", [])]
        data.pop("path", None)
        data.pop("dry", None)
        return cls(path=path, entries=entries, **data)

    def save(self) -> None:
        if self.dry:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = asdict(self)
        doc.pop("path")
        doc.pop("dry")
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, default=str)
        os.replace(tmp, self.path)

    # ---- recording --------------------------------------------------------------------------
    def record(self, kind: str, ident: str, region: str, step: str, **extra: Any) -> Entry:
        """Write a resource down before creating it; returns the (existing) entry if known."""
        for entry in self.entries:
            if entry.kind == kind and entry.id == ident and entry.status not in DONE:
                entry.extra.update(extra)
                self.save()
                return entry
        entry = Entry(kind, ident, region, step, recorded_at=iso(utcnow()), extra=dict(extra))
        self.entries.append(entry)
        self.save()
        return entry

    def created(self, entry: Entry, **extra: Any) -> None:
        entry.status = CREATED
        entry.extra.update(extra)
        self.save()

    def find(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind]

    def complete(self, step: str) -> None:
        if step not in self.completed:
            self.completed.append(step)
        self.save()

    def forget_from(self, steps: list[str]) -> None:
        """Resume: steps from here on run again."""
        self.completed = [s for s in self.completed if s not in steps]
        self.save()

    def open_entries(self) -> list[Entry]:
        return [e for e in self.entries if e.status not in DONE]

    # ---- teardown ---------------------------------------------------------------------------
    def teardown(self, delete: Callable[[Entry], str], order: Callable[[str], int]) -> list[Entry]:
        """Delete by `order` of kind (dependencies), newest first within a kind; `delete` returns
        DELETED or GONE, or raises.

        A failed deletion is recorded and teardown carries on with the rest (a later run or the
        sweep retries it); the list of entries still open is returned.
        """
        ranked = sorted(enumerate(self.entries), key=lambda pair: (order(pair[1].kind), -pair[0]))
        for _, entry in ranked:
            if entry.status in DONE:
                continue
            try:
                entry.status = delete(entry)
                entry.outcome = entry.status
            except Exception as exc:  # each resource gets its own chance; nothing is skipped
                entry.status = FAILED
                entry.outcome = f"{type(exc).__name__}: {exc}"
                log.warning("teardown of %s %s failed: %s", entry.kind, entry.id, exc)
            entry.deleted_at = iso(utcnow())
            self.save()
        remaining = self.open_entries()
        self.torn_down = not remaining
        self.save()
        return remaining


def ledger_path(reports_dir: Path, drill_id: str) -> Path:
    return Path(reports_dir) / ".drills" / f"{drill_id}.json"


def latest_ledger(reports_dir: Path) -> Ledger:
    """The newest ledger not fully torn down (what `--resume-from` continues)."""
    folder = Path(reports_dir) / ".drills"
    found = sorted(folder.glob("d*.json"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.exists() else []
    for path in found:
        ledger = Ledger.load(path)
        if not ledger.torn_down:
            return ledger
    raise RecoveryError(f"no drill to resume: no ledger under {folder} that still has resources")
