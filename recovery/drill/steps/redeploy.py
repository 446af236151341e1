"""Step redeploy (plan 4 step 2.2.3-2.4): new revisions pointed at the restored DB, rolled out.

A new revision of every drill family with RDS_DB_HOST and RDS_DB_PASSWORD of the restored
instance, each service updated to it (`--task-definition`, not `--force-new-deployment` alone,
which would redeploy the old revision), then the rollout watched until it is COMPLETED.
"""

from __future__ import annotations

from typing import Any

from recovery.aws import ecs as ecs_api
from recovery.diagnosis import rollout_failed
from recovery.drill.context import DrillContext, PlannedCall
from recovery.drill.ecsops import diagnose_service, rollout_progress
from recovery.drill.steps import provision, restore
from recovery.errors import StepFailed, WaitTimeout
from recovery.timeutil import utcnow, wait_until

NAME = "redeploy"
URI = "INVENIO_SQLALCHEMY_DATABASE_URI"


def roll_out(
    ctx: DrillContext, changes: dict[str, str], step: str, keep_references: tuple[str, ...] = ()
) -> dict[str, str]:
    """New revisions of every drill family with `changes` in the app env, deployed, settled."""
    env = ctx.require(ctx.state.environment, step)
    ecs = ctx.client("ecs")
    expected: dict[str, str] = {}
    for svc in env.services.values():
        td = ecs_api.describe_task_definition(ecs, svc.task_definition)
        _refuse_database_uri(td, ctx.settings.app_container, step)
        family = ecs_api.family_and_revision(td["taskDefinitionArn"])[0]
        spec = provision.clone_spec(td, family, ctx.settings.app_container, changes, None, keep_references)
        arn = provision.register(ctx, spec, step)
        ecs.update_service(
            cluster=env.cluster, service=svc.name, taskDefinition=arn, desiredCount=1, forceNewDeployment=True
        )
        svc.task_definition = arn
        expected[svc.name] = arn
        ctx.save()
    wait_rollout(ctx, expected, step)
    return expected


def _refuse_database_uri(td: dict[str, Any], container: str, step: str) -> None:
    """A full INVENIO_SQLALCHEMY_DATABASE_URI names production's host: the drill rewrites RDS_DB_* only, so it stops."""
    for c in td.get("containerDefinitions", []):
        delivered = {e["name"]: "environment" for e in c.get("environment", [])}
        delivered.update({s["name"]: s["valueFrom"] for s in c.get("secrets") or []})
        if c.get("name") == container and URI in delivered:
            raise StepFailed(
                step,
                f"{ecs_api.short(td['taskDefinitionArn'])} delivers {URI} (from {delivered[URI]}): the drill rewires "
                "RDS_DB_HOST and RDS_DB_PASSWORD only and will not start tasks that could reach production's database; "
                "let the image's entrypoint build the URI from RDS_DB_* (plan 2.5)",
                plan_section="2.5",
            )


def wait_rollout(ctx: DrillContext, expected: dict[str, str], step: str) -> None:
    """Every service: one PRIMARY deployment of its new revision, COMPLETED, running == desired (plan 4 2.4)."""
    ecs, logs = ctx.client("ecs"), ctx.client("logs")
    cluster = ctx.require(ctx.state.environment, step).cluster
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
            raise rollout_failed(ctx.settings, failed, lines, stuck=False).failed(step, evidence(failed))
        return ok

    try:
        wait_until(
            settled,
            timeout=ctx.timeouts.rollout,
            interval=min(2.0, ctx.options.drill_poll_seconds),
            what=f"rollout of {len(expected)} drill service(s)",
            status=lambda: "; ".join(last),
        )
    except WaitTimeout:
        found = rollout_failed(ctx.settings, list(expected), last, stuck=True)
        raise found.failed(step, evidence(list(expected))) from None


def run(ctx: DrillContext) -> None:
    """The host goes into `environment` whichever way production delivers it (an endpoint is no secret).

    The password keeps production's reference when production delivers it through `secrets`:
    the restored instance's master password is production's, and the restore step has just
    logged in with the value that reference delivers. So no plaintext password lands in a task
    definition that production kept free of one, and no drill-made secret needs the production
    execution role's permission to be read. A password in `environment` is rewritten there.
    """
    restored = ctx.require(ctx.state.restored, NAME)
    env = ctx.require(ctx.state.environment, NAME)
    changes = {
        "RDS_DB_HOST": restored.endpoint,
        "RDS_DB_PASSWORD": restore.password(ctx).reveal(),
        **provision.isolation_env(ctx.names, env.site_url),
    }
    ctx.state.redeployed = roll_out(ctx, changes, NAME, keep_references=("RDS_DB_PASSWORD",))


def planned(ctx: DrillContext) -> list[PlannedCall]:
    n = ctx.names
    detail = "RDS_DB_HOST=<restored endpoint>, verified RDS_DB_PASSWORD"
    calls: list[PlannedCall] = []
    for svc in ctx.settings.ecs_services:
        calls.append(PlannedCall(NAME, "ecs", "RegisterTaskDefinition", n.family(svc), detail))
        calls.append(PlannedCall(NAME, "ecs", "UpdateService", n.service(svc), "--task-definition <new>, desired 1"))
    return calls
