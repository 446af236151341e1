"""Application load balancers: what production's serves, read fully, and how a copy reproduces it (plan 4 step 1).

DescribeListeners, DescribeRules and DescribeTargetGroups page with Marker (botocore paginators).
A copy keeps every listener (protocol, port, certificate, SSL policy, ALPN), every rule (priority,
conditions, actions) and every target group's health check; forward actions are retargeted to the
copy's own target groups, so a rule that answers a fixed 503, redirects, or routes by host name
behaves on the copy exactly as on production.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from recovery.errors import NotFound

# What CreateTargetGroup takes from a described target group to check its targets the same way.
HEALTH_CHECK_KEYS = (
    "Protocol",
    "ProtocolVersion",
    "HealthCheckProtocol",
    "HealthCheckPort",
    "HealthCheckEnabled",
    "HealthCheckPath",
    "HealthCheckIntervalSeconds",
    "HealthCheckTimeoutSeconds",
    "HealthyThresholdCount",
    "UnhealthyThresholdCount",
    "Matcher",
)
# Conditions are described both ways (legacy `Values` and the `*Config` form); CreateRule wants one.
_CONDITION_CONFIGS = ("HostHeaderConfig", "PathPatternConfig", "HttpHeaderConfig", "QueryStringConfig")


def listeners(elb: Any, load_balancer_arn: str) -> list[dict[str, Any]]:
    """Every listener of a load balancer, lowest port first."""
    found = [
        listener
        for page in elb.get_paginator("describe_listeners").paginate(LoadBalancerArn=load_balancer_arn)
        for listener in page.get("Listeners", [])
    ]
    return sorted(found, key=lambda item: int(item.get("Port") or 0))


def rules(elb: Any, listener_arn: str) -> list[dict[str, Any]]:
    """A listener's rules except its default one (that is the listener's DefaultActions), by priority."""
    found = [
        rule
        for page in elb.get_paginator("describe_rules").paginate(ListenerArn=listener_arn)
        for rule in page.get("Rules", [])
        if not rule.get("IsDefault")
    ]
    return sorted(found, key=lambda rule: int(rule["Priority"]))


def target_groups(elb: Any, arns: list[str]) -> dict[str, dict[str, Any]]:
    """ARN -> target group (DescribeTargetGroups takes the ARNs, and pages)."""
    if not arns:
        return {}
    return {
        tg["TargetGroupArn"]: tg
        for page in elb.get_paginator("describe_target_groups").paginate(TargetGroupArns=sorted(set(arns)))
        for tg in page.get("TargetGroups", [])
    }


def health_check(target_group: dict[str, Any]) -> dict[str, Any]:
    """CreateTargetGroup parameters that make a copy judge its targets as `target_group` does."""
    return {k: copy.deepcopy(target_group[k]) for k in HEALTH_CHECK_KEYS if target_group.get(k) is not None}


Retarget = Callable[[str], str]


def actions(described: list[dict[str, Any]], retarget: Retarget) -> list[dict[str, Any]]:
    """Actions for CreateListener/CreateRule: forward targets retargeted, everything else as described."""
    out = []
    for action in described:
        action = copy.deepcopy(action)
        if action.get("TargetGroupArn"):
            action["TargetGroupArn"] = retarget(action["TargetGroupArn"])
        for tg in (action.get("ForwardConfig") or {}).get("TargetGroups", []):
            tg["TargetGroupArn"] = retarget(tg["TargetGroupArn"])
        if action.get("TargetGroupArn") and action.get("ForwardConfig"):
            del action["TargetGroupArn"]  # ForwardConfig alone says it all (and may weight several)
        out.append(action)
    return out


def conditions(described: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conditions for CreateRule, in their `*Config` form where the description has one."""
    out = []
    for condition in described:
        condition = copy.deepcopy(condition)
        if any(condition.get(k) for k in _CONDITION_CONFIGS) or condition.get("Field") not in (
            "host-header",
            "path-pattern",
        ):
            condition.pop("Values", None)
        out.append(condition)
    return out


def listener_spec(listener: dict[str, Any], retarget: Retarget) -> dict[str, Any]:
    """CreateListener parameters (without LoadBalancerArn and Tags) reproducing `listener`."""
    spec: dict[str, Any] = {
        "Protocol": listener["Protocol"],
        "Port": listener["Port"],
        "DefaultActions": actions(listener.get("DefaultActions", []), retarget),
    }
    if listener.get("Certificates"):
        # DescribeListeners returns the default certificate; further SNI certificates are
        # DescribeListenerCertificates' (not copied: see the README's limits).
        spec["Certificates"] = [{"CertificateArn": c["CertificateArn"]} for c in listener["Certificates"][:1]]
    if listener.get("Protocol") in ("HTTPS", "TLS") and listener.get("SslPolicy"):
        spec["SslPolicy"] = listener["SslPolicy"]
    if listener.get("AlpnPolicy"):
        spec["AlpnPolicy"] = list(listener["AlpnPolicy"])
    return spec


def rule_spec(rule: dict[str, Any], retarget: Retarget) -> dict[str, Any]:
    """CreateRule parameters (without ListenerArn and Tags) reproducing `rule` at its priority."""
    return {
        "Priority": int(rule["Priority"]),
        "Conditions": conditions(rule.get("Conditions", [])),
        "Actions": actions(rule.get("Actions", []), retarget),
    }


def host_names(described_rules: list[dict[str, Any]]) -> list[str]:
    """The host names the rules route by (host-header conditions), in rule order, without duplicates."""
    out: list[str] = []
    for rule in described_rules:
        for condition in rule.get("Conditions", []):
            if condition.get("Field") != "host-header":
                continue
            values = (condition.get("HostHeaderConfig") or {}).get("Values") or condition.get("Values") or []
            out += [v for v in values if v not in out]
    return out


def retargeter(mapping: dict[str, str], load_balancer: str) -> Retarget:
    """production target group -> the copy's; NotFound names a target group no drill service registers in."""

    def retarget(arn: str) -> str:
        if arn not in mapping:
            raise NotFound(
                f"a rule of {load_balancer} forwards to {arn}, which none of the drill's services registers in "
                "(add its service to TURATH_ECS_SERVICES and TURATH_WEB_SERVICES)"
            )
        return mapping[arn]

    return retarget
