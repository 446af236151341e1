"""policies/*.json: lint-clean for parliament, exactly what the runs call, enforced by the twin.

The twin authorises every call at its endpoint (twin/iam.py): actions and resource ARNs are
judged, conditions are NOT (neither moto nor the twin knows a resource's tags the way IAM does).
The tag and name conditions of drill.json are proven here from the recorded calls instead: every
create carries `drill-id=<id>` and every later change targets a resource named for that drill.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from parliament import analyze_policy_string

from recovery.drill.context import DrillContext
from recovery.errors import PermissionMissing, StepFailed
from recovery.policies import DRILL, HEALTH, MODES, OPTIONAL, POLICY_DIR, TOOLS, Policy, load, matches, policy_file_for
from tests.conftest import ROOT, SuiteRun, twin_env
from twin.awsserver import Operation
from twin.core import Twin

FILES = sorted(p.name for p in POLICY_DIR.glob("*.json"))
# Describe/List calls that IAM cannot scope to a resource are granted on "*"; parliament notes it.
EXPECTED_FINDINGS = {"RESOURCE_STAR"}


def test_every_policy_file_is_known_and_every_known_file_exists() -> None:
    assert set(FILES) == {HEALTH, DRILL, TOOLS, *OPTIONAL}


@pytest.mark.parametrize("file", FILES)
def test_policy_is_lint_clean_for_parliament(file: str) -> None:
    findings = analyze_policy_string((POLICY_DIR / file).read_text()).findings
    unexpected = [(f.issue, f.detail) for f in findings if f.issue not in EXPECTED_FINDINGS]
    assert unexpected == [], f"policies/{file}: {unexpected}"


def test_parliament_would_catch_an_unknown_action_or_condition() -> None:
    """The lint above proves something only if parliament flags what we claim it flags."""
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["ecs:CreateClusterX"], "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup"],
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
        ],
    }
    issues = {f.issue for f in analyze_policy_string(json.dumps(doc)).findings}
    assert {"UNKNOWN_ACTION", "UNKNOWN_CONDITION_FOR_ACTION"} <= issues


def test_health_policy_is_read_only() -> None:
    reads = ("Describe", "List", "Get", "Filter", "ESHttpGet")
    # kms:Decrypt changes nothing: it lets GetSecretValue / GetParameter read a value under a
    # customer-managed key (health.json allows it only through those two services, kms:ViaService).
    writes = [a for a in load(HEALTH).actions() if not a.split(":")[1].startswith(reads) and a != "kms:Decrypt"]
    assert writes == []


def test_every_drill_mutation_is_scoped_by_name_and_tag() -> None:
    """Each mutating statement names drill resources and carries a drill condition.

    Named only: the lock parameter (one per account, no tag condition makes sense), the task roles
    (iam:PassRole, limited to ECS tasks). ecs:DeregisterTaskDefinition has no resource in IAM.
    """
    named = re.compile(
        r"invenio-drill-|drill-lock|role/invenio-default-task|:snapshot:|:subgrp:|:pg:|:og:|auto-backup|:db:invenio-default-rds"
    )
    for s in load(DRILL).statements:
        writes = [a for a in s["Action"] if not a.split(":")[1].startswith(("Describe", "List", "Get"))]
        if not writes or writes == ["ecs:DeregisterTaskDefinition"]:
            continue
        resources = [s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]
        assert all(named.search(r) for r in resources), f"{s['Sid']} reaches beyond the drill: {resources}"
        condition = json.dumps(s.get("Condition", {}))
        if s["Sid"] == "DrillLockParameter":
            continue
        if writes == ["iam:PassRole"]:
            assert s["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
            continue
        assert re.search(r"aws:(Request|Resource)Tag/drill-id|cluster/invenio-drill-", condition), s["Sid"]
        if any(
            a.split(":")[1].startswith(
                ("CreateCluster", "CreateService", "Register", "Restore", "CreateLo", "CreateTarget")
            )
            for a in writes
        ):
            assert "aws:RequestTag/drill-id" in condition, f"{s['Sid']}: a create must carry the drill's tag"


@pytest.mark.parametrize(
    ("patterns", "value", "expected"),
    [
        ("s3:GetBucket*", "s3:GetReplicationConfiguration", False),
        ("s3:GetBucket*", "s3:getbucketversioning", True),
        (
            "arn:aws:ecs:*:*:cluster/invenio-drill-*",
            "arn:aws:ecs:eu-central-1:1:cluster/invenio-drill-d1-cluster",
            True,
        ),
        (
            "arn:aws:ecs:*:*:cluster/invenio-drill-*",
            "arn:aws:ecs:eu-central-1:1:cluster/invenio-default-cluster",
            False,
        ),
        ("arn:aws:s3:::a.b?c", "arn:aws:s3:::a.bxc", True),
        ("arn:aws:s3:::a.b", "arn:aws:s3:::axb", False),  # '.' is not a wildcard
    ],
)
def test_wildcards_match_as_iam_matches_them(patterns: str, value: str, expected: bool) -> None:
    assert matches(patterns, value, case=not value.startswith("s3:")) is expected


def test_a_missing_action_is_attributed_to_the_file_that_grants_it_or_should() -> None:
    assert policy_file_for("ecs:CreateCluster", "arn:aws:ecs:r:1:cluster/invenio-drill-d123456-cluster", "drill") == (
        "policies/drill.json",
        True,
    )
    assert policy_file_for("s3:GetBucketWebsite", "arn:aws:s3:::invenio-default-files", "health") == (
        "policies/health.json",
        False,
    )
    assert policy_file_for("ecs:CreateCluster", "arn:aws:ecs:r:1:cluster/prod", "health") == (
        "policies/drill.json",
        False,
    )


def _table() -> str:
    rows = ["| file | held by | actions |", "|---|---|---|"]
    for file in FILES:
        holders = " and ".join(mode for mode, files in MODES.items() if file in files)
        purpose = f" ({OPTIONAL[file]})" if file in OPTIONAL else ""
        actions = ", ".join(f"`{a}`" for a in sorted(set(load(file).actions())))
        rows.append(f"| [`policies/{file}`](policies/{file}) | {holders}{purpose} | {actions} |")
    return "\n".join(rows)


def test_readme_permission_table_is_generated_from_the_files() -> None:
    """The README's table is the files' content; regenerate with `python -m tests.test_policies`."""
    readme = (ROOT / "README.md").read_text()
    begin, end = "<!-- policies:begin -->", "<!-- policies:end -->"
    assert begin in readme
    assert end in readme
    current = readme.split(begin, 1)[1].split(end, 1)[0].strip()
    assert current == _table(), "README permission table is stale: run python -m tests.test_policies"


# ---- on the twin: the runs call exactly what the files grant, and a missing action is one line ----


def _suite_ops(twin: Twin, principal: str) -> list[Operation]:
    return [o for o in twin.operations() if o.principal == principal]


def health_env(twin: Twin) -> dict[str, str]:
    assert twin.info is not None
    env = twin_env(twin)
    env.update(AWS_ACCESS_KEY_ID=twin.info.health_access_key, AWS_SECRET_ACCESS_KEY=twin.info.health_secret_key)
    return env


@pytest.mark.slow
def test_health_calls_exactly_what_health_json_grants(run_suite: Callable[..., SuiteRun], fresh_twin: Twin) -> None:
    # Shaped so that every grant is used: settings delivered through Secrets Manager and SSM,
    # encrypted with a customer-managed key (read through the services, kms:ViaService).
    fresh_twin.apply_profiles(("secrets-manager", "ssm-parameters", "kms"))
    run = run_suite("-m", "health", "-n", "2", env=health_env(fresh_twin))
    assert run.returncode == 0, run.stdout[-3000:]
    ops = _suite_ops(fresh_twin, "turath-health")
    assert len(ops) > 20
    assert [o.denied for o in ops if o.denied] == []
    called = {a.action for o in ops for a in o.accesses if a.action != "sts:GetCallerIdentity"}
    granted = set(load(HEALTH).actions())
    assert called == granted, (
        f"called but not granted: {called - granted}; granted but never called: {granted - called}"
    )


@pytest.mark.slow
def test_drill_calls_only_what_its_files_grant_on_drill_resources(
    run_suite: Callable[..., SuiteRun], fresh_twin: Twin
) -> None:
    run = run_suite("-m", "drill", env={**twin_env(fresh_twin), "TURATH_DRILL_POLL_SECONDS": "0.5"})
    assert run.returncode == 0, run.stdout[-3000:]
    ops = _suite_ops(fresh_twin, "turath-drill")
    assert [o.denied for o in ops if o.denied] == []
    policies: list[Policy] = [load(f) for f in MODES["drill"]]
    for o in ops:
        for a in o.accesses:
            if a.action != "sts:GetCallerIdentity":
                assert any(p.allows(a.action, a.resource) for p in policies), f"{a.action} on {a.resource}"
    # The conditions the twin does not evaluate, proven from the calls: every create carries the
    # drill's tag (aws:RequestTag), every later change names that drill's resources (aws:ResourceTag).
    creates = [o for o in ops if not o.read_only and o.name.startswith(("Create", "Register", "Restore"))]
    assert len(creates) >= 8
    ids = {v for o in creates for k, v in o.tags if k == "drill-id"}
    assert len(ids) == 1, [(o.name, o.tags) for o in creates]
    drill_id = ids.pop()
    untagged = [o.name for o in creates if ("drill-id", drill_id) not in o.tags and o.name != "CreateRule"]
    assert untagged == []
    for o in ops:
        if o.read_only:
            continue
        for a in o.accesses:
            # What the restore reads (production's snapshot or instance) and the roles it hands on.
            if a.action == "iam:PassRole" or (a.action.startswith("rds:Restore") and "drill-" not in a.resource):
                continue
            assert f"drill-{drill_id}" in a.resource or a.resource.endswith("/turath-recovery/drill-lock"), (
                f"{a.action} on {a.resource} is not a resource of drill {drill_id}"
            )


@pytest.mark.slow
def test_missing_health_action_is_one_line_naming_action_resource_and_file(
    run_suite: Callable[..., SuiteRun], fresh_twin: Twin
) -> None:
    assert fresh_twin.server.recorder.enforcer is not None
    with fresh_twin.server.recorder.enforcer.revoked(HEALTH, "s3:GetReplicationConfiguration"):
        run = run_suite("-m", "health", "--tb=short", env=health_env(fresh_twin))
    assert run.returncode != 0
    # The run's own policies/health.json still grants it (only the twin's principal lost it): the
    # line says so, as it would for a role that lacks a file. `add it to` is proven in-process below.
    line = (
        "permission missing: s3:GetReplicationConfiguration on arn:aws:s3:::invenio-default-files was denied "
        "for arn:aws:iam::123456789012:user/turath-health; policies/health.json grants it: attach that file "
        "to the role (or its conditions do not hold)"
    )
    failing = [c for c in run.results["checks"] if c["outcome"] in ("failed", "error")]
    assert "s3_files_bucket_replication_enabled" in {c["id"] for c in failing}
    for check in failing:  # every check that needed the action, and nothing else
        assert check["message"].endswith(line), check
        assert "\n" not in check["message"]
    assert "An error occurred (AccessDenied)" not in run.stdout + run.stderr


@pytest.fixture
def revoke(fresh_twin: Twin, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], AbstractContextManager[None]]:
    """Take an action out of a policy file for the twin's principals and for this process's reader."""
    from recovery import policies
    from twin.iam import _without

    enforcer = fresh_twin.server.recorder.enforcer
    assert enforcer is not None

    def take(file: str, action: str) -> AbstractContextManager[None]:
        real = policies.load
        monkeypatch.setattr(policies, "load", lambda f, d="": _without(real(f), action) if f == file else real(f))
        return enforcer.revoked(file, action)

    return take


def _drill_without(
    twin: Twin, tmp_path: Path, revoke: Callable[[str, str], AbstractContextManager[None]], file: str, action: str
) -> tuple[DrillContext, pytest.ExceptionInfo[StepFailed]]:
    """(drill context, StepFailed) of an in-process drill whose principal lacks `action` from `file`."""
    from recovery.aws.session import Aws, StaticCredentials
    from recovery.drill import engine
    from recovery.drill.context import DrillOptions
    from recovery.settings import load_settings

    assert twin.info is not None
    assert twin.server.recorder.enforcer is not None
    cli = {
        "endpoint_url": twin.info.endpoint_url,
        "target": "aws",
        "reports_dir": str(tmp_path),
        "drill_allowed_accounts": twin.info.account_id,
    }
    settings = load_settings(cli=cli, environ={}, dotenv_path=None)
    aws = Aws(settings, StaticCredentials(twin.info.access_key, twin.info.secret_key))
    with revoke(file, action):
        ctx = engine.begin(settings, aws, DrillOptions.from_settings(settings, drill_poll_seconds=0.5))
        with pytest.raises(StepFailed) as info:
            engine.run_drill(ctx)
    return ctx, info


def test_missing_drill_action_fails_its_step_with_the_line(
    fresh_twin: Twin, tmp_path: Path, revoke: Callable[[str, str], AbstractContextManager[None]]
) -> None:
    ctx, info = _drill_without(fresh_twin, tmp_path, revoke, DRILL, "ecs:CreateCluster")
    assert info.value.step == "provision"
    assert isinstance(info.value.__cause__, PermissionMissing)
    cause = info.value.__cause__
    assert cause.action == "ecs:CreateCluster"
    assert cause.resource == f"arn:aws:ecs:eu-central-1:123456789012:cluster/invenio-drill-{ctx.drill_id}-cluster"
    assert cause.policy_file == "policies/drill.json"
    assert str(cause) == (
        f"permission missing: ecs:CreateCluster on {cause.resource} was denied for "
        "arn:aws:iam::123456789012:user/turath-drill; add it to policies/drill.json"
    )
    assert str(cause) in str(info.value)


def test_restore_with_a_customer_key_needs_drill_kms_json(
    fresh_twin: Twin, tmp_path: Path, revoke: Callable[[str, str], AbstractContextManager[None]]
) -> None:
    """On the kms shape the restore has RDS create a grant on production's key: without it, the restore stops."""
    from recovery.drill.scan import scan

    fresh_twin.apply_profiles(("kms",))
    ctx, info = _drill_without(fresh_twin, tmp_path, revoke, "drill-kms.json", "kms:CreateGrant")
    assert info.value.step == "restore"
    cause = info.value.__cause__
    assert isinstance(cause, PermissionMissing), info.value
    assert cause.action == "kms:CreateGrant"
    assert cause.resource.startswith("arn:aws:kms:eu-central-1:123456789012:key/"), cause.resource
    assert scan(ctx.client, "invenio", ctx.drill_id).found == [], "the failed drill left resources behind"


def test_bare_403_of_a_head_request_still_names_the_action(
    fresh_twin: Twin, revoke: Callable[[str, str], AbstractContextManager[None]]
) -> None:
    """S3 HEAD answers 403 without a body: the action and resource come from the call itself."""
    from recovery.aws.session import Aws, StaticCredentials
    from recovery.settings import load_settings

    assert fresh_twin.info is not None
    assert fresh_twin.server.recorder.enforcer is not None
    settings = load_settings(cli={"endpoint_url": fresh_twin.info.endpoint_url}, environ={}, dotenv_path=None)
    aws = Aws(settings, StaticCredentials(fresh_twin.info.health_access_key, fresh_twin.info.health_secret_key))
    with revoke(HEALTH, "s3:ListBucket"), pytest.raises(PermissionMissing) as info:
        aws.client("s3").head_bucket(Bucket=fresh_twin.spec.files_bucket)
    assert str(info.value) == (
        f"permission missing: s3:ListBucket on arn:aws:s3:::{fresh_twin.spec.files_bucket} was denied; "
        "add it to policies/health.json"
    )


def test_unknown_access_key_is_refused_by_the_twin(fresh_twin: Twin) -> None:
    import boto3
    from botocore.exceptions import ClientError

    assert fresh_twin.info is not None
    ecs = boto3.client(
        "ecs",
        endpoint_url=fresh_twin.info.endpoint_url,
        region_name="eu-central-1",
        aws_access_key_id="AKIANOBODY",
        aws_secret_access_key="x",
    )
    with pytest.raises(ClientError) as info:
        ecs.list_clusters()
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"


if __name__ == "__main__":
    # Regenerate the README table from the files.
    readme_path = ROOT / "README.md"
    text = readme_path.read_text()
    head, rest = text.split("<!-- policies:begin -->", 1)
    _, tail = rest.split("<!-- policies:end -->", 1)
    readme_path.write_text(f"{head}<!-- policies:begin -->\n{_table()}\n<!-- policies:end -->{tail}")


def test_the_search_domain_enforces_its_policy_too(
    fresh_twin: Twin, tmp_path: Path, revoke: Callable[[str, str], AbstractContextManager[None]]
) -> None:
    """es:ESHttp* is authorised by the domain (not the AWS endpoint): the twin's domain enforces it as well."""
    from recovery.aws.opensearch import SearchApi
    from recovery.aws.session import Aws, StaticCredentials
    from recovery.settings import load_settings

    assert fresh_twin.info is not None
    settings = load_settings(
        cli={"endpoint_url": fresh_twin.info.endpoint_url, "target": "aws", "reports_dir": str(tmp_path)},
        environ={},
        dotenv_path=None,
    )
    aws = Aws(settings, StaticCredentials(fresh_twin.info.health_access_key, fresh_twin.info.health_secret_key))
    search = SearchApi(fresh_twin.search_address, aws.session.get_credentials(), settings.region, verify_tls=False)
    assert search.aliases(), "health.json grants es:ESHttpGet on the domain"
    with revoke(HEALTH, "es:ESHttpGet"), pytest.raises(PermissionMissing) as info:
        search.aliases()
    domain = "arn:aws:es:eu-central-1:123456789012:domain/invenio-default-search"
    assert str(info.value) == (
        f"permission missing: es:ESHttpGet on {domain}/_cat/aliases was denied for "
        "arn:aws:iam::123456789012:user/turath-health; add it to policies/health.json"
    )
    unsigned = SearchApi(fresh_twin.search_address, None, settings.region, verify_tls=False)
    with pytest.raises(PermissionMissing, match="es:ESHttpGet"):
        unsigned.aliases()
