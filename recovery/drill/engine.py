"""Opening, running and closing a drill: the engine behind pytest's fixtures and `python -m recovery`.

`begin` validates everything before it spends (preflight), then takes the target's lock and
starts its heartbeat; any failure inside `begin` after the lock releases it again. `run_step`
runs one step once, times it as a phase and records a failure as typed state. `finish` tears
down (stopping work before deleting what it works on) and runs the leak check. `plan` lists
every mutating call from the steps' own descriptions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from recovery.aws import rds as rds_api
from recovery.aws.session import Aws
from recovery.drill import diagnosis, lock, preflight, teardown
from recovery.drill.clock import TEARDOWN, DrillClock
from recovery.drill.context import (
    DrillAws,
    DrillContext,
    DrillOptions,
    PlannedCall,
    Timeouts,
    check_account,
    make_guard,
)
from recovery.drill.guard import Guard
from recovery.drill.ledger import Ledger, latest_ledger, ledger_path
from recovery.drill.naming import DrillNames, new_drill_id, validate_drill_id
from recovery.drill.state import DrillState, StepFailure
from recovery.drill.steps import BY_NAME, STARTS_BEFORE, STEPS, VERIFY, verify
from recovery.errors import ConfigError, NotFound, RecoveryError, StepFailed
from recovery.secrets import redact
from recovery.settings import Settings
from recovery.timeutil import as_utc, iso, utcnow

log = logging.getLogger(__name__)


def _open_ledger(settings: Settings, options: DrillOptions) -> tuple[Ledger, datetime]:
    """The ledger to write (in memory until the lock is held) and the drill's creation time."""
    reports = Path(settings.reports_dir)
    if options.resume_from:
        if options.resume_from not in STEPS:
            raise ConfigError("--resume-from", f"expected one of {', '.join(STEPS)}, got {options.resume_from!r}")
        if options.drill_id:
            path = ledger_path(reports, validate_drill_id(options.drill_id))
            if not path.exists():
                raise ConfigError("--drill-id", f"no ledger {path} to resume")
            ledger = Ledger.load(path)
        else:
            try:
                ledger = latest_ledger(reports)
            except RecoveryError as exc:
                raise ConfigError("--resume-from", str(exc)) from None
        ledger.forget_from(list(STEPS[STEPS.index(options.resume_from) :]))
        return ledger, as_utc(ledger.created_at)
    drill_id = validate_drill_id(options.drill_id) if options.drill_id else new_drill_id()
    created = utcnow()
    return Ledger(ledger_path(reports, drill_id), drill_id, iso(created)), created


def begin(settings: Settings, aws: Aws, options: DrillOptions, account: str | None = None) -> DrillContext:
    """Open a drill: validate (nothing created on failure), then lock, ledger, heartbeat, PITR lag.

    With `options.resume_from` the drill id (options.drill_id, else the newest open ledger) and
    its saved state are reused, and the steps from `resume_from` on run again.
    """
    ledger, created = _open_ledger(settings, options)
    ledger.dry = options.plan
    names = DrillNames(settings.drill_prefix, ledger.drill_id, created)
    guard = Guard(names, read_only=True) if options.plan else make_guard(names)
    clock = DrillClock(settings.rto_seconds, settings.rpo_seconds)
    state = DrillState.from_dict(ledger.state)
    clock.restore_phases(state.phases)
    ctx = DrillContext(
        settings,
        DrillAws(aws, guard),
        names,
        ledger,
        clock,
        options,
        state=state,
        timeouts=Timeouts.from_settings(settings),
    )
    check_account(account if account is not None else aws.account_id(), options.drill_allowed_accounts)
    findings = preflight.validate(
        settings,
        names,
        ctx.client,
        restore_time=options.restore_time,
        storage=options.drill_storage,
        provisioner=options.provisioner,
        terraform_dir=options.terraform_dir,
    )
    ctx.state.account = ctx.state.account or (account or aws.account_id())
    ctx.state.target = settings.target
    if options.plan:
        _mark_start(ctx, findings.instance_exists)
        return ctx
    ssm = ctx.client("ssm")
    owner = lock.acquire(ssm, ctx.drill_id, names.prefix, names.tag_list(), settings.drill_lock_stale_seconds)
    try:
        ctx.ledger.created(ctx.record(lock.KIND, lock.NAME, "begin", drill_id=ctx.drill_id))
        ctx.heartbeat = lock.Heartbeat(ssm, owner, settings.drill_heartbeat_seconds).start()
        _mark_start(ctx, findings.instance_exists)
        ctx.save()
    except BaseException:
        # Nothing else was created yet: give the lock back, so no later drill is refused.
        if ctx.heartbeat is not None:
            ctx.heartbeat.stop()
        lock.release(ssm, ctx.drill_id)
        raise
    return ctx


def _mark_start(ctx: DrillContext, instance_exists: bool) -> None:
    if ctx.state.started_at:
        ctx.clock.pitr_lag_seconds = ctx.state.pitr_lag_seconds
        return
    ctx.state.started_at = iso(utcnow())
    if instance_exists:
        try:
            instance = rds_api.describe_instance(ctx.client("rds"), ctx.settings.rds_instance)
            ctx.clock.measure_pitr_lag(instance.get("LatestRestorableTime"))
        except NotFound:
            log.warning("production instance %s is gone: no point-in-time lag to measure", ctx.settings.rds_instance)
    ctx.state.pitr_lag_seconds = ctx.clock.pitr_lag_seconds


def summary(ctx: DrillContext) -> dict[str, Any]:
    """The drill section of results.json (DESIGN.md contract) plus evidence of each step."""
    point = ctx.state.recovery
    failed = next(iter(ctx.state.failures.values()), None)
    return {
        "id": ctx.drill_id,
        "target": ctx.settings.target,
        "account": ctx.state.account,
        "snapshot": (point.snapshot or (f"point-in-time {point.recovery_point}" if point.recovery_point else None))
        if point
        else None,
        "recovery_point": point.recovery_point if point else None,
        "recovery_point_reason": point.reason if point else "",
        # The §2.1.1 checklist the gate applied (rows of a refusal come with its diagnostics).
        "checklist": (point.rows or list(point.diagnostics.get("checklist") or [])) if point else [],
        # Where each restore parameter came from: snapshot, automated backup, settings (or production's instance).
        "restore_sources": dict(ctx.state.restored.sources) if ctx.state.restored else {},
        "source_backup_arn": point.source_backup_arn if point else None,
        **ctx.clock.summary(),
        "leftovers": list(ctx.state.leftovers),
        "unchecked": list(ctx.state.unchecked),
        "kept": ctx.options.keep,
        "site_url": ctx.state.environment.site_url if ctx.state.environment else None,
        "site_address": ctx.state.environment.site_address if ctx.state.environment else None,
        # What a recovery deploys differs from what runs today (a revision awaits deployment).
        "deploys_newer_revision": [
            {"service": name, "running": svc.running, "deployed_by_recovery": svc.source}
            for name, svc in (ctx.state.environment.services.items() if ctx.state.environment else [])
            if svc.running and svc.source and svc.running != svc.source
        ],
        "failed_step": failed.step if failed else None,
        "failure": vars(failed) if failed else None,
        "ledger": str(ctx.ledger.path),
    }


def finish(ctx: DrillContext) -> dict[str, Any]:
    """Teardown (unless --keep) and the leak check; idempotent; returns the summary."""
    if ctx.options.plan:
        return summary(ctx)
    if ctx.options.keep:
        log.warning(
            "drill %s kept for inspection; remove it with: python -m recovery sweep --drill-id %s --apply",
            ctx.drill_id,
            ctx.drill_id,
        )
        if ctx.heartbeat is not None:
            ctx.heartbeat.stop()
        lock.release(ctx.client("ssm"), ctx.drill_id)  # a kept drill is not running: others may start
        ctx.state.leftovers, ctx.state.unchecked = teardown.leftovers(ctx)
    elif not ctx.state.torn_down:
        with ctx.clock.phase(TEARDOWN):
            remaining = teardown.teardown(ctx)
            ctx.state.teardown = [
                {"kind": e.kind, "id": e.id, "status": e.status, "outcome": e.outcome} for e in ctx.ledger.entries
            ]
            ctx.state.leftovers, ctx.state.unchecked = teardown.leftovers(ctx)
            ctx.state.torn_down = True
            if remaining:
                log.error("teardown left %d resource(s): %s", len(remaining), [e.id for e in remaining])
    ctx.state.phases = [p.as_dict() for p in ctx.clock.phases]
    ctx.save()
    return summary(ctx)


def run_step(ctx: DrillContext, name: str) -> DrillState:
    """Run one step once: a failure is recorded and raised again for every later request.

    The long operations of later steps that may overlap this one (STARTS_BEFORE) start first.
    """
    if name in ctx.failures:
        raise ctx.failures[name]
    if name in ctx.ledger.completed:
        return ctx.state
    for early in STARTS_BEFORE.get(name, ()):
        _start_early(ctx, early, name)
    started = utcnow()
    try:
        with ctx.clock.phase(name):
            _as_step(ctx, name, started, lambda: BY_NAME[name].run(ctx))
    finally:
        ctx.state.phases = [p.as_dict() for p in ctx.clock.phases]
        ctx.save()
    ctx.ledger.complete(name)
    return ctx.state


def _start_early(ctx: DrillContext, step: Any, overlapped: str) -> None:
    """Start step `step`'s long operation now, before step `overlapped`; its phase runs from here
    until its `run` ends. Only once every step it needs, but the overlapped one, has completed."""
    if step.NAME in ctx.failures:
        raise ctx.failures[step.NAME]
    if step.NAME in ctx.ledger.completed or ctx.clock.running(step.NAME):
        return
    needed = STEPS[: STEPS.index(step.NAME)]
    if any(s not in ctx.ledger.completed for s in needed if s != overlapped):
        return  # run alone (a test, a resumed drill): the step starts its operation itself
    started = utcnow()
    phase = ctx.clock.start(step.NAME)
    try:
        _as_step(ctx, step.NAME, started, lambda: step.start(ctx))
    except StepFailed:
        ctx.clock.finish(phase, "failed")
        raise
    finally:
        ctx.state.phases = [p.as_dict() for p in ctx.clock.phases]
        ctx.save()


def _as_step(ctx: DrillContext, name: str, started: datetime, action: Callable[[], None]) -> None:
    """Run `action` for step `name`: any failure becomes that step's recorded StepFailed."""
    try:
        action()
    except StepFailed as exc:
        _record_failure(ctx, name, exc, started)
        raise
    except Exception as exc:  # botocore ClientError, psycopg, OSError and friends: the step fails by name
        failed = StepFailed(name, redact(f"{type(exc).__name__}: {exc}"))
        _record_failure(ctx, name, failed, started)
        raise failed from exc


def _record_failure(ctx: DrillContext, name: str, failed: StepFailed, started: datetime) -> None:
    """Keep the failure (typed, for the report) with the step's diagnostics (RDS events, ECS events, logs)."""
    ctx.failures[name] = failed
    try:
        failed.diagnostics.setdefault("collected", diagnosis.collect(ctx, name, started))
    except Exception:  # evidence is best effort: never replace the step's own failure
        log.exception("collecting diagnostics of step %s failed", name)
    ctx.state.failures[name] = StepFailure(
        step=name,
        message=failed.message,
        symptom=failed.symptom,
        evidence=failed.evidence,
        cause=failed.cause,
        fix=failed.fix,
        plan_section=failed.plan_section,
    )


def run_drill(ctx: DrillContext) -> dict[str, Any]:
    """Every step, verify, then teardown (always). Re-raises the first StepFailed after teardown."""
    try:
        for name in STEPS:
            run_step(ctx, name)
        with ctx.clock.phase(VERIFY):
            verify.run(ctx)
    finally:
        result = finish(ctx)
    return result


def plan(ctx: DrillContext) -> list[PlannedCall]:
    """Every mutating AWS call the drill would make (the steps' own lists), from read-only looks.

    The gate is evaluated for real (read-only): a refusal is the first line, as `REFUSED`.
    """
    calls = [PlannedCall("begin", "ssm", "PutParameter", lock.NAME, "drill lock (and heartbeats)")]
    try:
        run_step(ctx, STEPS[0])
    except StepFailed as exc:
        calls.append(PlannedCall(STEPS[0], "-", "REFUSED", ctx.settings.rds_instance, exc.message))
    listed: set[str] = set()
    for name in STEPS:  # in the order they are made: an operation started early comes first
        for step in (*STARTS_BEFORE.get(name, ()), BY_NAME[name]):
            if step.NAME not in listed:
                listed.add(step.NAME)
                calls += step.planned(ctx)
    calls += teardown.planned(ctx)
    return calls


def refused(calls: list[PlannedCall]) -> bool:
    """The plan shows the drill would stop (the gate refused every recovery point)."""
    return any(c.operation == "REFUSED" for c in calls)
