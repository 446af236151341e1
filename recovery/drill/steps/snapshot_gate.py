"""Step snapshot_gate (plan 2.1.1, 4 step 2.1): choose the recovery point before anything is spent.

Read-only (DescribeDBInstances, DescribeDBSnapshots, DescribeEvents, the files bucket or the
last upload): it runs first, so a drill whose backups fail the checklist costs nothing.
"""

from __future__ import annotations

from recovery import gate
from recovery.aws import rds as rds_api
from recovery.aws import s3 as s3_api
from recovery.drill.context import DrillContext, PlannedCall
from recovery.drill.state import RecoveryPoint
from recovery.errors import StepFailed
from recovery.timeutil import utcnow

NAME = "snapshot_gate"


def choose(ctx: DrillContext) -> RecoveryPoint:
    """The gate's decision as typed state (a refusal is recorded, then raised)."""
    s = ctx.settings
    try:
        decision = gate.choose(
            ctx.client("rds"),
            ctx.client("s3"),
            instance_id=s.rds_instance,
            files_bucket=s.files_bucket,
            min_gb=s.snapshot_min_gb,
            now=utcnow(),
            restore_time=ctx.options.restore_time,
            last_upload_time=ctx.options.last_upload_time,
            rpo_seconds=s.rpo_seconds,
            max_age_hours=s.snapshot_max_age_hours,
        )
    except StepFailed as exc:
        ctx.state.recovery = RecoveryPoint(refused=exc.message, diagnostics=dict(exc.diagnostics))
        raise
    point = RecoveryPoint.from_gate(decision.as_state())
    if point.mode == "point-in-time" and not point.rows and not point.source_backup_arn:
        # The §2.1.1 checklist of the snapshots a recovery would fall back on if PITR failed: the
        # drill's evidence table and what drill_recovery_point_is_newest_snapshot judges.
        rds = ctx.client("rds")
        ready = gate.readiness(
            rds,
            rds_api.describe_instance(rds, s.rds_instance),
            rds_api.list_snapshots(rds, s.rds_instance),
            min_gb=s.snapshot_min_gb,
            now=utcnow(),
            upload=gate.upload_time(lambda: s3_api.iter_objects(ctx.client("s3"), s.files_bucket), s.last_upload_time),
            rpo_seconds=s.rpo_seconds,
            max_age_hours=s.snapshot_max_age_hours,
        )
        point.rows = [r.as_dict() for r in ready.rows]
        point.events = ready.events
    ctx.state.recovery = point
    return point


def run(ctx: DrillContext) -> None:
    choose(ctx)


def planned(ctx: DrillContext) -> list[PlannedCall]:
    """No mutating call: the gate only reads."""
    return []
