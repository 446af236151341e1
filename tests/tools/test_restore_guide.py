"""restore-guide (restore_rds_guide.sh): plan §4's commands with the account's real identifiers, valid CLI syntax."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from recovery import gate
from recovery.errors import StepFailed
from recovery.timeutil import utcnow
from recovery.tools import restore_guide
from twin.core import Twin

GLOBAL_OPTIONS = {"--query", "--output", "--region", "--endpoint-url", "--cli-input-json", "--no-paginate"}
CLI_SERVICE = {"s3api": "s3"}


def _check_against_model(argv: tuple[str, ...]) -> None:
    """`aws <service> <operation> --param ...` names a real operation (or waiter) and real parameters."""
    session = botocore.session.get_session()
    service = CLI_SERVICE.get(argv[1], argv[1])
    model = session.get_service_model(service)
    if argv[2] == "wait":
        waiters = session.get_waiter_model(service).waiter_names
        assert argv[3] in {xform_name(w, "-") for w in waiters}, argv
        op_name = (
            session.get_waiter_model(service)
            .get_waiter(next(w for w in waiters if xform_name(w, "-") == argv[3]))
            .operation
        )
        args = argv[4:]
    else:
        ops = {xform_name(op, "-"): op for op in model.operation_names}
        assert argv[2] in ops, f"no operation {argv[2]} in {service}"
        op_name = ops[argv[2]]
        args = argv[3:]
    members = model.operation_model(op_name).input_shape.members
    cli_names = {"--" + xform_name(name, "-"): shape for name, shape in members.items()}
    for arg in args:
        if not arg.startswith("--") or arg in GLOBAL_OPTIONS:
            continue
        if arg.startswith("--no-") and "--" + arg[5:] in cli_names:
            assert cli_names["--" + arg[5:]].type_name == "boolean", arg
            continue
        assert arg in cli_names, f"{' '.join(argv[:3])}: {arg} is not a parameter of {op_name}"


def _gate(settings: Any, aws: Any) -> gate.GateDecision:
    """The drill's snapshot gate with these settings (recovery/drill/steps/snapshot_gate.py)."""
    return gate.choose(
        aws.client("rds"),
        aws.client("s3"),
        instance_id=settings.rds_instance,
        files_bucket=settings.files_bucket,
        min_gb=settings.snapshot_min_gb,
        now=utcnow(),
        rpo_seconds=settings.rpo_seconds,
        max_age_hours=settings.snapshot_max_age_hours,
    )


@pytest.fixture
def guide(tools_env: Any) -> restore_guide.Guide:
    settings, aws = tools_env()
    return restore_guide.build(aws, settings)


def test_every_aws_command_is_valid_cli_syntax(guide: restore_guide.Guide) -> None:
    commands = [c.argv for c in guide.commands() if c.argv[0] == "aws"]
    assert len(commands) > 15
    for argv in commands:
        _check_against_model(argv)


def test_the_guide_names_the_accounts_real_identifiers(tools_env: Any, twin: Twin, guide: restore_guide.Guide) -> None:
    settings, aws = tools_env()
    chosen = _gate(settings, aws)
    instance = twin.client("rds").describe_db_instances(DBInstanceIdentifier=settings.rds_instance)["DBInstances"][0]
    text = guide.text()
    if chosen.snapshot_id:
        assert f"--db-snapshot-identifier {chosen.snapshot_id}" in text
    else:  # the gate prefers the latest restorable time while point-in-time recovery is healthy
        assert "restore-db-instance-to-point-in-time --source-db-instance-identifier invenio-default-rds" in text
        assert "--use-latest-restorable-time" in text
    for group in instance["VpcSecurityGroups"]:
        assert group["VpcSecurityGroupId"] in text
    assert f"--db-parameter-group-name {instance['DBParameterGroups'][0]['DBParameterGroupName']}" in text
    assert f"--db-instance-class {instance['DBInstanceClass']}" in text
    ecs = twin.client("ecs")
    for service in settings.ecs_services:
        svc = ecs.describe_services(cluster=settings.ecs_cluster, services=[service])["services"][0]
        family = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]["family"]
        # the redeploy moves to the family's newest revision: force-new-deployment alone would not
        assert (
            f"update-service --cluster {settings.ecs_cluster} --service {service} --task-definition {family} "
            "--force-new-deployment"
        ) in text
        subnets = svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
        assert all(s in text for s in subnets)
    assert "--log-group-name /invenio-default/web-ui" in text
    assert "invenio rdm rebuild-all-indices" in text or '"rebuild-all-indices"' in text


def test_read_only_commands_paste_into_the_aws_cli(twin: Twin, guide: restore_guide.Guide) -> None:
    """The verification commands run as printed against the twin and name the chosen snapshot."""
    assert twin.info is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TURATH_"))}
    env.update(
        AWS_ACCESS_KEY_ID=twin.info.access_key,
        AWS_SECRET_ACCESS_KEY=twin.info.secret_key,
        AWS_DEFAULT_REGION=twin.info.region,
    )
    verify = guide.steps[0].commands
    listing = subprocess.run(list(verify[0].argv), env=env, capture_output=True, text=True, timeout=60, check=True)
    newest = twin.client("rds").describe_db_snapshots(DBInstanceIdentifier="invenio-default-rds")["DBSnapshots"]
    assert all(s["DBSnapshotIdentifier"] in listing.stdout for s in newest)
    assert "available" in listing.stdout


def test_with_point_in_time_recovery_behind_its_rpo_the_guide_restores_the_gates_snapshot(tools_env: Any) -> None:
    settings, aws = tools_env(TURATH_RPO_SECONDS="1")  # the twin's PITR lag is longer: the gate takes a snapshot
    guide = restore_guide.build(aws, settings)
    snapshot = guide.identifiers["snapshot"]
    assert snapshot
    assert (
        f'restore-db-instance-from-db-snapshot --db-instance-identifier "$RESTORED" --db-snapshot-identifier {snapshot}'
        in guide.text()
    )
    for c in guide.commands():
        if c.argv[0] == "aws":
            _check_against_model(c.argv)


def test_cli_prints_the_guide(cli: Any) -> None:
    run = cli("restore-guide")
    assert run.code == 0, run.err
    assert run.out.startswith("# Manual recovery of plan section 4")
    assert "aws rds restore-db-instance-" in run.out


def test_without_a_passing_snapshot_the_guide_restores_to_a_point_in_time(tools_env: Any) -> None:
    # PITR behind its RPO, and every snapshot failing the size check
    settings, aws = tools_env(TURATH_RPO_SECONDS="1", TURATH_SNAPSHOT_MIN_GB="100000")
    guide = restore_guide.build(aws, settings)
    text = guide.text()
    assert guide.identifiers["snapshot"] is None
    assert "refuses every snapshot" in text
    assert "restore-db-instance-to-point-in-time --source-db-instance-identifier invenio-default-rds" in text
    assert "--use-latest-restorable-time" in text
    for c in guide.commands():
        if c.argv[0] == "aws":
            _check_against_model(c.argv)


def test_the_guide_applies_the_snapshot_age_limit_the_drill_applies(fresh_twin: Twin, tools_env: Any) -> None:
    # PITR behind its RPO, every snapshot older than the age limit (a fresh twin: no snapshot another
    # test took just now): the drill's gate refuses them all, so the guide must not restore one.
    settings, aws = tools_env(TURATH_RPO_SECONDS="1", TURATH_SNAPSHOT_MAX_AGE_HOURS="1")
    with pytest.raises(StepFailed):
        _gate(settings, aws)
    guide = restore_guide.build(aws, settings)
    assert guide.identifiers["snapshot"] is None
    assert "--use-latest-restorable-time" in guide.text()
