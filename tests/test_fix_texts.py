"""Every fix text reads as it will be followed (DESIGN invariant 7, issue 13 item 6): no placeholder left for
the reader to fill, the plan section named once, no personal path, and each service's own log group.

Rendered here with the default settings and with realistic context: each service, production and a drill's
copy, a moved TURATH_LOG_GROUP, and the status-specific fixes rds_instance_available records. The fixes the
checks print for what they saw on a broken twin are scanned the same way by tests/test_fault_matrix.py.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from checks.rds.test_instance import DESCRIBE, FIXES
from fixtures.meta import CheckMeta, Remedy
from recovery.environment import RECOVERED, Environment, production, service_log_group
from recovery.settings import Settings, load_settings
from tests.conftest import fix_text_problems
from tests.test_fault_matrix import all_checks

PER_SERVICE = re.compile(r"\{(?:service|service_\w+|\w+_service)\}")  # filled from the check's `service`
LOG_GROUP = re.compile(r"(?:aws logs tail|--log-group-name) (?P<group>[^\s;|]+)")


def _settings() -> list[Settings]:
    defaults = load_settings(environ={}, dotenv_path=None)
    # Terraform moved the groups (fault log-group-misnamed): the suite is told web-ui's new one.
    return [defaults, replace(defaults, log_group="/ecs/invenio-default-web-ui")]


def _drill_copy(s: Settings) -> Environment:
    prefix = "invenio-default-drill-d1"
    return Environment(
        kind=RECOVERED,
        label="drill d1",
        site_url=f"https://{prefix}.example.org",
        db=None,
        cluster=f"{prefix}-cluster",
        services={svc: f"{prefix}-{svc}" for svc in s.ecs_services},
        log_groups={svc: f"/{prefix}/{svc}" for svc in s.web_services},
    )


def _contexts(meta: CheckMeta, s: Settings) -> list[dict[str, object]]:
    """The parameters a check is rendered with in a run: a per-service check always knows its service."""
    if PER_SERVICE.search(meta.remediation):
        return [{"service": svc} for svc in s.ecs_services]
    return [{}, {"environment": production(s)}, {"environment": _drill_copy(s)}]


@pytest.mark.parametrize("check_id", sorted(all_checks()))
def test_every_fix_text_is_complete(check_id: str) -> None:
    meta = all_checks()[check_id]
    for s in _settings():
        for params in _contexts(meta, s):
            text = meta.remediation_for(s, params)
            assert not fix_text_problems(meta.plan_section, text), (params, text)


def _groups_named(meta: CheckMeta, s: Settings, service: str) -> set[str]:
    return {m["group"] for m in LOG_GROUP.finditer(meta.remediation_for(s, {"service": service}))}


def test_a_per_service_fix_names_that_service_s_log_group() -> None:
    per_service = {cid: meta for cid, meta in all_checks().items() if "{service_log_group}" in meta.remediation}
    assert per_service, "no per-service fix names a log group: nothing to prove"
    for s in _settings():
        web_ui = s.web_services[0]
        for svc in s.ecs_services:
            own = service_log_group(s.log_group, web_ui, svc)
            for cid, meta in per_service.items():
                assert _groups_named(meta, s, svc) == {own}, (cid, svc, s.log_group)
    # /invenio-default/worker beside web-ui's by default; /ecs/invenio-default-worker once the groups moved.
    assert [service_log_group(s.log_group, "web-ui", "worker") for s in _settings()] == [
        "/invenio-default/worker",
        "/ecs/invenio-default-worker",
    ]


@pytest.mark.parametrize("status", sorted(FIXES))
def test_each_instance_status_fix_is_complete(status: str) -> None:
    """rds_instance_available records its status's own fix, with what it saw (the values it passes)."""
    meta = all_checks()["rds_instance_available"]
    seen = {"allocated": "100", "grown": "120", "kms_key": "arn:aws:kms:us-east-1:111122223333:key/k1"}
    seen |= {"parameter_group": "invenio-default-pg16", "instance_class": "db.t4g.medium"}
    for s in _settings():
        text = meta.remediation_for(s, None, Remedy(DESCRIBE + "; " + FIXES[status], seen))
        assert not fix_text_problems(meta.plan_section, text), text
        assert s.rds_instance in text


def test_the_scan_finds_what_issue_13_saw() -> None:
    """The problems the issue reported, each found (the scan can fail)."""
    assert fix_text_problems("6.1", "plan §6.1 - terraform apply") == ["the section named twice"]
    assert fix_text_problems("3", "cd ~/Projects/turath-infra && terraform apply") == ["personal path '~/'"]
    assert fix_text_problems("6.5", "aws ecs update-service --service <SERVICE> --task-definition {x}") == [
        "placeholder '<SERVICE>'",
        "unfilled field '{x}'",
    ]
    assert fix_text_problems("6.1", "terraform console <<< 'random_password.x.result'") == []
