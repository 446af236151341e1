"""Application load balancers that really serve: each ELBv2 load balancer created in the twin
gets an InvenioRDM stand-in on loopback, and its DNSName becomes that address.

Routing is the load balancer's own: a request reaches the listener of its protocol (TLS ->
HTTPS, with the listener's ACM certificate; plain -> HTTP; both on the one local port the DNS
name names), whose rules are evaluated by priority (host-header, path-pattern and
http-request-method conditions; a rule with any other condition never matches here), then its
default action. forward -> the ECS service registered with that target group (web-api or
web-ui by name); fixed-response and redirect answer as the load balancer would.
"""

from __future__ import annotations

import logging
import ssl
import tempfile
import threading
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from moto.elbv2.exceptions import ELBClientError
from moto.elbv2.models import ELBv2Backend
from werkzeug.wrappers import Request, Response

from twin.search import SearchIndex
from twin.webapp import API_SERVICE, UI_SERVICE, InvenioStandIn, ServiceRuntime, alb_response

log = logging.getLogger(__name__)
_sites: Sites | None = None
_installed = False


class Sites:
    """The stand-in apps behind the twin's load balancers, keyed by load balancer ARN."""

    def __init__(
        self,
        elbv2: Callable[[], Any],
        ecs: Callable[[], Any],
        runtime: Callable[[Any], ServiceRuntime | None],
        indices: Callable[[str], SearchIndex | None],
        s3: Callable[[], Any],
        write_log: Callable[[str, str, list[str]], None],
        acm: Callable[[], Any] | None = None,
    ) -> None:
        self.elbv2 = elbv2
        self.acm = acm
        self.ecs = ecs
        self.runtime = runtime
        self.indices = indices
        self.s3 = s3
        self.write_log = write_log
        self.apps: dict[str, InvenioStandIn] = {}
        # An organisation's auto-remediation rule (fault `teardown-blocked`): new load balancers
        # get deletion protection, so whoever created one cannot delete it without turning it off.
        self.protect_new_load_balancers = False
        self._lock = threading.Lock()

    def open(self, lb: Any) -> None:
        arn = lb.arn
        app = InvenioStandIn(
            runtime=lambda role: self._runtime(arn, role),
            indices=self.indices,
            s3=self.s3,
            log=lambda role, line: self._log(arn, role, line),
            task_poll_interval=0.2,
            route=lambda request: self.route(arn, request),
            tls=lambda: self.tls(arn),
        )
        url = app.start()
        lb.dns_name = url.removeprefix("http://")
        with self._lock:
            self.apps[arn] = app

    def close(self, arn: str) -> None:
        with self._lock:
            app = self.apps.pop(arn, None)
        if app is not None:
            app.stop()

    def close_all(self) -> None:
        for arn in list(self.apps):
            self.close(arn)

    # ---- the load balancer's routing ---------------------------------------------------------
    def _listener(self, lb_arn: str, protocol: str) -> Any | None:
        lb = self.elbv2().load_balancers.get(lb_arn)
        found = [ls for ls in (lb.listeners.values() if lb else ()) if ls.protocol == protocol]
        return min(found, key=lambda ls: int(ls.port), default=None)

    def tls(self, lb_arn: str) -> ssl.SSLContext | None:
        """The HTTPS listener's default certificate (from ACM) as a server context; None without one."""
        listener = self._listener(lb_arn, "HTTPS")
        if listener is None or not listener.certificate or self.acm is None:
            return None
        bundle = self.acm().get_certificate(listener.certificate)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as tmp:  # load_cert_chain reads files only
            pem = Path(tmp) / "cert.pem"
            pem.write_bytes(bundle.cert + b"\n" + bundle.key)
            context.load_cert_chain(pem)
        return context

    def route(self, lb_arn: str, request: Request) -> str | Response:
        """Where the listener sends `request`: a service name, or the load balancer's own answer."""
        listener = self._listener(lb_arn, "HTTPS" if request.scheme == "https" else "HTTP")
        if listener is None:
            return alb_response("503 Service Temporarily Unavailable")
        host = request.host.rsplit(":", 1)[0].lower()
        rules = sorted((r for r in listener.rules.values() if not r.is_default), key=lambda r: int(r.priority))
        actions = next(
            (r.actions for r in rules if _matches(r.conditions, host, request.path, request.method)),
            listener.default_actions,
        )
        data: dict[str, Any] = next(
            (getattr(a, "data", a) for a in actions if not str(a.type).startswith("authenticate")), {}
        )
        if data.get("Type") == "fixed-response":
            cfg = data.get("FixedResponseConfig") or {}
            response = Response(
                cfg.get("MessageBody", ""),
                status=int(cfg.get("StatusCode", 503)),
                content_type=cfg.get("ContentType") or "text/plain",
            )
            response.headers["Server"] = "awselb/2.0"
            return response
        if data.get("Type") == "redirect":
            return _redirect(data.get("RedirectConfig") or {}, request)
        groups = {data.get("TargetGroupArn")} | {
            tg["TargetGroupArn"] for tg in (data.get("ForwardConfig") or {}).get("TargetGroups", [])
        }
        for svc in self.ecs().services.values():
            if svc.status == "ACTIVE" and any(e.get("targetGroupArn") in groups for e in svc.load_balancers):
                return API_SERVICE if svc.name == API_SERVICE or svc.name.endswith(f"-{API_SERVICE}") else UI_SERVICE
        return alb_response("503 Service Temporarily Unavailable")  # a target group with no targets

    def _service(self, lb_arn: str, role: str) -> Any | None:
        lb = self.elbv2().load_balancers.get(lb_arn)
        if lb is None:
            return None
        groups: set[str] = set()
        for listener in lb.listeners.values():
            actions = list(listener.default_actions)
            for rule in listener.rules.values():
                actions.extend(rule.actions)
            for action in actions:
                data = getattr(action, "data", action)
                if data.get("TargetGroupArn"):
                    groups.add(data["TargetGroupArn"])
                for tg in (data.get("ForwardConfig") or {}).get("TargetGroups", []):
                    groups.add(tg["TargetGroupArn"])
        for svc in self.ecs().services.values():
            if svc.status != "ACTIVE":
                continue
            if any(entry.get("targetGroupArn") in groups for entry in svc.load_balancers) and (
                svc.name == role or svc.name.endswith(f"-{role}")
            ):
                return svc
        return None

    def _runtime(self, lb_arn: str, role: str) -> ServiceRuntime | None:
        svc = self._service(lb_arn, role)
        return None if svc is None else self.runtime(svc)

    def _log(self, lb_arn: str, role: str, line: str) -> None:
        svc = self._service(lb_arn, role)
        runtime = None if svc is None else self.runtime(svc)
        if runtime is None:
            return
        td = self.ecs().describe_task_definition(runtime.task_definition)
        options = (td.container_definitions[0].get("logConfiguration") or {}).get("options", {})
        group = options.get("awslogs-group")
        if group:
            task = runtime.deployment.rsplit("/", 1)[-1][:12]
            self.write_log(group, f"{options.get('awslogs-stream-prefix', 'ecs')}/app/{task}", [line])


def _values(condition: dict[str, Any], config: str) -> list[str]:
    return list((condition.get(config) or {}).get("Values") or condition.get("Values") or [])


def _matches(conditions: list[dict[str, Any]], host: str, path: str, method: str) -> bool:
    """Every condition holds (ALB semantics: a rule's conditions are ANDed, a condition's values ORed)."""
    for condition in conditions:
        field = condition.get("Field")
        if field == "host-header":
            ok = any(fnmatchcase(host, v.lower()) for v in _values(condition, "HostHeaderConfig"))
        elif field == "path-pattern":
            ok = any(fnmatchcase(path, v) for v in _values(condition, "PathPatternConfig"))
        elif field == "http-request-method":
            ok = method in _values(condition, "HttpRequestMethodConfig")
        else:
            ok = False
        if not ok:
            return False
    return True


def _redirect(cfg: dict[str, str], request: Request) -> Response:
    """A redirect action's Location. Every listener shares the twin's one port, so a target port maps to it."""
    hostname, _, local_port = request.host.partition(":")
    protocol = cfg.get("Protocol", "#{protocol}").replace("#{protocol}", request.scheme).lower()
    host = cfg.get("Host", "#{host}").replace("#{host}", hostname)
    path = cfg.get("Path", "/#{path}").replace("/#{path}", request.path)
    query = cfg.get("Query", "#{query}").replace("#{query}", request.query_string.decode())
    location = f"{protocol}://{host}{':' + local_port if local_port else ''}{path}" + (f"?{query}" if query else "")
    status = int(cfg.get("StatusCode", "HTTP_301").removeprefix("HTTP_"))
    response = Response(status=status, headers={"Location": location, "Server": "awselb/2.0"})
    return response


def activate(sites: Sites | None) -> None:
    global _sites
    _sites = sites
    if sites is not None:
        _install()


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    orig_create = ELBv2Backend.create_load_balancer
    orig_delete = ELBv2Backend.delete_load_balancer

    def create_load_balancer(self: Any, *args: Any, **kwargs: Any) -> Any:
        lb = orig_create(self, *args, **kwargs)
        if _sites is not None:
            _sites.open(lb)
            if _sites.protect_new_load_balancers:
                lb.attrs["deletion_protection.enabled"] = "true"
        return lb

    def delete_load_balancer(self: Any, arn: str) -> None:
        lb = self.load_balancers.get(arn)
        if lb is not None and lb.attrs.get("deletion_protection.enabled") == "true":
            # AWS refuses, and moto would not: the load balancer stays, and so does its bill.
            raise ELBClientError(
                "OperationNotPermitted",
                f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled",
            )
        orig_delete(self, arn)
        if _sites is not None:
            _sites.close(arn)

    ELBv2Backend.create_load_balancer = create_load_balancer  # type: ignore[method-assign]
    ELBv2Backend.delete_load_balancer = delete_load_balancer  # type: ignore[method-assign]
