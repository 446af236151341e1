"""Step verify (plan 4 step 5): measure the recovered copy for the checks to judge. Never asserts.

The site, search, files and admin of the recovered copy are judged by the health suite's §5
checks `[recovered]` (`recovered_environment`); this step measures what only the drill can:
counts on both sides and the newest change, i.e. the data a recovery loses (RPO).
"""

from __future__ import annotations

import psycopg

from recovery import db
from recovery.aws import ecs as ecs_api
from recovery.db import Endpoint
from recovery.drill.context import DrillContext, PlannedCall
from recovery.drill.ecsops import log_group_of
from recovery.drill.state import Verification
from recovery.drill.steps import restore
from recovery.environment import RECOVERED, Environment
from recovery.secrets import redact
from recovery.timeutil import as_utc, iso

NAME = "verify"


def recovered_environment(ctx: DrillContext) -> Environment:
    """The drill's recovered copy, for the §5 checks (plan §4 step 5): its site, restored DB,
    cluster and services; log groups as its web task definitions configure them (read-only)."""
    s = ctx.settings
    env = ctx.require(ctx.state.environment, NAME)
    restored = ctx.require(ctx.state.restored, NAME)
    ecs = ctx.client("ecs")
    groups: dict[str, str] = {}
    for prod in s.web_services:
        if prod in env.services:
            td = ecs_api.describe_task_definition(ecs, env.services[prod].task_definition)
            groups[prod] = log_group_of(td, s.app_container) or ctx.names.log_group(prod)
    return Environment(
        kind=RECOVERED,
        label=f"drill {ctx.drill_id}",
        site_url=env.site_url,
        site_address=env.site_address,
        db=Endpoint(restored.sql_address, s.db_user, restore.password(ctx), s.db_name),
        cluster=env.cluster,
        services={prod: svc.name for prod, svc in env.services.items()},
        log_groups=groups,
    )


def run(ctx: DrillContext) -> Verification:
    s = ctx.settings
    started = as_utc(ctx.state.started_at)
    point = ctx.require(ctx.state.recovery, NAME)
    recovery_point = as_utc(str(point.recovery_point))
    out = Verification()
    with restore.restored_db(ctx) as conn:
        out.restored = db.counts_as_of(conn)
        restored_newest = db.newest_change(conn)
    out.restored_newest_change = iso(restored_newest) if restored_newest else None
    production_newest = None
    production_oldest = None
    if s.db_host:
        try:
            with db.connect(Endpoint(s.db_host, s.db_user, s.db_password, s.db_name), 10) as conn:
                out.production_as_of_recovery_point = db.counts_as_of(conn, as_of=recovery_point)
                production_newest = db.newest_change(conn, before=started)
                production_oldest = db.oldest_change(conn)
            out.data_loss_basis = "production newest change before the drill started - restored newest change"
        except psycopg.Error as exc:
            out.production_error = redact(str(exc))
    if production_newest is None:
        production_newest = started
        out.data_loss_basis = "drill start - restored newest change (production DB not reachable: an upper bound)"
    out.production_newest_change = iso(production_newest)
    if restored_newest is None and production_oldest is not None:
        # Nothing was restored (plan 6.2): everything production holds is lost.
        restored_newest = production_oldest
        out.data_loss_basis += "; the restored DB has no rows, so from production's oldest change"
    ctx.clock.measure_data_loss(production_newest, restored_newest)
    ctx.state.verify = out
    ctx.save()
    return out


def planned(ctx: DrillContext) -> list[PlannedCall]:
    """No mutating call: verification only reads."""
    return []
