"""Application load balancers that really serve: each ELBv2 load balancer created in the twin
gets an InvenioRDM stand-in on loopback, and its DNSName becomes that address.

Routing comes from the load balancer's own listener: the ECS services registered with its
target groups serve, `/api/*` by the service named web-api, the rest by web-ui.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from moto.elbv2.exceptions import ELBClientError
from moto.elbv2.models import ELBv2Backend

from twin.search import SearchIndex
from twin.webapp import InvenioStandIn, ServiceRuntime

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
    ) -> None:
        self.elbv2 = elbv2
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
