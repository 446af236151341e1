"""Step provision (plan 4 step 1): a parallel environment for the drill, by one of two provisioners.

`ecs-clone` (default, API only): a drill cluster; per production service a task-definition
family cloned from the revision it runs; an application load balancer that mirrors production's
(every listener with its certificate, SSL policy and default action, every rule with its
priority, conditions and actions, each target group's health check; forward actions go to the
drill's own target groups), or, when production has none, `/api/*` -> web-api and everything else
-> web-ui on HTTP:80; the services, created at desired count 0 with production's health-check
grace period, so no drill task ever runs against production data: they start in the redeploy
step, pointed at the restored DB.

Security groups: the drill's load balancer reuses production's. Its listeners are production's,
so the same ports must be open to the same clients; and production's task security group admits
the load balancer by its group id, which a drill-made group would not carry unless production's
task group were changed (the drill never mutates production). When production routes by host
name, the drill's site is production's host name dialed at the drill's load balancer
(`DrillEnvironment.site_address`): rules and certificate stay production's, verbatim.

`terraform`: `terraform apply` in workspace `drill-<id>` of the configuration in
TURATH_TERRAFORM_DIR with `-var drill_id=<id>`; its outputs `cluster` (name), `services`
(map production service -> drill service) and `site_url` describe the environment. The
configuration must name and tag what it creates like the drill does (`<prefix>-drill-<id>-*`,
`drill-id=<id>`), or the guard refuses the later steps.

Isolation: the clones share production's OpenSearch, cache and broker endpoints, so every drill
task definition carries its own index prefix, cache key prefix and Celery queue; `invenio index
destroy` in a drill task can then only reach the drill's indices.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from recovery.aws import ecs as ecs_api
from recovery.aws import elbv2 as elbv2_api
from recovery.drill.context import DrillContext, PlannedCall
from recovery.drill.ecsops import wait_waiter
from recovery.drill.naming import DrillNames
from recovery.drill.state import DrillEnvironment, DrillService
from recovery.errors import NotFound, StepFailed
from recovery.secrets import redact

log = logging.getLogger(__name__)

NAME = STEP = "provision"
_TD_KEYS = (
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "ephemeralStorage",
    "runtimePlatform",
)


def isolation_env(names: DrillNames, site_url: str) -> dict[str, str]:
    """Environment that keeps drill tasks off production's shared services (see module doc)."""
    env = {
        "INVENIO_SEARCH_INDEX_PREFIX": names.search_prefix,
        "INVENIO_CACHE_KEY_PREFIX": f"{names.base}:",
        "INVENIO_CELERY_TASK_DEFAULT_QUEUE": names.base,
    }
    if site_url:
        env.update(INVENIO_SITE_UI_URL=site_url, INVENIO_SITE_API_URL=f"{site_url}/api")
    return env


def clone_spec(
    td: dict[str, Any],
    family: str,
    container: str,
    env_changes: dict[str, str],
    log_group: str | None,
    keep_references: tuple[str, ...] = (),
) -> dict[str, Any]:
    """RegisterTaskDefinition parameters: `td` under `family`, app container settings changed.

    A changed setting the container received through `secrets` leaves `secrets` for
    `environment`: a reference kept beside it could deliver production's value instead. Except
    the names in `keep_references`, whose reference stays and whose
    change is dropped: the value it delivers is the one the change carries (see redeploy).
    """
    spec: dict[str, Any] = {"family": family}
    for key in _TD_KEYS:
        if td.get(key):
            spec[key] = json.loads(json.dumps(td[key], default=str))
    for c in spec.get("containerDefinitions", []):
        if log_group and (c.get("logConfiguration") or {}).get("logDriver") == "awslogs":
            c["logConfiguration"]["options"]["awslogs-group"] = log_group
        if c.get("name") != container:
            continue
        referenced = {s["name"] for s in c.get("secrets") or []}
        changes = {k: v for k, v in env_changes.items() if not (k in referenced and k in keep_references)}
        if c.get("secrets"):
            c["secrets"] = [s for s in c["secrets"] if s["name"] not in changes]
            if not c["secrets"]:
                del c["secrets"]
        env = {e["name"]: e.get("value", "") for e in c.get("environment", [])}
        env.update(changes)
        c["environment"] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    return spec


def register(ctx: DrillContext, spec: dict[str, Any], step: str) -> str:
    """Register a drill revision (the family is in the ledger, so teardown deregisters every revision)."""
    ecs = ctx.client("ecs")
    family = spec["family"]
    entry = ctx.record("ecs-task-definition-family", family, step)
    arn = str(ecs.register_task_definition(**spec, tags=ctx.names.ecs_tags())["taskDefinition"]["taskDefinitionArn"])
    ctx.ledger.created(entry, latest=arn)
    return arn


def running_task_definition(svc: dict[str, Any]) -> str:
    """The revision production's tasks run: the newest deployment with running tasks, else PRIMARY.

    A FAILED rollout (plan 6.5) leaves PRIMARY on a revision whose tasks never started while the
    previous deployment keeps serving: the drill clones what serves.
    """
    deployments = svc.get("deployments", [])
    running = next((d for d in deployments if d.get("runningCount", 0) > 0), None)
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    chosen = running or primary
    return str(chosen["taskDefinition"] if chosen else svc["taskDefinition"])


FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


def recovery_task_definition(ecs: Any, svc: dict[str, Any]) -> tuple[str, str]:
    """(what a recovery deploys, what runs now): the newest ACTIVE revision of the running family.

    Plan §4 steps 2.3-2.4 (terraform apply, then a deployment of the new revisions) roll out the
    family's latest registered revision, not the one running today: the drill tests that one, so
    a broken revision registered but not yet deployed fails the drill before the bad day.
    """
    running = running_task_definition(svc)
    family = ecs_api.family_and_revision(running)[0]
    return ecs_api.latest_active_revision(ecs, family), running


def _launch(svc: dict[str, Any]) -> dict[str, Any]:
    """How production's service launches: its capacity-provider strategy, else its launch type.

    An Auto Scaling group capacity provider belongs to one cluster and cannot serve the drill's,
    so a strategy naming one becomes FARGATE (the task definitions must be Fargate-compatible).
    """
    strategy = svc.get("capacityProviderStrategy") or []
    if strategy and all(item.get("capacityProvider") in FARGATE_PROVIDERS for item in strategy):
        return {"capacityProviderStrategy": strategy}
    if strategy:
        log.warning("production's strategy names cluster-bound capacity providers: the drill uses FARGATE")
        return {"launchType": "FARGATE"}
    return {"launchType": svc.get("launchType") or "FARGATE"}


def cluster_capacity(launches: list[dict[str, Any]]) -> dict[str, Any]:
    """CreateCluster parameters: ECS rejects a strategy whose providers are not on the cluster."""
    providers = sorted(
        {i["capacityProvider"] for launch in launches for i in launch.get("capacityProviderStrategy", [])}
    )
    return {"capacityProviders": providers} if providers else {}


# ---- network: production's load balancer, else the services' own, else the default VPC -----------
def _network(ctx: DrillContext, services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    elb, ec2 = ctx.client("elbv2"), ctx.client("ec2")
    awsvpc = next(
        (
            s["networkConfiguration"]["awsvpcConfiguration"]
            for s in services.values()
            if (s.get("networkConfiguration") or {}).get("awsvpcConfiguration")
        ),
        None,
    )
    tg_arns = [
        lb["targetGroupArn"] for s in services.values() for lb in s.get("loadBalancers", []) if lb.get("targetGroupArn")
    ]
    lb: dict[str, Any] | None = None
    health = elbv2_api.target_groups(elb, tg_arns)
    if health:
        lb_arns = [a for tg in health.values() for a in tg.get("LoadBalancerArns", [])]
        if lb_arns:
            lb = elb.describe_load_balancers(LoadBalancerArns=lb_arns[:1])["LoadBalancers"][0]
    if lb is not None:
        subnets = [z["SubnetId"] for z in lb.get("AvailabilityZones", []) if z.get("SubnetId")]
        groups = list(lb.get("SecurityGroups", []))
        vpc = lb.get("VpcId")
        scheme = lb.get("Scheme", "internet-facing")
    elif awsvpc:
        subnets, groups, vpc, scheme = (
            list(awsvpc.get("subnets", [])),
            list(awsvpc.get("securityGroups", [])),
            None,
            "internet-facing",
        )
    else:
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise StepFailed(
                STEP, "no network to use: production has no load balancer or awsvpc config and no default VPC"
            )
        vpc = vpcs[0]["VpcId"]
        subnets = [
            s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        ]
        groups = [
            g["GroupId"]
            for g in ec2.describe_security_groups(
                Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
            )["SecurityGroups"]
        ]
        scheme = "internet-facing"
    if vpc is None and subnets:
        vpc = ec2.describe_subnets(SubnetIds=subnets[:1])["Subnets"][0]["VpcId"]
    service_net = (
        dict(awsvpc) if awsvpc else {"subnets": subnets, "securityGroups": groups, "assignPublicIp": "ENABLED"}
    )
    return {
        "subnets": subnets,
        "security_groups": groups,
        "vpc": vpc,
        "scheme": scheme,
        "awsvpc": service_net,
        "load_balancer": lb,
        "target_groups": health,
    }


def _role(service: str) -> str:
    return "api" if "api" in service else "ui"


def _container_port(svc: dict[str, Any], td: dict[str, Any], container: str) -> int:
    for lb in svc.get("loadBalancers", []):
        if lb.get("containerPort"):
            return int(lb["containerPort"])
    for c in td.get("containerDefinitions", []):
        if c.get("name") == container:
            for pm in c.get("portMappings", []):
                if pm.get("containerPort"):
                    return int(pm["containerPort"])
    return 80


def _target_group(
    ctx: DrillContext,
    net: dict[str, Any],
    role: str,
    prod_tg: str | None,
    svc: dict[str, Any],
    td: dict[str, Any],
) -> str:
    """The drill's target group for `role`, checking its targets as production's does (ARN)."""
    names = ctx.names
    described = net["target_groups"].get(prod_tg, {}) if prod_tg else {}
    health = elbv2_api.health_check(described) or {
        "Protocol": "HTTP",
        "HealthCheckPath": "/api/ping" if role == "api" else "/ping",
        "Matcher": {"HttpCode": "200"},
    }
    entry = ctx.record("elbv2-target-group", names.target_group(role), STEP)
    tg = ctx.client("elbv2").create_target_group(
        Name=names.target_group(role),
        Port=_container_port(svc, td, ctx.settings.app_container),
        VpcId=net["vpc"],
        TargetType="ip",
        Tags=names.tag_list(),
        **health,
    )["TargetGroups"][0]
    ctx.ledger.created(entry, arn=tg["TargetGroupArn"])
    return str(tg["TargetGroupArn"])


ListenerSpecs = list[tuple[dict[str, Any], list[dict[str, Any]]]]


def _listener_specs(
    ctx: DrillContext, prod_lb: dict[str, Any] | None, retargeted: dict[str, str], target_groups: dict[str, str]
) -> ListenerSpecs:
    """(CreateListener, [CreateRule]) parameters: production's listeners and rules, all read before any is made.

    Without a production load balancer: HTTP:80, `/api/*` -> api, the rest -> ui.
    """
    if prod_lb is None:
        default = target_groups.get("ui") or next(iter(target_groups.values()))
        rules = []
        if "api" in target_groups and "ui" in target_groups:
            rules.append(
                {
                    "Priority": 10,
                    "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*", "/api"]}}],
                    "Actions": [{"Type": "forward", "TargetGroupArn": target_groups["api"]}],
                }
            )
        return [
            (
                {"Protocol": "HTTP", "Port": 80, "DefaultActions": [{"Type": "forward", "TargetGroupArn": default}]},
                rules,
            )
        ]
    elb = ctx.client("elbv2")
    retarget = elbv2_api.retargeter(retargeted, prod_lb["LoadBalancerName"])
    try:
        return [
            (
                elbv2_api.listener_spec(listener, retarget),
                [elbv2_api.rule_spec(rule, retarget) for rule in elbv2_api.rules(elb, listener["ListenerArn"])],
            )
            for listener in elbv2_api.listeners(elb, prod_lb["LoadBalancerArn"])
        ]
    except NotFound as exc:
        raise StepFailed(STEP, f"cannot mirror production's load balancer: {exc}", plan_section="4") from None


def drill_site(site_url: str, dns_name: str, listeners: ListenerSpecs) -> tuple[str, str]:
    """(the drill's site URL, the address it is dialed at) for a load balancer with these listeners.

    HTTPS when a listener speaks it. When rules route by host name, the URL keeps production's
    host (TURATH_SITE_URL, if the rules serve it) and is dialed at the drill's DNS name.
    """
    scheme = "https" if any(spec["Protocol"] == "HTTPS" for spec, _ in listeners) else "http"
    hosts = elbv2_api.host_names([rule for _, rules in listeners for rule in rules])
    if not hosts:
        return f"{scheme}://{dns_name}", ""
    public = urlsplit(site_url)
    if public.hostname and any(fnmatch(public.hostname, h.lower()) for h in hosts):
        netloc = public.netloc
    else:
        netloc = next((h for h in hosts if "*" not in h and "?" not in h), public.netloc)
    return f"{scheme}://{netloc}", dns_name


def provision_ecs_clone(ctx: DrillContext) -> DrillEnvironment:
    s, names = ctx.settings, ctx.names
    ecs, elb, logs = ctx.client("ecs"), ctx.client("elbv2"), ctx.client("logs")
    prod = ecs_api.describe_services(ecs, s.ecs_cluster, s.ecs_services)
    revisions = {name: recovery_task_definition(ecs, svc) for name, svc in prod.items()}
    prod_tds = {name: ecs_api.describe_task_definition(ecs, latest) for name, (latest, _) in revisions.items()}
    for name, (latest, running) in revisions.items():
        if latest != running:
            log.warning(
                "%s runs %s but a recovery would deploy %s (the latest registered): the drill tests %s",
                name,
                ecs_api.short(running),
                ecs_api.short(latest),
                ecs_api.short(latest),
            )
    net = _network(ctx, prod)
    env = DrillEnvironment(provisioner="ecs-clone", cluster=names.cluster, network=net["awsvpc"])
    ctx.state.environment = env

    entry = ctx.record("ecs-cluster", names.cluster, STEP)
    capacity = cluster_capacity([_launch(svc) for svc in prod.values()])
    ecs.create_cluster(clusterName=names.cluster, tags=names.ecs_tags(), **capacity)
    ctx.ledger.created(entry)

    for service in s.ecs_services:
        group = names.log_group(service)
        entry = ctx.record("log-group", group, STEP)
        try:
            logs.create_log_group(logGroupName=group, tags=names.tags())
        except ClientError as exc:
            if "AlreadyExists" not in str(exc):
                raise
        logs.put_retention_policy(logGroupName=group, retentionInDays=7)
        ctx.ledger.created(entry)

    web = [svc for svc in s.ecs_services if svc in s.web_services]
    target_groups: dict[str, str] = {}
    site_url = ""
    if web:
        prod_lb: dict[str, Any] | None = net["load_balancer"]
        entry = ctx.record("elbv2-load-balancer", names.load_balancer, STEP)
        lb = elb.create_load_balancer(
            Name=names.load_balancer,
            Subnets=net["subnets"],
            SecurityGroups=net["security_groups"],
            Scheme=net["scheme"],
            Type="application",
            Tags=names.tag_list(),
            **({"IpAddressType": prod_lb["IpAddressType"]} if prod_lb and prod_lb.get("IpAddressType") else {}),
        )["LoadBalancers"][0]
        ctx.ledger.created(entry, arn=lb["LoadBalancerArn"])
        wait_waiter(
            elb,
            "load_balancer_available",
            what=f"load balancer {names.load_balancer} active",
            timeout=ctx.timeouts.load_balancer,
            max_delay=ctx.options.drill_poll_seconds,
            LoadBalancerArns=[lb["LoadBalancerArn"]],
        )
        env.load_balancer = {"arn": lb["LoadBalancerArn"], "dns": lb["DNSName"]}
        retargeted: dict[str, str] = {}  # production target group -> the drill's
        for service in web:
            role = _role(service)
            prod_tg = next((lb_["targetGroupArn"] for lb_ in prod[service].get("loadBalancers", [])), None)
            if role not in target_groups:
                target_groups[role] = _target_group(ctx, net, role, prod_tg, prod[service], prod_tds[service])
            if prod_tg:
                retargeted[prod_tg] = target_groups[role]
        listeners = _listener_specs(ctx, prod_lb, retargeted, target_groups)
        for spec, rule_specs in listeners:
            listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Tags=names.tag_list(), **spec)
            ctx.ledger.created(
                ctx.record(
                    "elbv2-listener", listener["Listeners"][0]["ListenerArn"], STEP, load_balancer=names.load_balancer
                )
            )
            for rule in rule_specs:
                elb.create_rule(ListenerArn=listener["Listeners"][0]["ListenerArn"], Tags=names.tag_list(), **rule)
        site_url, env.site_address = drill_site(s.site_url, lb["DNSName"], listeners)
    env.site_url = ctx.options.drill_site_url or site_url
    if ctx.options.drill_site_url:
        env.site_address = ""  # the operator's URL is dialed as it stands
    ctx.save()

    for service in s.ecs_services:
        spec = clone_spec(
            prod_tds[service],
            names.family(service),
            s.app_container,
            isolation_env(names, env.site_url),
            names.log_group(service),
        )
        arn = register(ctx, spec, STEP)
        params: dict[str, Any] = {
            "cluster": names.cluster,
            "serviceName": names.service(service),
            "taskDefinition": arn,
            "desiredCount": 0,  # nothing runs until the task definitions point at the restored DB
            "networkConfiguration": {"awsvpcConfiguration": net["awsvpc"]},
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": True, "rollback": False},
                "maximumPercent": 200,
                "minimumHealthyPercent": 0,
            },
            "tags": names.ecs_tags(),
            "propagateTags": "SERVICE",
            **_launch(prod[service]),
        }
        tg_arn = target_groups.get(_role(service)) if service in web else None
        if tg_arn:
            params["loadBalancers"] = [
                {
                    "targetGroupArn": tg_arn,
                    "containerName": s.app_container,
                    "containerPort": _container_port(prod[service], prod_tds[service], s.app_container),
                }
            ]
            # Slow starters (migrations, warm-up) survive their first failing health checks as in production.
            grace = prod[service].get("healthCheckGracePeriodSeconds")
            if grace is not None:
                params["healthCheckGracePeriodSeconds"] = grace
        entry = ctx.record("ecs-service", names.service(service), STEP, cluster=names.cluster)
        ecs.create_service(**params)
        ctx.ledger.created(entry)
        env.services[service] = DrillService(
            name=names.service(service),
            task_definition=arn,
            target_group=tg_arn,
            source=prod_tds[service]["taskDefinitionArn"],  # production's revision it clones (diagnosis)
            running=revisions[service][1],
        )
        env.launch = _launch(prod[service])
        ctx.save()
    return env


# ---- terraform ---------------------------------------------------------------------------
Runner = Callable[..., subprocess.CompletedProcess[str]]


class Terraform:
    """The real terraform binary on TURATH_TERRAFORM_DIR, one workspace per drill."""

    def __init__(self, directory: str, names: DrillNames, region: str, runner: Runner = subprocess.run) -> None:
        self.directory = Path(directory)
        self.names = names
        self.region = region
        self.runner = runner

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            # Optional variables: undeclared TF_VAR_* are ignored, undeclared -var is an error.
            "TF_VAR_drill_prefix": self.names.prefix,
            "TF_VAR_region": self.region,
        }
        cmd = ["terraform", f"-chdir={self.directory}", *args]
        log.info("terraform %s", " ".join(args))
        proc = self.runner(cmd, capture_output=True, text=True, env=env, check=False, timeout=3600)
        if check and proc.returncode != 0:
            tail = redact((proc.stderr or proc.stdout or "").strip())[-2000:]
            raise StepFailed(STEP, f"terraform {args[0]} failed (exit {proc.returncode})", {"output": tail})
        return proc

    def apply(self) -> dict[str, Any]:
        if not self.directory.is_dir():
            raise StepFailed(STEP, f"TURATH_TERRAFORM_DIR {self.directory} is not a directory")
        self._run("init", "-input=false", "-no-color")
        self._run("workspace", "select", "-or-create=true", self.names.terraform_workspace)
        self._run("apply", "-auto-approve", "-input=false", "-no-color", "-var", f"drill_id={self.names.drill_id}")
        out = json.loads(self._run("output", "-json").stdout or "{}")
        return {k: v.get("value") for k, v in out.items()}

    def destroy(self) -> str:
        ws = self.names.terraform_workspace
        listed = self._run("workspace", "list", check=False).stdout or ""
        if ws not in [w.strip(" *") for w in listed.splitlines()]:
            return "gone"
        self._run("workspace", "select", ws)
        self._run("destroy", "-auto-approve", "-input=false", "-no-color", "-var", f"drill_id={self.names.drill_id}")
        self._run("workspace", "select", "default")
        self._run("workspace", "delete", ws)
        return "deleted"


def provision_terraform(ctx: DrillContext) -> DrillEnvironment:
    tf = Terraform(ctx.options.terraform_dir, ctx.names, ctx.settings.region)
    entry = ctx.record("terraform-workspace", ctx.names.terraform_workspace, STEP, directory=ctx.options.terraform_dir)
    outputs = tf.apply()
    ctx.ledger.created(entry)
    missing = [k for k in ("cluster", "services", "site_url") if not outputs.get(k)]
    env = DrillEnvironment(provisioner="terraform", outputs=outputs)
    ctx.state.environment = env
    if missing:
        raise StepFailed(STEP, f"terraform outputs lack {', '.join(missing)}", {"outputs": sorted(outputs)})
    env.cluster = str(outputs["cluster"])
    env.site_url = ctx.options.drill_site_url or str(outputs["site_url"])
    ecs = ctx.client("ecs")
    mapping: dict[str, str] = dict(outputs["services"])
    described = ecs_api.describe_services(ecs, outputs["cluster"], tuple(mapping.values())) if mapping else {}
    for prod_name, drill_name in mapping.items():
        svc = described[drill_name]
        env.services[prod_name] = DrillService(name=drill_name, task_definition=svc["taskDefinition"])
        env.network = (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration")
        env.launch = _launch(svc)
    ctx.save()
    return env


def run(ctx: DrillContext) -> None:
    if ctx.options.provisioner == "terraform":
        provision_terraform(ctx)
    else:
        provision_ecs_clone(ctx)


def planned(ctx: DrillContext) -> list[PlannedCall]:
    s, n = ctx.settings, ctx.names
    if ctx.options.provisioner == "terraform":
        return [PlannedCall(NAME, "terraform", "apply", n.terraform_workspace, f"in {ctx.options.terraform_dir}")]
    calls = [PlannedCall(NAME, "ecs", "CreateCluster", n.cluster)]
    calls += [
        PlannedCall(NAME, "logs", "CreateLogGroup+PutRetentionPolicy", n.log_group(svc), "7 days")
        for svc in s.ecs_services
    ]
    if s.web_services:
        calls.append(PlannedCall(NAME, "elbv2", "CreateLoadBalancer", n.load_balancer))
        roles = sorted({_role(w) for w in s.web_services})
        calls += [PlannedCall(NAME, "elbv2", "CreateTargetGroup", n.target_group(r)) for r in roles]
        calls.append(
            PlannedCall(
                NAME,
                "elbv2",
                "CreateListener",
                n.load_balancer,
                "each of production's (else HTTP :80), certificate kept",
            )
        )
        calls.append(
            PlannedCall(
                NAME,
                "elbv2",
                "CreateRule",
                n.load_balancer,
                "each of production's rules, forwards to the drill's groups",
            )
        )
    for svc in s.ecs_services:
        calls.append(PlannedCall(NAME, "ecs", "RegisterTaskDefinition", n.family(svc), "clone of production's"))
        calls.append(PlannedCall(NAME, "ecs", "CreateService", n.service(svc), "desired 0"))
    return calls
