"""snapshot (backup_rds_manual.sh): named, tagged with who and why, waited for, checked by §2.1.1."""

from __future__ import annotations

from typing import Any

import pytest

from recovery.tools import snapshot
from twin.core import Twin


def _tags(twin: Twin, snapshot_id: str) -> dict[str, str]:
    rds = twin.client("rds")
    arn = rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"][0]["DBSnapshotArn"]
    return {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]}


def test_snapshot_is_named_tagged_waited_for_and_passes_the_checklist(tools_env: Any, twin: Twin) -> None:
    settings, aws = tools_env()
    result = snapshot.take(aws, settings, "before the v13 upgrade (ticket #42)", delay=1, max_attempts=30)

    assert result.snapshot_id.startswith(f"{settings.rds_instance}-manual-")
    described = twin.client("rds").describe_db_snapshots(DBSnapshotIdentifier=result.snapshot_id)["DBSnapshots"][0]
    assert described["Status"] == "available"
    assert described["SnapshotType"] == "manual"
    caller = twin.client("sts").get_caller_identity()["Arn"]
    tags = _tags(twin, result.snapshot_id)
    assert tags["created-by"] == caller
    assert tags["reason"] == "before the v13 upgrade ticket 42"  # only characters RDS allows in a tag
    assert result.passed, result.row.reasons


def test_cli_prints_the_checklist_and_exits_zero(cli: Any) -> None:
    run = cli("snapshot", "--reason", "after the November uploads", "--delay", "1")
    assert run.code == 0, run.err
    assert "§2.1.1 checklist of invenio-default-rds-manual-" in run.out
    assert "pass" in run.out
    assert "reason=after the November uploads" in run.out
    assert "waiting for snapshot" in run.err  # the waiter's polls, shown as progress


def test_a_snapshot_failing_the_checklist_exits_non_zero(cli: Any) -> None:
    # The instance's storage (the snapshot's size) below the plan's "> 1 GB" threshold, as set here.
    run = cli("--set", "TURATH_SNAPSHOT_MIN_GB=100000", "snapshot", "--reason", "test", "--delay", "1")
    assert run.code == 1
    assert "likely empty or partial (plan 2.1.1)" in run.out
    assert "FAIL" in run.out


def test_a_reason_is_required(cli: Any) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("snapshot")
    assert exit_info.value.code == 2
