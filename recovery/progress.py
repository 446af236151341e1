"""Progress events of long operations (drill phases, waits), for whatever displays them.

The library only emits: each event is a log record on the `recovery.progress` logger carrying
the `Event` as `record.turath_event`. A display (the pytest plugin's live view, the CLI's lines)
installs a logging handler for that logger and renders events; without one they are ordinary
INFO lines. No display code and no terminal escapes here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

LOGGER = "recovery.progress"
PHASE_START, PHASE_END, WAITING = "phase_start", "phase_end", "waiting"
_log = logging.getLogger(LOGGER)


@dataclass(frozen=True)
class Event:
    """One progress event: a phase started or ended, or a wait's current status."""

    kind: str  # PHASE_START | PHASE_END | WAITING
    name: str  # the phase, or what is waited for
    elapsed_seconds: float = 0.0
    status: str = ""  # a wait's latest status; a phase's outcome at its end
    timeout_seconds: float | None = None

    def line(self) -> str:
        if self.kind == PHASE_START:
            return f"phase {self.name}: started"
        if self.kind == PHASE_END:
            return f"phase {self.name}: {self.status or 'done'} after {self.elapsed_seconds:.1f}s"
        limit = f" of {self.timeout_seconds:.0f}s" if self.timeout_seconds else ""
        return f"waiting for {self.name}: {self.status or '...'} ({self.elapsed_seconds:.0f}s{limit})"


def emit(event: Event) -> None:
    _log.info("%s", event.line(), extra={"turath_event": event})
