"""Preflight (`pytest -m preflight`): this runner can carry a real run before it starts one.

It resolves and reaches the database (the tunnel's port or the RDS endpoint), the site and every
AWS endpoint the run calls; it has the tools its provisioner needs; and its clock agrees with
AWS's. Checked from the runner itself with pytest-testinfra's local `host` (getent, a TCP connect
through nc or bash, the binaries on PATH). Each failure says what to fix on the runner.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from fixtures.meta import check
from recovery.aws import rds as rds_api
from recovery.aws.session import Aws
from recovery.settings import Settings
from recovery.timeutil import utcnow

# SigV4 refuses requests more than 5 minutes off; the RPO is measured against AWS timestamps with
# a 300 s objective. 60 s keeps both well clear.
MAX_CLOCK_SKEW_SECONDS = 60
# The terraform provisioner uses workspaces, `output -json` and `-chdir`; the runner module 1.5.
TERRAFORM_MIN = (1, 5)
# The services a health or drill run calls (their endpoints must be reachable from here).
SERVICES = ("sts", "rds", "s3", "ecs", "logs", "elbv2", "ssm", "opensearch", "elasticache", "mq")


@dataclass(frozen=True)
class Target:
    what: str
    host: str
    port: int


def unreachable(host: Any, target: Target) -> str:
    """Why `target` cannot be used from this runner ('' if it resolves and accepts a connection)."""
    is_ip = re.fullmatch(r"[\d.]+|[0-9a-fA-F:]+", target.host) is not None
    addr = host.addr(target.host)
    if not is_ip and not addr.is_resolvable:
        return f"{target.what}: {target.host} does not resolve from this runner (DNS, VPC resolver or /etc/hosts)"
    if not addr.port(target.port).is_reachable:
        return (
            f"{target.what}: {target.host}:{target.port} refuses or drops connections from this runner "
            "(security group, route, VPC endpoint or the tunnel is not open)"
        )
    return ""


def endpoint_targets(aws: Aws) -> list[Target]:
    """Distinct host:port of the endpoints the run's clients call (AWS_ENDPOINT_URL or AWS's own)."""
    seen: dict[tuple[str, int], Target] = {}
    for service in SERVICES:
        url = urlsplit(aws.client(service).meta.endpoint_url)
        port = url.port or (443 if url.scheme == "https" else 80)
        seen.setdefault((url.hostname or "", port), Target(f"AWS {service} endpoint", url.hostname or "", port))
    return list(seen.values())


def db_target(aws: Aws, settings: Settings) -> Target:
    if settings.db_host:
        name, _, port = settings.db_host.rpartition(":")
        return Target("database (TURATH_DB_HOST)", name, int(port or 5432))
    endpoint = rds_api.describe_instance(aws.client("rds"), settings.rds_instance).get("Endpoint") or {}
    return Target(
        f"database (RDS endpoint of {settings.rds_instance})",
        endpoint.get("Address", ""),
        int(endpoint.get("Port", 5432)),
    )


@check(
    "4",
    severity="critical",
    remediation="run from inside the VPC (deploy/terraform/runner), or open the tunnel of the README (local port "
    "15432) and set TURATH_DB_HOST=127.0.0.1:15432",
    modes=("preflight",),
)
def test_preflight_database_reachable(host: Any, aws: Aws, settings: Settings) -> None:
    """The runner resolves and reaches the database the data checks and the drill's baseline read."""
    problem = unreachable(host, db_target(aws, settings))
    assert not problem, problem


@check(
    "4",
    severity="high",
    remediation="check TURATH_SITE_URL ({site_url}) and the runner's egress to it",
    modes=("preflight",),
)
def test_preflight_site_reachable(host: Any, settings: Settings) -> None:
    """The runner resolves and reaches the site the §5 checks call."""
    url = urlsplit(settings.site_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    problem = unreachable(host, Target(f"site (TURATH_SITE_URL={settings.site_url})", url.hostname or "", port))
    assert not problem, problem


@check(
    "4",
    severity="critical",
    remediation="allow HTTPS egress to the AWS endpoints (NAT gateway or VPC interface endpoints for sts, rds, "
    "ecs, logs, ssm, elasticloadbalancing, es, elasticache, mq and an S3 gateway endpoint), or fix AWS_ENDPOINT_URL",
    modes=("preflight",),
)
def test_preflight_aws_endpoints_reachable(host: Any, aws: Aws) -> None:
    """Every AWS endpoint the run calls resolves and accepts a connection from this runner."""
    problems = [p for p in (unreachable(host, t) for t in endpoint_targets(aws)) if p]
    assert not problems, "; ".join(problems)


def terraform_problem(host: Any, settings: Settings) -> str:
    if settings.provisioner != "terraform":
        return ""
    if not host.exists("terraform"):
        return "TURATH_PROVISIONER=terraform but no terraform binary is on this runner's PATH"
    out = host.run("terraform version -json")
    try:
        version = str(json.loads(out.stdout)["terraform_version"])
    except (ValueError, KeyError):
        return f"`terraform version -json` did not answer a version (rc {out.rc}): {out.stderr.strip()[:200]}"
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    if parts < TERRAFORM_MIN:
        wanted = ".".join(map(str, TERRAFORM_MIN))
        return f"terraform {version} on this runner is older than {wanted} (workspaces, -chdir, output -json)"
    return ""


@check(
    "4.1",
    severity="critical",
    remediation="install terraform >= 1.5 on the runner (or a derived runner image), or set "
    "TURATH_PROVISIONER=ecs-clone",
    modes=("preflight",),
)
def test_preflight_provisioner_tools_present(host: Any, settings: Settings) -> None:
    """The chosen provisioner's tools are on the runner (terraform and its version when it is terraform)."""
    problem = terraform_problem(host, settings)
    assert not problem, problem


def clock_skew_seconds(aws: Aws) -> float:
    """Local clock minus AWS's (the Date header of an STS response), in seconds."""
    before = utcnow()
    meta = aws.client("sts").get_caller_identity()["ResponseMetadata"]
    after = utcnow()
    aws_time: datetime = parsedate_to_datetime(meta["HTTPHeaders"]["date"])
    if aws_time.tzinfo is None:  # "-0000" parses naive: it is UTC all the same
        aws_time = aws_time.replace(tzinfo=UTC)
    local = before + (after - before) / 2
    return (local - aws_time).total_seconds()


@check(
    "4",
    severity="high",
    remediation="sync the runner's clock (chrony/systemd-timesyncd, or the Amazon Time Sync Service 169.254.169.123)",
    modes=("preflight",),
)
def test_preflight_clock_agrees_with_aws(aws: Aws) -> None:
    """The runner's clock is within 60 s of AWS's: signatures are accepted and RTO/RPO are measured right."""
    skew = clock_skew_seconds(aws)
    assert abs(skew) <= MAX_CLOCK_SKEW_SECONDS, (
        f"this runner's clock is {skew:+.0f} s off AWS's (STS Date header); the suite allows "
        f"{MAX_CLOCK_SKEW_SECONDS} s: AWS refuses signatures beyond 300 s and RPO is measured in AWS time"
    )
