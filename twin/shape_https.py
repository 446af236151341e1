"""Production shape `https`: the site behind HTTPS, as most production ALBs are.

A 443 HTTPS listener with an ACM certificate for the site's host name and a TLS 1.3 policy;
host-header rules (`/api/*` on that host -> web-api, the host -> web-ui, any other host -> a
fixed 404, as an ALB that serves one site by name answers strangers); HTTP:80 only redirects to
HTTPS; the load balancer's security group opens 443 and 80 (for the redirect) and nothing else;
target groups check `/ping` every 15 s with production's thresholds; the web services give new
tasks a 120 s health-check grace period. Everything goes through the AWS APIs, as Terraform would.

The twin's host name is `localhost` (it resolves to loopback, where the twin's load balancers
listen): `https://localhost:<port>` is the site, and the rules route by that name.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from twin.account import tag_list

if TYPE_CHECKING:
    from twin.core import Twin

NAME = "https"
HOST = "localhost"
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
GRACE_SECONDS = 120


def certificate(host: str) -> tuple[bytes, bytes]:
    """(certificate, private key) in PEM: self-signed for `host`, valid for a year."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def apply(twin: Twin) -> None:
    """Reshape the seeded production load balancer (the twin's `alb_name`) into the https shape."""
    elb, ec2, acm = twin.client("elbv2"), twin.client("ec2"), twin.client("acm")
    lb = elb.describe_load_balancers(Names=[twin.spec.alb_name])["LoadBalancers"][0]
    cert, key = certificate(HOST)
    cert_arn = acm.import_certificate(Certificate=cert, PrivateKey=key, Tags=tag_list())["CertificateArn"]

    group = ec2.create_security_group(
        GroupName=f"{twin.spec.alb_name}-https", Description="site: HTTPS, and HTTP for the redirect", VpcId=lb["VpcId"]
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            for port in (443, 80)
        ],
    )
    elb.set_security_groups(LoadBalancerArn=lb["LoadBalancerArn"], SecurityGroups=[group])

    groups = _target_groups(twin)
    for arn in groups.values():
        elb.modify_target_group(
            TargetGroupArn=arn,
            HealthCheckPath="/ping",
            HealthCheckIntervalSeconds=15,
            HealthCheckTimeoutSeconds=5,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=3,
            Matcher={"HttpCode": "200"},
        )
    listener = elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": cert_arn}],
        SslPolicy=SSL_POLICY,
        DefaultActions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "Not found"},
            }
        ],
    )["Listeners"][0]["ListenerArn"]
    host = {"Field": "host-header", "HostHeaderConfig": {"Values": [HOST]}}
    elb.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=[host, {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*", "/api"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": groups["web-api"]}],
    )
    elb.create_rule(
        ListenerArn=listener,
        Priority=20,
        Conditions=[host],
        Actions=[{"Type": "forward", "TargetGroupArn": groups["web-ui"]}],
    )
    for plain in _listeners(elb, lb["LoadBalancerArn"], "HTTP"):
        for page in elb.get_paginator("describe_rules").paginate(ListenerArn=plain["ListenerArn"]):
            for rule in page["Rules"]:
                if not rule["IsDefault"]:
                    elb.delete_rule(RuleArn=rule["RuleArn"])
        elb.modify_listener(
            ListenerArn=plain["ListenerArn"],
            DefaultActions=[
                {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
            ],
        )
    ecs = twin.client("ecs")
    for service in groups:
        ecs.update_service(cluster=twin.spec.ecs_cluster, service=service, healthCheckGracePeriodSeconds=GRACE_SECONDS)
    twin.settle_services()
    twin.refresh_info()


def _target_groups(twin: Twin) -> dict[str, str]:
    """web service -> the target group it is registered in."""
    described = twin.client("ecs").describe_services(cluster=twin.spec.ecs_cluster, services=list(twin.spec.services))
    return {
        svc["serviceName"]: svc["loadBalancers"][0]["targetGroupArn"]
        for svc in described["services"]
        if svc.get("loadBalancers")
    }


def _listeners(elb: Any, lb_arn: str, protocol: str) -> list[dict[str, Any]]:
    return [
        listener
        for page in elb.get_paginator("describe_listeners").paginate(LoadBalancerArn=lb_arn)
        for listener in page["Listeners"]
        if listener["Protocol"] == protocol
    ]
