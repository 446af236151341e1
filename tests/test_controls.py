"""The compliance mapping (recovery/evidence/controls.json) names only checks that exist, covers the
controls the issue asks for, and judges a control from the run's outcomes."""

from __future__ import annotations

from recovery.evidence import controls
from tests.test_fault_matrix import all_checks

REQUIRED = {
    ("ISO/IEC 27001:2022", "A.8.13"),
    ("ISO/IEC 27001:2022", "A.5.30"),
    ("SOC 2 (2017 TSC)", "A1.2"),
    ("SOC 2 (2017 TSC)", "A1.3"),
    ("NIST SP 800-53 Rev. 5", "CP-4"),
    ("NIST SP 800-53 Rev. 5", "CP-9"),
    ("NIST SP 800-53 Rev. 5", "CP-9(1)"),
    ("NIST SP 800-53 Rev. 5", "CP-10"),
    ("DORA (EU) 2022/2554", "Art. 11(6)"),
    ("DORA (EU) 2022/2554", "Art. 12(2)"),
    ("DORA (EU) 2022/2554", "Art. 12(3)"),
    ("DORA (EU) 2022/2554", "Art. 12(7)"),
    ("NIS2 Implementing Regulation (EU) 2024/2690", "Annex 4.2"),
}


def test_every_named_check_exists_in_the_registry() -> None:
    known = set(all_checks())
    for control in controls.load():
        missing = set(control["checks"]) - known
        assert not missing, f"{control['framework']} {control['id']} names unknown checks {missing}"
        assert set(control["drill"]) <= set(controls.DRILL_EVIDENCE), control["id"]
        assert control["asks"].strip()
        assert control["checks"] or control["drill"], f"{control['id']} is answered by nothing"


def test_the_required_controls_are_all_mapped() -> None:
    assert {(c["framework"], c["id"]) for c in controls.load()} >= REQUIRED


def _check(check_id: str, outcome: str) -> dict[str, str]:
    return {"id": check_id, "outcome": outcome}


def test_a_control_is_met_only_when_all_its_evidence_passed() -> None:
    mapping = [{"framework": "F", "id": "C", "title": "t", "asks": "a", "checks": ["a", "b"], "drill": ["rto"]}]
    drill = {"phases": [{"name": "verify", "outcome": "passed"}], "rto_seconds": 10, "rto_objective_seconds": 60}
    both = [_check("a", "passed"), _check("b", "passed")]
    assert controls.judge(mapping, both, drill)[0]["outcome"] == controls.MET
    failed = [_check("a", "passed"), _check("b", "failed")]
    assert controls.judge(mapping, failed, drill)[0]["outcome"] == controls.NOT_MET
    health = controls.judge(mapping, both, None)[0]
    assert health["outcome"] == controls.PARTLY
    assert health["missing"] == ["RTO measured within its objective"]
    none = controls.judge(mapping, [], None)[0]
    assert none["outcome"] == controls.NOT_EVIDENCED
    slow = {**drill, "rto_seconds": 120}
    assert controls.judge(mapping, both, slow)[0]["outcome"] == controls.NOT_MET
