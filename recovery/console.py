"""Terminal renderers shared by the pytest plugins and `python -m recovery`: the drill's progress
and the run's verdict block. Rendering only; the caller chooses the stream (never print here).

Good: on a terminal, phases and waits show as a live status (rich) and each phase leaves one line;
in a CI log (not a TTY) every event is one plain, timestamped line; every run ends with one verdict
block: PASS / FAIL / INCOMPLETE, RTO and RPO against their objectives in human units, the root
cause first when failing, and the evidence path once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from recovery.evidence.document import VERDICTS, verdict_lines
from recovery.evidence.model import human_duration
from recovery.progress import LOGGER, PHASE_END, PHASE_START, WAITING, Event

VERDICT_STYLE = {"passed": "bold white on green", "failed": "bold white on red", "incomplete": "bold black on yellow"}


def plain_line(event: Event, now: datetime | None = None) -> str:
    """One CI log line: '13:29:33Z drill phase restore: passed after 1.4 s'."""
    stamp = (now or datetime.now(UTC)).strftime("%H:%M:%SZ")
    if event.kind == PHASE_START:
        text = f"drill phase {event.name}: started"
    elif event.kind == PHASE_END:
        text = f"drill phase {event.name}: {event.status or 'done'} after {human_duration(event.elapsed_seconds)}"
    else:
        limit = f" of {human_duration(event.timeout_seconds)}" if event.timeout_seconds else ""
        text = f"  waiting for {event.name}: {event.status or '...'} ({human_duration(event.elapsed_seconds)}{limit})"
    return f"{stamp} {text}"


class ProgressView:
    """Renders progress events: a rich live status on a terminal, plain lines otherwise.

    `write_plain` receives finished lines (CI); `console` is used on a terminal. The caller wraps
    calls as it must (pytest suspends its output capture around them).
    """

    def __init__(self, console: Console | None, write_plain: Callable[[str], None]) -> None:
        self.console = console
        self.write_plain = write_plain
        self.live: Live | None = None
        self.phase = ""

    @property
    def live_mode(self) -> bool:
        return self.console is not None and self.console.is_terminal

    def handle(self, event: Event) -> None:
        if not self.live_mode or self.console is None:
            self.write_plain(plain_line(event))
            return
        if event.kind == PHASE_START:
            self.stop()
            self.phase = event.name
            self.console.print(Text.assemble(("▶ ", "cyan"), ("drill phase ", "dim"), (event.name, "bold"), " started"))
        elif event.kind == WAITING:
            limit = f" of {human_duration(event.timeout_seconds)}" if event.timeout_seconds else ""
            self._status(
                Text.assemble(
                    (f"{self.phase or 'drill'}: ", "bold"),
                    f"waiting for {event.name}: ",
                    (event.status or "...", "cyan"),
                    (f" ({human_duration(event.elapsed_seconds)}{limit})", "dim"),
                )
            )
        else:
            self.stop()
            ok = event.status in ("", "passed", "done")
            mark, style = ("✓", "green") if ok else ("✗", "bold red")
            self.console.print(
                Text.assemble(
                    (f"{mark} ", style),
                    ("drill phase ", "dim"),
                    (event.name, "bold"),
                    f" {event.status or 'done'} after {human_duration(event.elapsed_seconds)}",
                )
            )

    def _status(self, text: Text) -> None:
        assert self.console is not None
        spinner = Spinner("dots", text=text)
        if self.live is None:
            # No refresh thread and no stdout redirection: pytest owns the streams; we redraw per event.
            self.live = Live(
                spinner,
                console=self.console,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.live.start()
        self.live.update(spinner, refresh=True)

    def stop(self) -> None:
        """End the live status line (before anyone else writes to the terminal)."""
        if self.live is not None:
            self.live.stop()
            self.live = None


class ProgressHandler(logging.Handler):
    """A logging handler for the `recovery.progress` logger that hands each Event to `sink`."""

    def __init__(self, sink: Callable[[Event], None]) -> None:
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "turath_event", None)
        if isinstance(event, Event):
            try:
                self.sink(event)
            except Exception:
                self.handleError(record)


def subscribe(sink: Callable[[Event], None]) -> Callable[[], None]:
    """Route progress events to `sink` (and not to the root logger's lines); returns the unsubscribe."""
    logger = logging.getLogger(LOGGER)
    handler = ProgressHandler(sink)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    previous = logger.propagate
    logger.propagate = False

    def unsubscribe() -> None:
        logger.removeHandler(handler)
        logger.propagate = previous

    return unsubscribe


def verdict_plain(results: Mapping[str, Any], evidence: str | None) -> list[str]:
    """The verdict block as plain lines (CI logs, files)."""
    outcome = str(results.get("outcome"))
    word = VERDICTS.get(outcome, outcome.upper())
    head = f"{word}: {results.get('mode')} on {results.get('target')}"
    lines = [f"== {head} ==", *verdict_lines(results)]
    if evidence:
        lines.append(f"Evidence: {evidence}")
    return lines


def print_verdict(console: Console, results: Mapping[str, Any], evidence: str | None) -> None:
    """The verdict block on a terminal: the verdict word on its colour, then the lines."""
    outcome = str(results.get("outcome"))
    lines = verdict_plain(results, evidence)
    console.print(Text(f" {lines[0].strip('= ')} ", style=VERDICT_STYLE.get(outcome, "bold")))
    for line in lines[1:]:
        style = "bold red" if line.startswith("Root cause") or "BREACHED" in line else None
        console.print(Text(line, style=style or ""), soft_wrap=True)


def attach(stream: Any) -> Callable[[], None]:
    """For `python -m recovery`: progress events to `stream` (live on a terminal, plain lines otherwise).

    Returns the unsubscribe. Usage: `done = console.attach(sys.stderr)` before the drill, `done()` after.
    """
    term = Console(file=stream)
    view = ProgressView(term if term.is_terminal else None, lambda line: stream.write(line + "\n"))
    unsubscribe = subscribe(view.handle)

    def detach() -> None:
        view.stop()
        unsubscribe()

    return detach


def print_drill_verdict(stream: Any, summary: Mapping[str, Any], evidence: str | None = None) -> None:
    """The verdict block of a drill run outside pytest, from `steps.summary(ctx)`."""
    failed = bool(summary.get("failed_step") or summary.get("leftovers"))
    results = {
        "mode": "drill",
        "target": summary.get("target"),
        "outcome": "failed" if failed else "passed",
        "drill": summary,
        "root_cause": f"drill step '{summary['failed_step']}' failed" if summary.get("failed_step") else None,
    }
    term = Console(file=stream)
    if term.is_terminal:
        print_verdict(term, results, evidence)
    else:
        stream.write("\n".join(verdict_plain(results, evidence)) + "\n")
