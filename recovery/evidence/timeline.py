"""The drill as a Gantt chart (inline SVG): each phase at its start offset, an axis in readable
units whether the drill took seconds (twin) or hours (AWS), and the RTO objective as a marker.

Good: self-contained (no script, no external asset), prints on paper, readable without colour
(each bar is labelled with its duration and outcome).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recovery.evidence.model import human_duration, number, parse_time

_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
COLOURS = {"passed": "#2f6fb7", "failed": "#b3261e", "error": "#b3261e", "running": "#8a8a8a"}


@dataclass(frozen=True)
class Bar:
    name: str
    offset: float
    seconds: float
    outcome: str
    over_budget: bool = False
    critical: bool = False


def bars(phases: Sequence[Mapping[str, Any]], flagged: Sequence[str] = (), critical: Sequence[str] = ()) -> list[Bar]:
    """Phases with their offset from the first start (a phase without times follows the previous)."""
    starts = [parse_time(p.get("started_at")) for p in phases]
    origin = min((s for s in starts if s is not None), default=None)
    out: list[Bar] = []
    cursor = 0.0
    for phase, start in zip(phases, starts, strict=True):
        offset = (start - origin).total_seconds() if start is not None and origin is not None else cursor
        seconds = number(phase.get("seconds"))
        if seconds is None:
            end = parse_time(phase.get("finished_at"))
            seconds = (end - start).total_seconds() if end is not None and start is not None else 0.0
        name = str(phase.get("name", "?"))
        outcome = str(phase.get("outcome") or ("passed" if phase.get("finished_at") else "running"))
        out.append(Bar(name, offset, max(seconds, 0.0), outcome, name in flagged, name in critical))
        cursor = offset + max(seconds, 0.0)
    return out


def tick_step(horizon: float, most: int = 8) -> float:
    """The smallest round step (1 s ... 1 d) that draws at most `most` ticks over `horizon`."""
    for step in _STEPS:
        if horizon / step <= most:
            return float(step)
    return float(_STEPS[-1] * max(1, round(horizon / _STEPS[-1] / most)))


def tick_label(seconds: float, step: float) -> str:
    if step < 60:
        return f"{seconds:.0f} s"
    if step < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def svg(
    phases: Sequence[Mapping[str, Any]],
    objective: float | None,
    flagged: Sequence[str] = (),
    critical: Sequence[str] = (),
) -> str:
    """The Gantt chart of the drill's phases against the RTO objective; the critical path in bold."""
    rows = bars(phases, flagged, critical)
    used = max([b.offset + b.seconds for b in rows], default=0.0)
    # An objective far beyond the phases (1 h against a 10 s twin drill) would squash every bar
    # to a pixel: the axis then ends after the phases and the marker says where the objective is.
    on_axis = objective is not None and objective <= 3 * max(used, 1.0)
    horizon = (max(used, objective or 0.0) if on_axis else used) or 1.0
    horizon *= 1.04
    step = tick_step(horizon)
    label_w, plot_w, row_h, top = 130, 560, 26, 8
    scale = plot_w / horizon
    axis_y = top + row_h * len(rows) + 4
    height = axis_y + 44
    width = label_w + plot_w + 150
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="drill timeline" font-family="sans-serif" font-size="12">'
    ]
    tick = 0.0
    while tick <= horizon:
        x = label_w + tick * scale
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#444">{tick_label(tick, step)}</text>'
        )
        tick += step
    parts.append(f'<line x1="{label_w}" y1="{axis_y}" x2="{label_w + plot_w}" y2="{axis_y}" stroke="#444"/>')
    for i, bar in enumerate(rows):
        y = top + i * row_h
        x = label_w + bar.offset * scale
        w = max(bar.seconds * scale, 2.0)
        colour = COLOURS.get(bar.outcome, COLOURS["running"])
        stroke = ' stroke="#e08a00" stroke-width="3"' if bar.over_budget else ""
        note = f"{human_duration(bar.seconds)}" + (f" {bar.outcome}" if bar.outcome != "passed" else "")
        note += " (over budget)" if bar.over_budget else ""
        weight = ' font-weight="bold" class="critical"' if bar.critical else ""
        parts.append(f'<text x="0" y="{y + 15}"{weight}>{html.escape(bar.name)}</text>')
        parts.append(
            f'<rect class="phase phase-{html.escape(bar.outcome)}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" '
            f'height="16" fill="{colour}"{stroke}>'
            f"<title>{html.escape(bar.name)}: starts at +{human_duration(bar.offset)}, lasts {html.escape(note)}"
            "</title></rect>"
        )
        parts.append(f'<text x="{x + w + 4:.1f}" y="{y + 15}" fill="#222">{html.escape(note)}</text>')
    if objective and not on_axis:
        share = 100 * used / objective
        parts.append(
            f'<text class="rto-objective" x="{label_w + plot_w:.1f}" y="{axis_y + 32}" text-anchor="end" '
            f'fill="#b3261e">RTO objective {human_duration(objective)} lies beyond this axis: '
            f"the phases used {share:.1f} % of it</text>"
        )
    elif objective:
        x = label_w + objective * scale
        parts.append(
            f'<line class="rto-objective" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y + 18}" '
            'stroke="#b3261e" stroke-width="2" stroke-dasharray="6 3"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 32}" text-anchor="middle" fill="#b3261e">'
            f"RTO objective {human_duration(objective)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
