"""The fault matrix: each catalogued fault makes exactly its checks fail, with its plan section.

Every health check is broken by at least one fault (a check that cannot fail is a defect), the
healthy twin fails none, and docs/fault-matrix.md is kept in sync with the catalog.
Regenerate the document with: TURATH_UPDATE_DOCS=1 pytest tests/test_fault_matrix.py
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

import pytest

from fixtures.meta import REGISTRY, CheckMeta
from tests.conftest import ROOT, SuiteRun, clean_env, fix_text_problems, twin_env
from twin.core import Twin
from twin.faults import CATALOG, FAULTS, RECOVERED

DOC = ROOT / "docs" / "fault-matrix.md"


def all_checks() -> dict[str, CheckMeta]:
    """The checks of checks/ (REGISTRY also holds those the pytester runs of other tests declare)."""
    found: dict[str, CheckMeta] = {}
    for path in sorted((ROOT / "checks").rglob("test_*.py")):
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for name in vars(module):
            if name.startswith("test_") and name.removeprefix("test_") in REGISTRY:
                found[name.removeprefix("test_")] = REGISTRY[name.removeprefix("test_")]
    return found


def health_checks() -> dict[str, CheckMeta]:
    return {k: v for k, v in all_checks().items() if "health" in v.modes}


def test_healthy_twin_fails_nothing(run_suite: Callable[..., SuiteRun], fresh_twin: Twin) -> None:
    run = run_suite("-m", "health", env=twin_env(fresh_twin))
    assert run.returncode == 0, run.stdout[-4000:]
    assert run.failing() == set()
    assert {c["id"] for c in run.results["checks"]} == set(health_checks())


@pytest.mark.parametrize("name", [f.name for f in FAULTS if f.health])
def test_fault_fails_exactly_its_checks(run_suite: Callable[..., SuiteRun], fresh_twin: Twin, name: str) -> None:
    fault = CATALOG[name]
    fresh_twin.apply_faults((name,))
    run = run_suite("-m", "health", env=twin_env(fresh_twin))
    assert run.failing() == set(fault.health), run.stdout[-4000:]
    checks = health_checks()
    for entry in run.results["checks"]:
        if entry["outcome"] == "failed":
            section = checks[entry["id"]].plan_section
            assert entry["message"].startswith(f"§{section} {entry['id']}:"), entry["message"]
            assert entry["remediation"], entry
            # The fix as printed for what the check saw on this account: complete, nothing left to fill.
            assert not fix_text_problems(section, entry["remediation"]), entry["remediation"]


@pytest.mark.parametrize("name", [f.name for f in FAULTS if not f.health and not f.drill])
def test_ordinary_day_fails_nothing(run_suite: Callable[..., SuiteRun], fresh_twin: Twin, name: str) -> None:
    """Catalogued conditions of a healthy live account (tonight's snapshot being created): no false alarm."""
    fresh_twin.apply_faults((name,))
    run = run_suite("-m", "health", env=twin_env(fresh_twin))
    assert run.returncode == 0, run.stdout[-4000:]
    assert run.failing() == set(), run.stdout[-4000:]


def _fault_args(names: tuple[str, ...]) -> list[str]:
    return [arg for name in names for arg in ("--twin-fault", name)]


def test_faults_combine_on_the_command_line(run_suite: Callable[..., SuiteRun]) -> None:
    """`--twin-fault` is repeatable on the default twin; together the faults fail the union of their checks."""
    names = ("retention-short", "s3-versioning-suspended", "stale-deployment", "index-stale")
    run = run_suite("-m", "health", *_fault_args(names), env=clean_env())
    assert run.results["target"] == "twin"
    expected = {check for name in names for check in CATALOG[name].health}
    assert run.failing() == expected, run.stdout[-4000:]


@pytest.mark.slow
def test_faults_combine_in_a_drill(run_suite: Callable[..., SuiteRun]) -> None:
    """The same on `pytest -m drill`: a restored copy without an admin, and a teardown that cannot finish."""
    names = ("no-admin-user", "teardown-blocked")
    run = run_suite("-m", "drill", *_fault_args(names), env=clean_env(), timeout=300)
    expected = {check for name in names for check in CATALOG[name].drill}
    assert run.failing() == expected, run.stdout[-4000:]
    assert run.results["drill"]["leftovers"], "the blocked teardown must show as a leftover"


def test_every_health_check_can_fail() -> None:
    broken = {check for fault in FAULTS for check in fault.health}
    never = sorted(set(health_checks()) - broken)
    assert never == [], f"no fault breaks these checks: {never}"


def test_catalog_names_only_real_checks() -> None:
    checks = all_checks()
    known = set(checks)
    per_environment = {cid for cid, meta in checks.items() if meta.per_environment}
    assert set(RECOVERED) == per_environment, "twin.faults.RECOVERED must list the checks run on the recovered copy"
    for fault in FAULTS:
        assert set(fault.health) <= known, (fault.name, set(fault.health) - known)
        assert set(fault.drill) <= known, (fault.name, set(fault.drill) - known)
        assert fault.sections, fault.name
    assert any(not f.health and not f.drill for f in FAULTS), "an ordinary-day condition keeps the checks honest"


def render_matrix() -> str:
    checks = all_checks()
    lines = [
        "# Fault matrix",
        "",
        "Generated from `twin/faults.py` and the checks' metadata; `tests/test_fault_matrix.py` keeps it in",
        "sync and proves each row. Reproduce a row: `pytest -m health --twin-fault NAME`.",
        "",
        "| fault | plan | what happens | mode | checks that must fail (plan section) |",
        "|---|---|---|---|---|",
    ]
    for f in FAULTS:
        failing = ", ".join(
            [f"`{c}` (§{checks[c].plan_section})" for c in f.health if c in checks]
            + [f"`{c}{_on_recovered(checks[c])}` (§{checks[c].plan_section})" for c in f.drill if c in checks]
        )
        sections = ", ".join(f"§{s}" for s in f.sections)
        mode = ", ".join(f.modes) or "none (an ordinary day)"
        lines.append(f"| `{f.name}` | {sections} | {f.summary} | {mode} | {failing or 'none'} |")
    lines += ["", "## Checks and the faults that break them", "", "| check | plan | severity | broken by |"]
    lines.append("|---|---|---|---|")
    for cid, meta in sorted(checks.items(), key=lambda kv: (kv[1].plan_section, kv[0])):
        by = ", ".join(f"`{f.name}`" for f in FAULTS if cid in (*f.health, *f.drill)) or "—"
        lines.append(f"| `{cid}` | §{meta.plan_section} | {meta.severity} | {by} |")
    return "\n".join(lines) + "\n"


def _on_recovered(meta: CheckMeta) -> str:
    """A per-environment check failing in a drill looks at the recovered copy, not production."""
    return "[recovered]" if meta.per_environment else ""


def test_fault_matrix_document_in_sync() -> None:
    text = render_matrix()
    if os.environ.get("TURATH_UPDATE_DOCS"):
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text)
    assert DOC.exists(), "docs/fault-matrix.md is missing: TURATH_UPDATE_DOCS=1 pytest tests/test_fault_matrix.py"
    assert DOC.read_text() == text, (
        "docs/fault-matrix.md is out of date: TURATH_UPDATE_DOCS=1 pytest tests/test_fault_matrix.py"
    )
