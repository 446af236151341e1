"""Step reindex (plan 4 step 4): the drill's own indices rebuilt from the restored database.

Through the image's entrypoint, as one-off tasks of the drill's web-ui revision:
`invenio index destroy --yes-i-know`, `invenio index init`, `invenio rdm rebuild-all-indices`
(FACTS: the plan's `rdm-records rebuild-index` misses users, communities and requests). The
drill's revisions carry INVENIO_SEARCH_INDEX_PREFIX=<prefix>-drill-<id>-, so `index destroy`
can only reach the drill's indices; the step refuses to run otherwise. Reindexing is
asynchronous: the step ends when the site's search total equals the restored DB's count, or when
it has stopped moving (the indexer queue drained short of it: records the image's indexer rejects
are logged by the worker and skipped, the command still exits 0). Whether the index agrees with
the database is then judged by the recovered copy's parity check (plan 2.3), not by this step.
"""

from __future__ import annotations

import time

from recovery import db
from recovery import site as site_api
from recovery.aws import ecs as ecs_api
from recovery.drill import diagnosis
from recovery.drill.context import DrillContext, PlannedCall
from recovery.drill.ecsops import run_one_off
from recovery.drill.state import DrillService, ReindexResult
from recovery.drill.steps import restore
from recovery.errors import StepFailed, WaitTimeout
from recovery.timeutil import wait_until

# The total must stay still this many settle windows (TURATH_SEARCH_SETTLE_SECONDS, the time the
# indexer queue may take between batches) before the queue counts as drained short of the DB.
SETTLED_WINDOWS = 3

NAME = "reindex"
COMMANDS = (
    ["invenio", "index", "destroy", "--yes-i-know"],
    ["invenio", "index", "init"],
    ["invenio", "rdm", "rebuild-all-indices"],
)


def ui_service(ctx: DrillContext) -> DrillService:
    services = ctx.require(ctx.state.environment, NAME).services
    web = [s for s in ctx.settings.web_services if s in services and "api" not in s]
    return services[(web or list(services))[0]]


def run(ctx: DrillContext) -> None:
    env = ctx.require(ctx.state.environment, NAME)
    ecs, logs = ctx.client("ecs"), ctx.client("logs")
    svc = ui_service(ctx)
    td = ecs_api.describe_task_definition(ecs, svc.task_definition)
    prefix = (ecs_api.container_env(td, ctx.settings.app_container) or {}).get("INVENIO_SEARCH_INDEX_PREFIX", "")
    if not prefix.startswith(ctx.names.base):
        raise StepFailed(
            NAME,
            f"refusing `invenio index destroy`: {ecs_api.short(svc.task_definition)} has "
            f"INVENIO_SEARCH_INDEX_PREFIX={prefix!r}, not the drill's own {ctx.names.search_prefix!r}",
        )
    # Written down before the first task can create an index; deleted through the search service.
    ctx.ledger.created(ctx.record("search-indices", prefix, NAME))
    result = ReindexResult(search_prefix=prefix)
    ctx.state.reindex = result

    def started(arn: str) -> None:
        ctx.ledger.created(ctx.record("ecs-task", arn, NAME, cluster=env.cluster))

    for command in COMMANDS:
        try:
            done = run_one_off(
                ecs,
                logs,
                cluster=env.cluster,
                task_definition=svc.task_definition,
                container=ctx.settings.app_container,
                command=list(command),
                network=env.network,
                launch=env.launch or {"launchType": "FARGATE"},
                started_by=f"drill-{ctx.drill_id}",
                timeout=ctx.timeouts.one_off,
                max_delay=ctx.options.drill_poll_seconds,
                step=NAME,
                on_started=started,
                tags=ctx.names.ecs_tags(),
            )
        except StepFailed as exc:
            found = diagnosis.one_off_failed(ctx, svc, exc.diagnostics)
            if found is None:
                raise
            raise found.failed(NAME, exc.diagnostics) from exc
        done["log_lines"] = done["log_lines"][-10:]
        result.tasks.append(done)
        ctx.save()
    with restore.restored_db(ctx) as conn:
        result.expected = db.latest_published_count(conn)
    site = site_api.Site(env.site_url, verify_tls=False, address=env.site_address)
    settle = SETTLED_WINDOWS * ctx.settings.search_settle_seconds
    last: list[tuple[int | None, float]] = [(None, time.monotonic())]  # the total, and since when

    def caught_up() -> bool:
        result.total = site.records_total()[1]
        now = time.monotonic()
        if result.total != last[0][0]:
            last[0] = (result.total, now)
        drained = result.total is not None and now - last[0][1] >= settle
        return result.total == result.expected or drained

    try:
        wait_until(
            caught_up,
            timeout=ctx.timeouts.reindex,
            interval=min(2.0, ctx.options.drill_poll_seconds),
            what=f"search total to reach {result.expected} or stop moving (Celery drains the reindex queue)",
            status=lambda: f"total {result.total}",
        )
    except WaitTimeout:
        raise StepFailed(
            NAME,
            f"GET {env.site_url}/api/records?size=1 total is {result.total} and still moving or unreadable after "
            f"{ctx.timeouts.reindex:.0f} s; the restored DB has {result.expected} latest published records "
            "(plan 4 step 4)",
            {"tasks": result.tasks},
            plan_section="4",
        ) from None
    finally:
        ctx.save()


def planned(ctx: DrillContext) -> list[PlannedCall]:
    cluster = ctx.names.cluster
    return [PlannedCall(NAME, "ecs", "RunTask", cluster, " ".join(c)) for c in COMMANDS]
