"""Step snapshot_gate (plan 2.1.1, 4 step 2.1): choose the recovery point before anything is spent.

Read-only (DescribeDBInstances, DescribeDBSnapshots, DescribeEvents, the files bucket or the
last upload): it runs first, so a drill whose backups fail the checklist costs nothing.
"""

from __future__ import annotations

from recovery import gate
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
        )
    except StepFailed as exc:
        ctx.state.recovery = RecoveryPoint(refused=exc.message, diagnostics=dict(exc.diagnostics))
        raise
    ctx.state.recovery = RecoveryPoint.from_gate(decision.as_state())
    return ctx.state.recovery


def run(ctx: DrillContext) -> None:
    choose(ctx)


def planned(ctx: DrillContext) -> list[PlannedCall]:
    """No mutating call: the gate only reads."""
    return []
