"""The drill of plan section 4 as plain functions: each takes a DrillContext and reaches one state.

Order: provision -> snapshot_gate -> restore -> redeploy -> storage -> reindex, then verify
(measurements the checks evaluate) and teardown (always). `run_step` times a step as a phase,
saves the state after it and turns any failure into one `StepFailed` naming the step.
`begin` / `finish` open and close a drill; `run_drill` is the whole drill outside pytest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from recovery import db, gate
from recovery import site as site_api
from recovery.aws import ecs as ecs_api
from recovery.aws import rds as rds_api
from recovery.aws import s3 as s3_api
from recovery.aws.session import Aws
from recovery.db import Endpoint
from recovery.diagnosis import rollout_failed
from recovery.drill import diagnosis, lock, provision
from recovery.drill.clock import TEARDOWN, DrillClock
from recovery.drill.context import DrillAws, DrillContext, DrillOptions, check_account, lock_name, make_guard
from recovery.drill.ecsops import diagnose_service, log_group_of, rollout_progress, run_one_off, wait_waiter
from recovery.drill.guard import Guard
from recovery.drill.ledger import Ledger, ledger_path
from recovery.drill.naming import DrillNames, new_drill_id, validate_drill_id
from recovery.drill.teardown import leftovers, teardown
from recovery.environment import RECOVERED, Environment
from recovery.errors import ConfigError, RecoveryError, StepFailed, WaitTimeout
from recovery.secrets import Secret, redact
from recovery.settings import Settings
from recovery.timeutil import as_utc, iso, utcnow, wait_until

log = logging.getLogger(__name__)

PROVISION, GATE, RESTORE, REDEPLOY, STORAGE, REINDEX, VERIFY = (
    "provision",
    "snapshot_gate",
    "restore",
    "redeploy",
    "storage",
    "reindex",
    "verify",
)
STEPS = (PROVISION, GATE, RESTORE, REDEPLOY, STORAGE, REINDEX)
API_NAMES = {
    "restore_db_instance_from_db_snapshot": "RestoreDBInstanceFromDBSnapshot",
    "restore_db_instance_to_point_in_time": "RestoreDBInstanceToPointInTime",
}
REINDEX_COMMANDS = (
    ["invenio", "index", "destroy", "--yes-i-know"],
    ["invenio", "index", "init"],
    ["invenio", "rdm", "rebuild-all-indices"],
)


# ---- opening and closing a drill ------------------------------------------------------------
def begin(settings: Settings, aws: Aws, options: DrillOptions, account: str | None = None) -> DrillContext:
    """Open a drill: id, ledger, guarded clients, allow-list, lock, RPO lag at start.

    With `options.resume_from` the drill id (options.drill_id, else the newest open ledger) and
    its saved state are reused, and the steps from `resume_from` on run again.
    """
    reports = Path(settings.reports_dir)
    if options.resume_from:
        if options.resume_from not in STEPS:
            raise ConfigError("--resume-from", f"expected one of {', '.join(STEPS)}, got {options.resume_from!r}")
        from recovery.drill.ledger import latest_ledger

        if options.drill_id:
            path = ledger_path(reports, validate_drill_id(options.drill_id))
            if not path.exists():
                raise ConfigError("--drill-id", f"no ledger {path} to resume")
            ledger = Ledger.load(path)
        else:
            ledger = latest_ledger(reports)
        ledger.forget_from(list(STEPS[STEPS.index(options.resume_from) :]))
        created = as_utc(ledger.created_at)
    else:
        drill_id = validate_drill_id(options.drill_id) if options.drill_id else new_drill_id()
        created = utcnow()
        path = ledger_path(reports, drill_id)
        ledger = Ledger(path, drill_id, iso(created)) if options.plan else Ledger.create(reports, drill_id)
    names = DrillNames(settings.drill_prefix, ledger.drill_id, created)
    guard = Guard(names, read_only=True) if options.plan else make_guard(names)
    clock = DrillClock(settings.rto_seconds, settings.rpo_seconds)
    clock.restore_phases(ledger.state.get("phases", []))
    ctx = DrillContext(settings, DrillAws(aws, guard), names, ledger, clock, options)
    if account is None:
        account = aws.account_id()
    check_account(account, options.drill_allowed_accounts)
    ctx.state.setdefault("account", account)
    ctx.state.setdefault("target", settings.target)
    if not options.plan:
        lock.acquire(ctx, PROVISION)
    if "started_at" not in ctx.state:
        ctx.state["started_at"] = iso(utcnow())
        instance = rds_api.describe_instance(ctx.client("rds"), settings.rds_instance)
        clock.measure_pitr_lag(instance.get("LatestRestorableTime"))
        ctx.state["pitr_lag_seconds"] = clock.pitr_lag_seconds
    else:
        clock.pitr_lag_seconds = ctx.state.get("pitr_lag_seconds")
    if not options.plan:
        ctx.save()
    return ctx


def summary(ctx: DrillContext) -> dict[str, Any]:
    """The drill section of results.json (DESIGN.md contract) plus evidence of each step."""
    recovery = ctx.state.get("recovery") or {}
    return {
        "id": ctx.drill_id,
        "target": ctx.settings.target,
        "account": ctx.state.get("account"),
        "snapshot": recovery.get("snapshot")
        or (f"point-in-time {recovery['recovery_point']}" if recovery.get("recovery_point") else None),
        "recovery_point": recovery.get("recovery_point"),
        **ctx.clock.summary(),
        "leftovers": ctx.state.get("leftovers", []),
        "kept": ctx.options.keep,
        "site_url": (ctx.state.get("environment") or {}).get("site_url"),
        "failed_step": next(iter(ctx.failures), None),
        "ledger": str(ctx.ledger.path),
    }


def finish(ctx: DrillContext) -> dict[str, Any]:
    """Teardown (unless --keep) and the leak check; idempotent; returns the summary."""
    if ctx.options.plan:
        return summary(ctx)
    if ctx.options.keep:
        log.warning(
            "drill %s kept for inspection; remove it with: python -m recovery sweep --apply --older-than-hours 0",
            ctx.drill_id,
        )
        ctx.state["leftovers"] = leftovers(ctx)
    elif not ctx.state.get("torn_down"):
        with ctx.clock.phase(TEARDOWN):
            remaining = teardown(ctx)
            ctx.state["teardown"] = [
                {"kind": e.kind, "id": e.id, "status": e.status, "outcome": e.outcome} for e in ctx.ledger.entries
            ]
            ctx.state["leftovers"] = leftovers(ctx)
            ctx.state["torn_down"] = True
            if remaining:
                log.error("teardown left %d resource(s): %s", len(remaining), [e.id for e in remaining])
    ctx.state["phases"] = [p.as_dict() for p in ctx.clock.phases]
    ctx.save()
    return summary(ctx)


def run_step(ctx: DrillContext, name: str) -> dict[str, Any]:
    """Run one step once: a failure is cached and raised again for every later request."""
    if name in ctx.failures:
        raise ctx.failures[name]
    if name in ctx.ledger.completed:
        return ctx.state
    func = STEP_FUNCTIONS[name]
    started = utcnow()
    try:
        with ctx.clock.phase(name):
            func(ctx)
    except StepFailed as exc:
        _diagnose(ctx, name, exc, started)
        raise
    except (RecoveryError, psycopg.Error, OSError, ValueError, KeyError) as exc:
        failed = StepFailed(name, redact(f"{type(exc).__name__}: {exc}"))
        _diagnose(ctx, name, failed, started)
        raise failed from exc
    except Exception as exc:  # botocore ClientError and friends: the step still fails by name
        failed = StepFailed(name, redact(f"{type(exc).__name__}: {exc}"))
        _diagnose(ctx, name, failed, started)
        raise failed from exc
    finally:
        ctx.state["phases"] = [p.as_dict() for p in ctx.clock.phases]
        ctx.save()
    ctx.ledger.complete(name)
    return ctx.state


def _diagnose(ctx: DrillContext, name: str, failed: StepFailed, started: datetime) -> None:
    """Cache the failure with the step's diagnostics (RDS events, ECS events, logs) for the report."""
    ctx.failures[name] = failed
    try:
        failed.diagnostics.setdefault("collected", diagnosis.collect(ctx, name, started))
    except Exception:  # evidence is best effort: never replace the step's own failure
        log.exception("collecting diagnostics of step %s failed", name)
    ctx.state.setdefault("diagnoses", {})[name] = str(failed)


def run_drill(ctx: DrillContext, progress: Callable[[str], None] = log.info) -> dict[str, Any]:
    """Every step, verify, then teardown (always). Re-raises the first StepFailed after teardown."""
    try:
        for name in STEPS:
            progress(f"step {name} ...")
            run_step(ctx, name)
            progress(f"step {name}: done")
        with ctx.clock.phase(VERIFY):
            verify(ctx)
    finally:
        result = finish(ctx)
        progress(f"teardown: {len(result['leftovers'])} leftover(s)")
    return result


# ---- step 1: provision ------------------------------------------------------------------------
def step_provision(ctx: DrillContext) -> None:
    provision.provision(ctx)


# ---- step 2: snapshot gate ----------------------------------------------------------------------
def step_snapshot_gate(ctx: DrillContext) -> None:
    try:
        decision = gate.choose(
            ctx.client("rds"),
            ctx.client("s3"),
            instance_id=ctx.settings.rds_instance,
            files_bucket=ctx.settings.files_bucket,
            min_gb=ctx.settings.snapshot_min_gb,
            now=utcnow(),
            restore_time=ctx.options.restore_time,
            last_upload_time=ctx.options.last_upload_time,
        )
    except StepFailed as exc:
        ctx.state["recovery"] = {"refused": str(exc), "diagnostics": exc.diagnostics}
        raise
    ctx.state["recovery"] = decision.as_state()


# ---- step 3: restore ----------------------------------------------------------------------------
def restore_call(ctx: DrillContext, production: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(operation, parameters) of the restore: same class, subnets and security groups as production."""
    recovery = ctx.state["recovery"]
    common: dict[str, Any] = {
        "DBInstanceClass": production["DBInstanceClass"],
        "MultiAZ": False,
        "PubliclyAccessible": bool(production.get("PubliclyAccessible", False)),
        "DeletionProtection": False,
        # No automated backups of a throw-away copy: none to pay for, none to delete, and RDS
        # does not hold the instance in backing-up before it is usable.
        "BackupRetentionPeriod": 0,
        "Tags": ctx.names.tag_list(),
    }
    subnet_group = (production.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
    if subnet_group:
        common["DBSubnetGroupName"] = subnet_group
    groups = [g["VpcSecurityGroupId"] for g in production.get("VpcSecurityGroups", []) if g.get("VpcSecurityGroupId")]
    if groups:
        common["VpcSecurityGroupIds"] = groups
    if recovery["mode"] == "snapshot":
        return "restore_db_instance_from_db_snapshot", {
            "DBInstanceIdentifier": ctx.names.db_instance,
            "DBSnapshotIdentifier": recovery["snapshot"],
            **common,
        }
    params = {
        "SourceDBInstanceIdentifier": ctx.settings.rds_instance,
        "TargetDBInstanceIdentifier": ctx.names.db_instance,
        **common,
    }
    if recovery.get("use_latest"):
        params["UseLatestRestorableTime"] = True
    else:
        params["RestoreTime"] = as_utc(recovery["restore_time"])
    return "restore_db_instance_to_point_in_time", params


def production_password(ctx: DrillContext) -> Secret:
    """RDS_DB_PASSWORD of the task definition production's web service runs (plan 2.5); a Secret at once."""
    s = ctx.settings
    ecs = ctx.client("ecs")
    service = (s.web_services or s.ecs_services)[0]
    svc = ecs_api.describe_services(ecs, s.ecs_cluster, (service,))[service]
    arn = provision.running_task_definition(svc)
    env = ecs_api.container_env(ecs_api.describe_task_definition(ecs, arn), s.app_container) or {}
    raw = env.pop("RDS_DB_PASSWORD", "")
    if not raw:
        raise StepFailed(
            RESTORE,
            f"{ecs_api.short(arn)} ({service}) has no RDS_DB_PASSWORD in container {s.app_container} (plan 6.1)",
        )
    secret = Secret(raw)
    ctx.secrets["db_password"] = secret
    ctx.state["password_source"] = ecs_api.short(arn)
    return secret


def verify_login(ctx: DrillContext, address: str, password: Secret, step: str) -> None:
    """The restored DB accepts the master user and password over SQL, or StepFailed (plan 6.1)."""
    last: list[str] = [""]

    def login() -> bool:
        try:
            with db.connect(Endpoint(address, ctx.settings.db_user, password, ctx.settings.db_name), 10) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError as exc:
            text = redact(str(exc))
            if "password authentication failed" in text or "authentication failed" in text:
                raise StepFailed(step, diagnosis.password_rejected(ctx, address).text(), {"error": text}) from None
            last[0] = text
            return False

    try:
        wait_until(login, timeout=min(300.0, ctx.clock.remaining()), interval=1.0, what=f"SQL login at {address}")
    except WaitTimeout as exc:
        raise StepFailed(step, f"cannot reach the restored DB at {address}: {last[0] or exc}") from None


def step_restore(ctx: DrillContext) -> None:
    rds = ctx.client("rds")
    production = rds_api.describe_instance(rds, ctx.settings.rds_instance)
    operation, params = restore_call(ctx, production)
    ident = ctx.names.db_instance
    entry = ctx.record("rds-instance", ident, RESTORE)
    try:
        rds_api.describe_instance(rds, ident)
        log.info("restore: %s exists already (resumed drill)", ident)
    except RecoveryError:
        getattr(rds, operation)(**params)
    ctx.ledger.created(entry)

    def progress(resp: dict[str, Any] | None) -> str:
        dbs = (resp or {}).get("DBInstances") or [{}]
        return f"(status {dbs[0].get('DBInstanceStatus', '?')})"

    try:
        wait_waiter(
            rds,
            "db_instance_available",
            what=f"RDS instance {ident} available",
            timeout=ctx.clock.remaining(),
            max_delay=ctx.options.drill_poll_seconds,
            progress=progress,
            DBInstanceIdentifier=ident,
        )
    except WaitTimeout as exc:
        raise StepFailed(RESTORE, str(exc)) from None
    restored = rds_api.describe_instance(rds, ident)
    endpoint = f"{restored['Endpoint']['Address']}:{restored['Endpoint']['Port']}"
    address = ctx.options.drill_db_host or endpoint
    ctx.state["restored"] = {
        "instance": ident,
        "endpoint": endpoint,
        "sql_address": address,
        "class": restored.get("DBInstanceClass"),
        "operation": operation,
    }
    ctx.save()
    verify_login(ctx, address, production_password(ctx), RESTORE)


# ---- step 4: redeploy ---------------------------------------------------------------------------
def _password(ctx: DrillContext) -> Secret:
    return ctx.secrets.get("db_password") or production_password(ctx)


def restored_db(ctx: DrillContext) -> AbstractContextManager[psycopg.Connection[Any]]:
    """A read-only session on the restored database (as the master user, with the verified password)."""
    s = ctx.settings
    return db.connect(Endpoint(ctx.state["restored"]["sql_address"], s.db_user, _password(ctx), s.db_name), 10)


def recovered_environment(ctx: DrillContext) -> Environment:
    """The drill's recovered copy, for the §5 checks (plan §4 step 5): its site, restored DB,
    cluster and services; log groups as its web task definitions configure them (read-only)."""
    s = ctx.settings
    env = ctx.state["environment"]
    services = {prod: str(svc["name"]) for prod, svc in env["services"].items()}
    ecs = ctx.client("ecs")
    groups: dict[str, str] = {}
    for prod in s.web_services:
        if prod in env["services"]:
            td = ecs_api.describe_task_definition(ecs, env["services"][prod]["task_definition"])
            groups[prod] = log_group_of(td, s.app_container) or ctx.names.log_group(prod)
    return Environment(
        kind=RECOVERED,
        label=f"drill {ctx.drill_id}",
        site_url=env["site_url"],
        db=Endpoint(ctx.state["restored"]["sql_address"], s.db_user, _password(ctx), s.db_name),
        cluster=env["cluster"],
        services=services,
        log_groups=groups,
    )


def roll_out(ctx: DrillContext, changes: dict[str, str], step: str) -> dict[str, str]:
    """New revisions of every drill family with `changes` in the app env, deployed, settled."""
    env = ctx.state["environment"]
    ecs = ctx.client("ecs")
    expected: dict[str, str] = {}
    for svc in env["services"].values():
        td = ecs_api.describe_task_definition(ecs, svc["task_definition"])
        family = ecs_api.family_and_revision(td["taskDefinitionArn"])[0]
        spec = provision.clone_spec(td, family, ctx.settings.app_container, changes, None)
        arn = provision.register(ctx, spec, step)
        ecs.update_service(
            cluster=env["cluster"], service=svc["name"], taskDefinition=arn, desiredCount=1, forceNewDeployment=True
        )
        svc["task_definition"] = arn
        expected[svc["name"]] = arn
        ctx.save()
    wait_rollout(ctx, expected, step)
    return expected


def wait_rollout(ctx: DrillContext, expected: dict[str, str], step: str) -> None:
    """Every service: one PRIMARY deployment of its new revision, COMPLETED, running == desired (plan 4 2.4)."""
    ecs, logs = ctx.client("ecs"), ctx.client("logs")
    cluster = ctx.state["environment"]["cluster"]
    started = utcnow()
    last: list[str] = []

    def evidence(services: list[str]) -> dict[str, Any]:
        return {
            "services": [
                diagnose_service(ecs, logs, cluster, s, ctx.settings.app_container, started) for s in services
            ],
            "rollout": list(last),
        }

    def settled() -> bool:
        ok, failed, lines = rollout_progress(ecs, cluster, expected)
        last[:] = lines
        if failed:
            raise StepFailed(step, rollout_failed(ctx.settings, failed, lines, stuck=False).text(), evidence(failed))
        return ok

    try:
        wait_until(
            settled,
            timeout=ctx.clock.remaining(),
            interval=min(2.0, ctx.options.drill_poll_seconds),
            what=f"rollout of {len(expected)} drill service(s)",
        )
    except WaitTimeout:
        raise StepFailed(
            step,
            rollout_failed(ctx.settings, list(expected), last, stuck=True).text(),
            evidence(list(expected)),
        ) from None


def step_redeploy(ctx: DrillContext) -> None:
    restored = ctx.state["restored"]
    password = _password(ctx)
    changes = {
        "RDS_DB_HOST": restored["endpoint"],
        "RDS_DB_PASSWORD": password.reveal(),
        **provision.isolation_env(ctx.names, ctx.state["environment"].get("site_url", "")),
    }
    ctx.state["redeployed"] = roll_out(ctx, changes, REDEPLOY)


# ---- step 5: storage ----------------------------------------------------------------------------
def clone_bucket(ctx: DrillContext) -> str:
    """Copy the files bucket into `<prefix>-drill-<id>-files` (plan 4 step 3, option 2)."""
    s3 = ctx.client("s3")
    bucket = ctx.names.files_bucket
    entry = ctx.record("s3-bucket", bucket, STORAGE)
    if not s3_api.bucket_exists(s3, bucket):
        region = ctx.settings.region
        loc = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **loc)
    ctx.ledger.created(entry)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": ctx.names.tag_list()})
    keys = [o["Key"] for o in s3_api.iter_objects(s3, ctx.settings.files_bucket)]

    def copy(key: str) -> None:
        s3.copy({"Bucket": ctx.settings.files_bucket, "Key": key}, bucket, key)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(copy, keys))
    ctx.state["storage_clone"] = {"bucket": bucket, "objects": len(keys)}
    return bucket


def step_storage(ctx: DrillContext) -> None:
    env = ctx.state["environment"]
    bucket = ctx.settings.files_bucket
    if ctx.options.drill_storage == "clone":
        bucket = clone_bucket(ctx)
        roll_out(ctx, {"S3_BUCKET_NAME": bucket}, STORAGE)
    with restored_db(ctx) as conn:
        samples = db.sample_files(conn)
    if not samples:
        # An empty restore (plan 6.2) has no file to read: storage is unproven, not broken; the
        # download check says so and the data checks say why.
        ctx.state["storage"] = {"mode": ctx.options.drill_storage, "bucket": bucket, "samples": []}
        return
    results = []
    for sample in samples:
        got = site_api.download_record_file(env["site_url"], sample["recid"], sample["key"])
        got.update(expected=sample["checksum"], size=sample["size"], uri=sample["uri"])
        got["ok"] = got.get("status") == 200 and got.get("md5") == sample["checksum"]
        results.append(got)
    ctx.state["storage"] = {"mode": ctx.options.drill_storage, "bucket": bucket, "samples": results}
    if not any(r.get("status") == 200 for r in results):
        raise StepFailed(STORAGE, diagnosis.storage_unreadable(ctx, bucket, results).text(), {"samples": results})


# ---- step 6: reindex ----------------------------------------------------------------------------
def _ui_service(ctx: DrillContext) -> dict[str, Any]:
    services = ctx.state["environment"]["services"]
    web = [s for s in ctx.settings.web_services if s in services and "api" not in s]
    name = (web or list(services))[0]
    return dict(services[name])


def step_reindex(ctx: DrillContext) -> None:
    env = ctx.state["environment"]
    ecs, logs = ctx.client("ecs"), ctx.client("logs")
    svc = _ui_service(ctx)
    td = ecs_api.describe_task_definition(ecs, svc["task_definition"])
    prefix = (ecs_api.container_env(td, ctx.settings.app_container) or {}).get("INVENIO_SEARCH_INDEX_PREFIX", "")
    if not prefix.startswith(ctx.names.base):
        raise StepFailed(
            REINDEX,
            f"refusing `invenio index destroy`: {ecs_api.short(svc['task_definition'])} has "
            f"INVENIO_SEARCH_INDEX_PREFIX={prefix!r}, not the drill's own {ctx.names.search_prefix!r}",
        )
    entry = ctx.record(
        "search-indices",
        prefix,
        REINDEX,
        cluster=env["cluster"],
        task_definition=svc["task_definition"],
        network=env.get("network"),
        launch=env.get("launch"),
    )
    ctx.ledger.created(entry)

    def started(arn: str) -> None:
        ctx.ledger.created(ctx.record("ecs-task", arn, REINDEX, cluster=env["cluster"]))

    tasks = []
    for command in REINDEX_COMMANDS:
        try:
            result = run_one_off(
                ecs,
                logs,
                cluster=env["cluster"],
                task_definition=svc["task_definition"],
                container=ctx.settings.app_container,
                command=list(command),
                network=env.get("network"),
                launch=env.get("launch") or {"launchType": "FARGATE"},
                started_by=f"drill-{ctx.drill_id}",
                timeout=ctx.clock.remaining(),
                max_delay=ctx.options.drill_poll_seconds,
                step=REINDEX,
                on_started=started,
            )
        except StepFailed as exc:
            found = diagnosis.one_off_failed(ctx, svc, exc.diagnostics)
            if found is None:
                raise
            raise StepFailed(REINDEX, found.text(), exc.diagnostics) from exc
        result["log_lines"] = result["log_lines"][-10:]
        tasks.append(result)
        ctx.state["reindex"] = {"tasks": tasks}
        ctx.save()
    with restored_db(ctx) as conn:
        expected = db.latest_published_count(conn)
    seen: list[int | None] = [None]

    def caught_up() -> bool:
        seen[0] = site_api.Site(env["site_url"], verify_tls=False).records_total()[1]
        return seen[0] == expected

    try:
        wait_until(
            caught_up,
            timeout=ctx.clock.remaining(),
            interval=min(2.0, ctx.options.drill_poll_seconds),
            what=f"search total to reach {expected} (Celery drains the reindex queue)",
        )
    except WaitTimeout:
        raise StepFailed(
            REINDEX,
            f"GET {env['site_url']}/api/records?size=1 total is {seen[0]}, the restored DB has {expected} "
            "latest published records (plan 4 step 4)",
            {"tasks": tasks},
        ) from None
    finally:
        ctx.state["reindex"] = {"tasks": tasks, "expected": expected, "total": seen[0]}


# ---- step 7: verify (measure; the checks judge) -------------------------------------------------
def verify(ctx: DrillContext) -> dict[str, Any]:
    """Collect what the drill checks evaluate; measures data loss (RPO). Never asserts.

    The site, search, files and admin of the recovered copy are judged by the health suite's §5
    checks `[recovered]` (recovered_environment), not measured again here.
    """
    s = ctx.settings
    started = as_utc(ctx.state["started_at"])
    recovery_point = as_utc(ctx.state["recovery"]["recovery_point"])
    out: dict[str, Any] = {}
    with restored_db(ctx) as conn:
        out["restored"] = db.counts_as_of(conn)
        restored_newest = db.newest_change(conn)
    out["restored_newest_change"] = iso(restored_newest) if restored_newest else None
    production_newest = None
    production_oldest = None
    if s.db_host:
        try:
            with db.connect(Endpoint(s.db_host, s.db_user, s.db_password, s.db_name), 10) as conn:
                out["production_as_of_recovery_point"] = db.counts_as_of(conn, as_of=recovery_point)
                production_newest = db.newest_change(conn, before=started)
                production_oldest = db.oldest_change(conn)
            out["data_loss_basis"] = "production newest change before the drill started - restored newest change"
        except psycopg.Error as exc:
            out["production_error"] = redact(str(exc))
    if production_newest is None:
        production_newest = started
        out["data_loss_basis"] = "drill start - restored newest change (production DB not reachable: an upper bound)"
    out["production_newest_change"] = iso(production_newest)
    if restored_newest is None and production_oldest is not None:
        # Nothing was restored (plan 6.2): everything production holds is lost.
        restored_newest = production_oldest
        out["data_loss_basis"] += "; the restored DB has no rows, so from production's oldest change"
    ctx.clock.measure_data_loss(production_newest, restored_newest)
    ctx.state["verify"] = out
    ctx.save()
    return out


STEP_FUNCTIONS: dict[str, Callable[[DrillContext], None]] = {
    PROVISION: step_provision,
    GATE: step_snapshot_gate,
    RESTORE: step_restore,
    REDEPLOY: step_redeploy,
    STORAGE: step_storage,
    REINDEX: step_reindex,
}


# ---- plan mode ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedCall:
    step: str
    service: str
    operation: str
    target: str
    detail: str = ""

    def line(self) -> str:
        extra = f"  ({self.detail})" if self.detail else ""
        return f"{self.step:<14} {self.service}:{self.operation} {self.target}{extra}"


def plan(ctx: DrillContext) -> list[PlannedCall]:
    """Every mutating AWS call the drill would make, from read-only looks at production."""
    s, n = ctx.settings, ctx.names
    calls: list[PlannedCall] = [PlannedCall(PROVISION, "ssm", "PutParameter", lock_name(n.prefix), "drill lock")]
    p = PROVISION
    if ctx.options.provisioner == "terraform":
        calls.append(PlannedCall(p, "terraform", "apply", n.terraform_workspace, f"in {ctx.options.terraform_dir}"))
    else:
        calls.append(PlannedCall(p, "ecs", "CreateCluster", n.cluster))
        calls += [PlannedCall(p, "logs", "CreateLogGroup", n.log_group(svc)) for svc in s.ecs_services]
        if s.web_services:
            calls.append(PlannedCall(p, "elbv2", "CreateLoadBalancer", n.load_balancer))
            roles = sorted({"api" if "api" in w else "ui" for w in s.web_services})
            calls += [PlannedCall(p, "elbv2", "CreateTargetGroup", n.target_group(r)) for r in roles]
            calls.append(PlannedCall(p, "elbv2", "CreateListener", n.load_balancer, "HTTP :80"))
            if len(roles) == 2:
                calls.append(PlannedCall(p, "elbv2", "CreateRule", n.load_balancer, "/api/* -> web-api"))
        for svc in s.ecs_services:
            calls.append(PlannedCall(p, "ecs", "RegisterTaskDefinition", n.family(svc), "clone of production's"))
            calls.append(PlannedCall(p, "ecs", "CreateService", n.service(svc), "desired 0"))
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
        ctx.state["recovery"] = decision.as_state()
        production = rds_api.describe_instance(ctx.client("rds"), s.rds_instance)
        operation, params = restore_call(ctx, production)
        source = params.get("DBSnapshotIdentifier") or f"{s.rds_instance} at {decision.as_state()['recovery_point']}"
        calls.append(
            PlannedCall(
                RESTORE, "rds", API_NAMES[operation], n.db_instance, f"from {source}, class {params['DBInstanceClass']}"
            )
        )
    except StepFailed as exc:
        calls.append(PlannedCall(GATE, "-", "REFUSED", s.rds_instance, str(exc)))
    for svc in s.ecs_services:
        detail = "RDS_DB_HOST=<restored endpoint>, verified RDS_DB_PASSWORD"
        calls.append(PlannedCall(REDEPLOY, "ecs", "RegisterTaskDefinition", n.family(svc), detail))
        calls.append(PlannedCall(REDEPLOY, "ecs", "UpdateService", n.service(svc), "desired 1, forceNewDeployment"))
    if ctx.options.drill_storage == "clone":
        calls.append(PlannedCall(STORAGE, "s3", "CreateBucket", n.files_bucket))
        calls.append(PlannedCall(STORAGE, "s3", "CopyObject", n.files_bucket, f"every object of {s.files_bucket}"))
        for svc in s.ecs_services:
            detail = f"S3_BUCKET_NAME={n.files_bucket}"
            calls.append(PlannedCall(STORAGE, "ecs", "UpdateService", n.service(svc), detail))
    for command in REINDEX_COMMANDS:
        calls.append(PlannedCall(REINDEX, "ecs", "RunTask", n.cluster, " ".join(command)))
    t = TEARDOWN
    calls.append(PlannedCall(t, "ecs", "RunTask", n.cluster, "invenio index destroy --yes-i-know (drill indices)"))
    if ctx.options.drill_storage == "clone":
        calls.append(PlannedCall(t, "s3", "DeleteObjects+DeleteBucket", n.files_bucket))
    calls.append(PlannedCall(t, "rds", "DeleteDBInstance", n.db_instance, "SkipFinalSnapshot"))
    if ctx.options.provisioner == "terraform":
        calls.append(PlannedCall(t, "terraform", "destroy", n.terraform_workspace))
    else:
        calls += [PlannedCall(t, "ecs", "DeleteService", n.service(svc), "force") for svc in s.ecs_services]
        calls += [
            PlannedCall(t, "ecs", "DeregisterTaskDefinition", n.family(x), "all revisions") for x in s.ecs_services
        ]
        if s.web_services:
            calls.append(PlannedCall(t, "elbv2", "DeleteListener", n.load_balancer))
            calls.append(PlannedCall(t, "elbv2", "DeleteTargetGroup", n.name("tg-*")))
            calls.append(PlannedCall(t, "elbv2", "DeleteLoadBalancer", n.load_balancer))
        calls.append(PlannedCall(t, "ecs", "DeleteCluster", n.cluster))
        calls += [PlannedCall(t, "logs", "DeleteLogGroup", n.log_group(svc)) for svc in s.ecs_services]
    calls.append(PlannedCall(t, "ssm", "DeleteParameter", lock_name(n.prefix), "release the drill lock"))
    return calls
