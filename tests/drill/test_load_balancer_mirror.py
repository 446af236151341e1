"""The drill's load balancer is production's, copied: listeners, rules, certificate, health checks.

Issue 9: a production rule sending /api/* to a fixed 503 was not copied, so the drill passed while
production's API was down. The drill's copy must answer as production would once DNS pointed at
it: the same rules (forwards retargeted to the drill's own target groups), the same HTTPS listener
and certificate, the same redirect, the same target group health checks and grace period. The
`https` production shape (twin/shape_https.py) is the common real one; health and the drill pass
on it with every other profile (tests/test_profiles.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recovery.aws import elbv2 as elbv2_api
from recovery.drill import engine
from recovery.drill.context import DrillOptions
from tests.conftest import SuiteRun, twin_env
from tests.drill.conftest import DrillEnv
from twin import shape_https
from twin.core import Twin


def run_drill(run_suite: Callable[..., SuiteRun], twin: Twin) -> SuiteRun:
    env = {**twin_env(twin), "TURATH_DRILL_POLL_SECONDS": "0.5"}
    return run_suite("-m", "drill", "-p", "no:randomly", env=env, timeout=300)


def production_listener(twin: Twin, protocol: str) -> dict[str, Any]:
    elb = twin.client("elbv2")
    lb = elb.describe_load_balancers(Names=[twin.spec.alb_name])["LoadBalancers"][0]
    return next(ls for ls in elbv2_api.listeners(elb, lb["LoadBalancerArn"]) if ls["Protocol"] == protocol)


def test_a_production_rule_answering_503_fails_the_recovered_api(
    run_suite: Callable[..., SuiteRun], fresh_twin: Twin
) -> None:
    fresh_twin.client("elbv2").create_rule(
        ListenerArn=production_listener(fresh_twin, "HTTP")["ListenerArn"],
        Priority=1,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Actions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain", "MessageBody": "maintenance"},
            }
        ],
    )
    run = run_drill(run_suite, fresh_twin)
    checks = {c["id"]: c for c in run.results["checks"]}
    api = checks["site_api_records_total_positive"]
    assert api["outcome"] in ("failed", "error"), run.stdout[-4000:]
    assert "503" in api["message"], api["message"]
    assert "'maintenance'" in api["message"], "the copied rule's own answer is the evidence"
    assert run.returncode == 1
    assert run.results["drill"]["leftovers"] == []


def test_https_shape_is_mirrored_by_the_drill(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    shape_https.apply(fresh_twin)
    settings, aws = drill_env(fresh_twin, site_url=fresh_twin.site_url)
    ctx = engine.begin(settings, aws, DrillOptions.from_settings(settings, drill_poll_seconds=0.5))
    try:
        engine.run_step(ctx, "provision")
        env = ctx.state.environment
        assert env is not None
        assert env.load_balancer is not None
        elb = fresh_twin.client("elbv2")
        drill = {ls["Protocol"]: ls for ls in elbv2_api.listeners(elb, env.load_balancer["arn"])}
        prod = {p: production_listener(fresh_twin, p) for p in ("HTTP", "HTTPS")}
        assert sorted(drill) == ["HTTP", "HTTPS"]
        assert drill["HTTPS"]["Port"] == 443
        assert drill["HTTPS"]["Certificates"] == prod["HTTPS"]["Certificates"]
        assert drill["HTTPS"]["SslPolicy"] == shape_https.SSL_POLICY
        assert drill["HTTPS"]["DefaultActions"][0]["Type"] == "fixed-response"
        assert drill["HTTP"]["DefaultActions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"

        drill_tgs = {svc.target_group for svc in env.services.values() if svc.target_group}
        rules = elbv2_api.rules(elb, drill["HTTPS"]["ListenerArn"])
        prod_rules = elbv2_api.rules(elb, prod["HTTPS"]["ListenerArn"])
        assert [r["Priority"] for r in rules] == [r["Priority"] for r in prod_rules]
        assert [r["Conditions"] for r in rules] == [elbv2_api.conditions(r["Conditions"]) for r in prod_rules]
        assert {r["Actions"][0]["TargetGroupArn"] for r in rules} == drill_tgs  # forwards stay inside the drill

        prod_tgs = elb.describe_target_groups(Names=["invenio-default-web-ui"])["TargetGroups"]
        mine = elbv2_api.target_groups(elb, sorted(drill_tgs))
        for tg in mine.values():
            assert elbv2_api.health_check(tg) == elbv2_api.health_check(prod_tgs[0])
        assert mine[next(iter(drill_tgs))]["HealthyThresholdCount"] == 2  # the shape's, not the default 5

        web = [env.services[s].name for s in settings.web_services]
        described = fresh_twin.client("ecs").describe_services(cluster=env.cluster, services=web)["services"]
        assert {s["healthCheckGracePeriodSeconds"] for s in described} == {shape_https.GRACE_SECONDS}
        # Production's host name, dialed at the drill's load balancer: the host rules and certificate hold.
        assert env.site_url == fresh_twin.site_url
        assert env.site_address == env.load_balancer["dns"]
    finally:
        summary = engine.finish(ctx)
    assert summary["leftovers"] == []
