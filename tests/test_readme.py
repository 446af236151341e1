"""The README stays true: its plan-section index is generated from checks/plan_sections.py and the
check registry, so every § the suite prints resolves in a clone (the plan itself is not shipped);
its exit-code table matches recovery/errors.py.

Regenerate the index with: TURATH_UPDATE_DOCS=1 pytest tests/test_readme.py
"""

from __future__ import annotations

import os
import re

from checks.plan_sections import PLAN
from recovery import errors
from tests.conftest import ROOT
from tests.test_fault_matrix import all_checks

README = ROOT / "README.md"
START, END = (
    "<!-- plan-index:start (generated: TURATH_UPDATE_DOCS=1 pytest tests/test_readme.py) -->",
    "<!-- plan-index:end -->",
)


def plan_index() -> str:
    checks = all_checks()
    rows = ["| § | the plan's section, in our words | proven by |", "|---|---|---|"]
    for section in PLAN:
        ids = sorted(c.id for c in checks.values() if c.plan_section == section.number)
        covered = ", ".join(f"`{i}`" for i in ids) if ids else ""
        if section.not_checkable:
            covered = f"{covered}; {section.not_checkable}" if covered else section.not_checkable
        rows.append(f"| §{section.number} | {section.title} | {covered or 'its subsections'} |")
    return "\n".join(rows)


def test_readme_plan_index_is_generated_from_the_plan_sections() -> None:
    text = README.read_text(encoding="utf-8")
    assert START in text, "README lacks the plan-section index markers"
    assert END in text, "README lacks the plan-section index markers"
    current = text.split(START, 1)[1].split(END, 1)[0].strip()
    expected = plan_index()
    if os.environ.get("TURATH_UPDATE_DOCS") and current != expected:
        head, rest = text.split(START, 1)
        README.write_text(f"{head}{START}\n{expected}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")
        current = expected
    assert current == expected, "README's plan index is stale: TURATH_UPDATE_DOCS=1 pytest tests/test_readme.py"


def test_every_section_the_suite_prints_is_in_the_index() -> None:
    listed = {s.number for s in PLAN}
    printed = {c.plan_section for c in all_checks().values()}
    text = README.read_text(encoding="utf-8")
    printed |= set(re.findall(r"§(\d+(?:\.\d+)*)", text))
    assert printed <= listed, printed - listed


def test_readme_lists_every_exit_code() -> None:
    text = README.read_text(encoding="utf-8")
    codes = {name: value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    for name, value in codes.items():
        assert re.search(rf"^\| {value} \|.*`{name}`", text, re.M), f"README's exit-code table lacks {name} = {value}"


def test_readme_commands_are_platform_neutral() -> None:
    text = README.read_text(encoding="utf-8")
    assert not re.search(r"^\s*open \S", text, re.M), "`open` is macOS-only"
    assert "../shared/" not in text, "a clone has no ../shared: point at the plan index instead"
    assert "~/Projects" not in text
