"""Every checkable plan section has a check, and every check names a section of the plan."""

from __future__ import annotations

import re

from checks.plan_sections import BY_NUMBER, PLAN
from tests.conftest import ROOT
from tests.test_fault_matrix import all_checks

PLAN_FILE = ROOT.parent / "shared" / "recovery-plan.md"


def test_every_checkable_section_has_a_check() -> None:
    sections = {meta.plan_section for meta in all_checks().values()}
    uncovered = [
        s.number
        for s in PLAN
        if not s.not_checkable and not any(c == s.number or c.startswith(s.number + ".") for c in sections)
    ]
    assert uncovered == [], f"checkable plan sections without a check: {uncovered}"


def test_every_check_names_a_known_section() -> None:
    unknown = {cid: m.plan_section for cid, m in all_checks().items() if m.plan_section not in BY_NUMBER}
    assert unknown == {}


def test_catalogue_lists_the_plans_sections() -> None:
    """The catalogue follows the plan's own numbering (headings ### 2.1, ### 6.3, ...)."""
    if not PLAN_FILE.exists():
        return  # the plan lives beside the repo (../shared); a bare clone cannot see it
    text = PLAN_FILE.read_text()
    headings = set(re.findall(r"^###+ (\d+(?:\.\d+)*)\s", text, flags=re.M))
    headings |= set(re.findall(r"^## (\d+)\.\s", text, flags=re.M))
    for number in headings - {"1"}:
        assert number in BY_NUMBER, f"plan section {number} is missing from checks/plan_sections.py"
