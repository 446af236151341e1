"""evidence.html: the run as a document an auditor files or prints to PDF, built from results.json.

Good: self-contained (inline CSS and SVG, no script, no external asset); read top to bottom it
answers: did it pass, what was covered and by whom, what it proves and what not, how long each
phase took against the objective, which recovery point and why, the §2.1.1 checklist, what each
check saw, failures grouped by root cause with their fix, what was not checked, and the controls.
Every timestamp is ISO-8601 UTC (Z). It links to pytest-html's report.html, which links back.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from recovery.evidence import causes, timeline
from recovery.evidence.model import human_duration, number, rpo, rpo_detail, rto

TITLE = "Turath recovery evidence"
VERDICTS = {"passed": "PASS", "failed": "FAIL", "incomplete": "INCOMPLETE"}
NOT_ACCEPTED = "NOT accepted: the run is incomplete"
LINKS = (("report.html", "test report (pytest-html)"), ("junit.xml", "JUnit XML"), ("results.json", "results.json"))

CSS = Path(__file__).with_name("evidence.css")  # inlined: the document has no external asset


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(rows: Sequence[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows) + "</table>"


def verdict_lines(results: Mapping[str, Any]) -> list[str]:
    """The lines under the verdict word: RTO, RPO, the root cause, what was not checked."""
    lines = []
    drill = results.get("drill")
    if drill:
        lines.append(rto(drill).text())
        detail = rpo_detail(drill)
        lines.append(rpo(drill).text() + (f"; {detail}" if detail else ""))
    if results.get("root_cause"):
        lines.append(f"Root cause: {results['root_cause']}")
    missing = [n for n in results.get("not_checked", []) if n["critical"] and not n["accepted_by"]]
    if missing:
        lines.append(f"Not checked: {', '.join(n['id'] for n in missing)}")
    counts = results.get("summary")
    if counts:
        lines.append(", ".join(f"{counts.get(k, 0)} {k}" for k in ("passed", "failed", "error", "skipped")))
    return lines


def proves(results: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """What this run proves, and what it does not."""
    yes: list[str] = []
    no: list[str] = []
    scope = results.get("scope", {})
    target, mode = results.get("target"), results.get("mode")
    if target == "twin":
        yes.append("the suite and the recovery procedure work end to end against the twin, a stand-in of the account")
        no.append("anything about the real AWS account: run with --target aws for that")
    elif scope.get("endpoint"):
        yes.append(f"the checks against the AWS-compatible endpoint {scope['endpoint']}")
        no.append("anything about AWS itself: the endpoint is not AWS")
    else:
        yes.append(
            f"the state of AWS account {results.get('account')} in {results.get('region')} at the time of the run"
        )
    if mode == "drill":
        drill = results.get("drill") or {}
        point = drill.get("snapshot") or drill.get("recovery_point")
        yes.append(
            f"a restore from {point} into a separate environment, measured (RTO, RPO) and verified by the §5 checks"
        )
        no.append("that production itself can be restored in place, or data newer than the recovery point")
    else:
        yes.append("the backup configuration and the live stack as observed during the run")
        no.append("that a restore works: only a drill (pytest -m drill) restores and counts")
    no.append(
        "content from the §2.1.1 size rule: AllocatedStorage is the instance's provisioned size, not the data; "
        "only a restore-and-count (the drill) proves content"
    )
    for n in results.get("not_checked", []):
        why = f" (accepted by {n['accepted_by']})" if n["accepted_by"] else ""
        no.append(f"{n['id']} (§{n['plan_section']}): not checked: {n['reason']}{why}")
    return yes, no


def _scope(results: Mapping[str, Any]) -> str:
    scope = results.get("scope", {})
    who = scope.get("operator", {})
    ran_by = f"{who.get('user', '?')} on {who.get('host', '?')}" + (" (CI)" if who.get("ci") else "")
    return _table(
        [
            ("Mode", results.get("mode")),
            ("Target", results.get("target")),
            ("Account", results.get("account") or "unknown"),
            ("Region", results.get("region") or "unknown"),
            ("Endpoint", scope.get("endpoint") or "AWS"),
            ("Suite", f"turath-recovery {scope.get('suite_version', '?')}, commit {scope.get('commit') or 'unknown'}"),
            ("Settings digest (sha256, non-secret)", scope.get("settings_digest") or "unknown"),
            ("Ran by", ran_by),
            ("Started", results.get("started_at")),
            ("Finished", results.get("finished_at")),
        ]
    )


def _drill(results: Mapping[str, Any]) -> str:
    drill = results.get("drill")
    if not drill:
        return ""
    trend = results.get("trend") or {}
    flagged = [f["phase"] for f in trend.get("flags", [])]
    critical = [str(name) for name in drill.get("critical_path") or []]
    out = [
        "<h2>Drill timeline</h2>",
        timeline.svg(drill.get("phases", []), number(drill.get("rto_objective_seconds")), flagged, critical),
    ]
    rows = [
        ("Drill id", drill.get("id")),
        ("Critical path (bold)", " → ".join(critical) or "not measured"),
        (rto(drill).name, rto(drill).text().removeprefix("RTO ")),
        (rpo(drill).name, rpo(drill).text().removeprefix("RPO ")),
        ("RPO detail", rpo_detail(drill) or "not measured"),
        ("Leftovers", ", ".join(map(str, drill.get("leftovers") or [])) or "none"),
    ]
    out.append(_table(rows))
    phases = drill.get("phases") or []
    if phases:
        body = "".join(
            f"<tr><td>{_e(p.get('name'))}</td><td>{_e(p.get('started_at'))}</td><td>{_e(p.get('finished_at'))}</td>"
            f"<td class=num>{_e(human_duration(number(p.get('seconds'))))}</td>"
            f"<td class='o-{_e(p.get('outcome'))}'>{_e(p.get('outcome'))}</td></tr>"
            for p in phases
        )
        out.append(
            "<table><tr><th>Phase</th><th>Started</th><th>Finished</th><th>Duration</th><th>Outcome</th></tr>"
            f"{body}</table>"
        )
    out.append("<h2>Recovery point</h2>")
    out.append(
        _table(
            [
                ("Restored from", drill.get("snapshot") or "not chosen (the drill stopped before)"),
                ("Recovery point", drill.get("recovery_point") or "unknown"),
                ("Why this point", recovery_reason(drill, has_table=bool(_checklist_rows(results)))),
            ]
        )
    )
    if trend.get("runs"):
        out.append(_trend(trend))
    return "".join(out)


def recovery_reason(drill: Mapping[str, Any], has_table: bool = False) -> str:
    for key in ("recovery_point_reason", "recovery_reason"):
        if drill.get(key):
            return str(drill[key])
    snapshot = str(drill.get("snapshot") or "")
    if snapshot.startswith("point-in-time"):
        return "point-in-time recovery (requested with --restore-time / TURATH_RESTORE_TIME)"
    if snapshot:
        return "the newest snapshot that passed the §2.1.1 checklist" + (" (see the table below)" if has_table else "")
    return "no recovery point was chosen"


def _trend(trend: Mapping[str, Any]) -> str:
    runs = trend["runs"]
    names: list[str] = []
    for r in runs:
        names.extend(n for n in (r.get("phases") or {}) if n not in names)
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    body = ""
    for r in runs:
        cells = "".join(
            f"<td class=num>{_e(human_duration(number((r.get('phases') or {}).get(n))))}</td>" for n in names
        )
        body += (
            f"<tr><td>{_e(r.get('started_at'))}</td><td class='o-{_e(r.get('outcome'))}'>{_e(r.get('outcome'))}</td>"
            f"<td class=num>{_e(human_duration(number(r.get('rto_seconds'))))}</td>{cells}</tr>"
        )
    flags = "".join(
        f"<li class=breached>{_e(f['phase'])}: {_e(human_duration(f['seconds']))}, {_e(f['why'])}</li>"
        for f in trend.get("flags", [])
    )
    note = f"<ul>{flags}</ul>" if flags else "<p class=muted>No phase beyond its budget or well beyond its median.</p>"
    return (
        f"<h2>Trend (last {len(runs)} {'drill' if len(runs) == 1 else 'drills'} on this target)</h2>"
        f"<table><tr><th>Started</th><th>Outcome</th><th>RTO</th>{head}</tr>{body}</table>{note}"
    )


def _checklist_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list((results.get("drill") or {}).get("checklist") or results.get("snapshot_checklist") or [])


def _checklist(results: Mapping[str, Any]) -> str:
    rows = _checklist_rows(results)
    if not rows:
        return ""
    body = "".join(
        f"<tr><td><code>{_e(r.get('snapshot'))}</code></td><td>{_e(r.get('type'))}</td><td>{_e(r.get('created'))}</td>"
        f"<td class=num>{_e(r.get('age'))}</td><td class=num>{_e(r.get('allocated_gib'))} GiB</td>"
        f"<td>{_e(r.get('status'))}</td>"
        f"<td class='o-{'passed' if r.get('verdict') == 'pass' else 'failed'}'>{_e(r.get('verdict'))}</td>"
        f"<td>{_e('; '.join(r.get('reasons') or []))}</td></tr>"
        for r in rows
    )
    return (
        "<h2>Snapshot checklist (§2.1.1)</h2><table><tr><th>Snapshot</th><th>Type</th><th>Created</th><th>Age</th>"
        f"<th>Size</th><th>Status</th><th>Verdict</th><th>Why</th></tr>{body}</table>"
        "<p class=muted>Size is the instance's provisioned storage, not the data: "
        "only a restore-and-count proves content.</p>"
    )


def _failures(results: Mapping[str, Any]) -> str:
    found = causes.groups(results.get("checks", []), (results.get("drill") or {}).get("failed_step"))
    if not found:
        return ""
    out = ["<h2>Failures by root cause</h2><ol>"]
    for g in found:
        root = g["check"]
        if root is not None:
            out.append(
                f"<li><b>{_e(root['id'])}</b> (§{_e(root['plan_section'])}, {_e(root['severity'])}): "
                f"<pre>{_e(root['message'])}</pre><b>Fix:</b> <pre>{_e(root['remediation'])}</pre></li>"
            )
            continue
        deps = "".join(f"<li>{_e(d['id'])}{_where(d)}</li>" for d in g["dependents"])
        diag = next((d["message"] for d in g["dependents"] if d.get("message")), "")
        out.append(
            f"<li><b>{_e(g['cause'])}</b><pre>{_e(diag.split(' [error:')[0])}</pre>"
            f"Checks that needed it (not evaluated):<ul>{deps}</ul></li>"
        )
    out.append("</ol>")
    return "".join(out)


def _where(c: Mapping[str, Any]) -> str:
    return f" <span class=muted>on {_e(c['environment'])}</span>" if c.get("environment") else ""


def _checks(results: Mapping[str, Any]) -> str:
    body = ""
    for c in results.get("checks", []):
        observed = c.get("observed") or []
        seen = "<ul class=obs>" + "".join(f"<li>{_e(o)}</li>" for o in observed) + "</ul>" if observed else ""
        if c["outcome"] in ("failed", "error"):
            seen += f"<pre>{_e(c['message'])}</pre><b>Fix:</b> <code>{_e(c['remediation'])}</code>"
        elif c["outcome"] == "skipped":
            seen += f"<span class=muted>not checked: {_e(c['message'])}</span>"
        elif not observed:
            seen += "<span class=muted>nothing recorded</span>"
        body += (
            f"<tr><td><b>{_e(c['id'])}</b>{_where(c)}<br><span class=muted>{_e(c.get('title', ''))}</span></td>"
            f"<td>§{_e(c['plan_section'])}</td><td>{_e(c['severity'])}</td>"
            f"<td class='o-{_e(c['outcome'])}'>{_e(c['outcome'])}</td><td>{seen}</td></tr>"
        )
    return (
        "<h2>Checks</h2><table><tr><th>Check</th><th>Plan</th><th>Severity</th><th>Outcome</th>"
        f"<th>Observed</th></tr>{body}</table>"
    )


def _not_checked(results: Mapping[str, Any]) -> str:
    rows = results.get("not_checked") or []
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{_e(n['id'])}</td><td>{_e(n['severity'])}</td><td>{_e(n['reason'])}</td>"
        f"<td>{_e(n['accepted_by'] or (NOT_ACCEPTED if n['critical'] else 'not required'))}</td></tr>"
        for n in rows
    )
    return (
        "<h2>Not checked</h2><table><tr><th>Check</th><th>Severity</th><th>Why</th><th>Skip accepted by</th></tr>"
        f"{body}</table>"
    )


def _controls(results: Mapping[str, Any]) -> str:
    rows = results.get("controls") or []
    if not rows:
        return ""
    body = ""
    for c in rows:
        checks = ", ".join(f"{m['id']} ({m['outcome']})" for m in c["checks"])
        drill = ", ".join(
            f"{e['what']} ({ {True: 'shown', False: 'failed', None: 'not shown'}[e['shown']] })"
            for e in c["drill_evidence"]
        )
        missing = f"<br><span class=muted>missing: {_e(', '.join(c['missing']))}</span>" if c["missing"] else ""
        body += (
            f"<tr><td><b>{_e(c['framework'])} {_e(c['id'])}</b><br>{_e(c['title'])}</td><td>{_e(c['asks'])}</td>"
            f"<td>{_e(checks)}{'<br>Drill: ' + _e(drill) if drill else ''}</td>"
            f"<td class='o-{_e(c['outcome'].replace(' ', '-'))}'>{_e(c['outcome'])}{missing}</td></tr>"
        )
    return (
        "<h2>Controls</h2><p class=muted>What each control asks is in our own words; the mapping is "
        "recovery/evidence/controls.json.</p><table><tr><th>Control</th><th>What it asks</th>"
        f"<th>Evidence in this run</th><th>Outcome</th></tr>{body}</table>"
    )


def render(results: Mapping[str, Any]) -> str:
    """The whole document from a results.json document (already scrubbed)."""
    outcome = str(results.get("outcome"))
    word = VERDICTS.get(outcome, outcome.upper())
    lines = "".join(f"<div>{_e(line)}</div>" for line in verdict_lines(results))
    yes, no = proves(results)
    links = "".join(f'<a href="{name}">{_e(label)}</a>' for name, label in LINKS)
    manifest = results.get("manifest") or {}
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{TITLE}: {_e(results.get('mode'))} on {_e(results.get('target'))}, "
        f"{_e(results.get('started_at'))}</title>"
        f"<style>{CSS.read_text(encoding='utf-8')}</style></head><body>"
        f"<h1>{TITLE}: {_e(results.get('mode'))} on {_e(results.get('target'))}</h1>"
        f"<div class=muted>{_e(results.get('started_at'))} to {_e(results.get('finished_at'))}</div>"
        f"<div class='verdict v-{_e(outcome)}' id=verdict><div class=word>{_e(word)}</div>{lines}</div>"
        f"<div class=links>{links}</div>"
        f"<h2>Scope</h2>{_scope(results)}"
        "<h2>What this run proves, and what it does not</h2>"
        "<p><b>Proves</b></p><ul>" + "".join(f"<li>{_e(y)}</li>" for y in yes) + "</ul>"
        "<p><b>Does not prove</b></p><ul>" + "".join(f"<li>{_e(n)}</li>" for n in no) + "</ul>"
        f"{_drill(results)}{_checklist(results)}{_failures(results)}{_not_checked(results)}{_checks(results)}"
        f"{_controls(results)}"
        "<h2>Integrity</h2><p>"
        + _e(manifest.get("verify") or "see SHA256SUMS beside this file")
        + "</p></body></html>\n"
    )
