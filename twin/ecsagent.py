"""ECS that rolls out and runs things (moto's services never progress and tasks always exit 0).

- UpdateService with a new revision or forceNewDeployment starts a new PRIMARY deployment
  (IN_PROGRESS, the old one ACTIVE and still serving). A moment later it is COMPLETED (tasks
  started and passed the load balancer's /ping health check, which does not touch the DB, as
  in InvenioRDM) or FAILED when the image cannot be pulled or the revision's tasks exit at start
  (circuit breaker, no rollback): the previous deployment stays ACTIVE on its own revision and
  keeps serving. Registering a revision without deploying it changes nothing that runs (plan §7).
- RunTask executes the container's command (or the override) as the InvenioRDM CLI against
  the task's environment, through the image's entrypoint unless the task definition replaces
  it, writes the output to the task's CloudWatch log stream and stops with the real exit code.
- `runtime(cluster, role)` tells the InvenioRDM stand-in what the tasks of a service run now.
"""

from __future__ import annotations

import logging
import shlex
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from moto.ecs.models import EC2ContainerServiceBackend
from moto.moto_api import state_manager

from twin import secretstore
from twin.invenio_cli import conninfo, resolve_db_uri, run_command
from twin.invenio_db import ALEMBIC_HEADS, HEADS_LABEL
from twin.search import SearchIndex
from twin.webapp import ServiceRuntime

log = logging.getLogger(__name__)

ROLLOUT_SECONDS = 0.5
TASK_START_SECONDS = 0.2
ENTRYPOINT = "/usr/local/bin/resolve-db-uri.sh"
KNOWN_TAGS = ("develop", "latest", "main", "stable")
_agent: EcsAgent | None = None
_installed = False


def _now() -> datetime:
    return datetime.now(UTC)


def _container(td: Any, name: str | None = None) -> dict[str, Any]:
    defs = td.container_definitions
    for c in defs:
        if name is None or c.get("name") == name:
            return dict(c)
    return dict(defs[0])


def env_of(td: Any, overrides: dict[str, Any] | None = None) -> dict[str, str]:
    """The app container's environment at task start: `secrets` read (SecretsUnavailable if one cannot be)."""
    c = _container(td)
    env = secretstore.resolve(c, td.arn.split(":")[3])  # the task definition's region
    for o in (overrides or {}).get("containerOverrides", []) or []:
        if o.get("name") in (None, c.get("name")):
            env.update({e["name"]: e.get("value", "") for e in o.get("environment") or []})
    return env


def _is_shell(word: str) -> bool:
    return word.rsplit("/", 1)[-1] in ("bash", "sh")


def effective_command(entry_point: list[str], command: list[str]) -> tuple[list[str], bool]:
    """(what the container runs, whether resolve-db-uri.sh ran first), as Docker combines them.

    Docker runs entryPoint + command. With the image's entrypoint the script builds the DB URI
    and execs the command. With `["/bin/sh", "-c"]` only the first word of the command is the
    script (the rest become $0, $1...), and the URI is built only if that script calls
    resolve-db-uri.sh itself: a one-off `invenio ...` override skips it (plan 6.3). No entryPoint
    in the task definition is the image's own ENTRYPOINT, which is the script (plan 2.5).
    """
    if not entry_point or ENTRYPOINT in entry_point:
        return command, True
    full = [*entry_point, *command]
    if len(full) >= 3 and _is_shell(full[0]) and full[1] in ("-c", "-lc"):
        words = shlex.split(full[2])
        if words[:1] == ["exec"]:
            words = words[1:]
        if words[:1] == [ENTRYPOINT]:
            return ["bash", "-c", shlex.join(words[1:])], True
        return ["bash", "-c", full[2]], False
    return full, False


def image_heads(container: dict[str, Any]) -> tuple[str, ...]:
    """The Alembic heads of the container's image, as its CI declared them (the released ones if it did not)."""
    declared = str((container.get("dockerLabels") or {}).get(HEADS_LABEL, ""))
    return tuple(declared.replace(",", " ").split()) or ALEMBIC_HEADS


def image_pullable(image: str) -> bool:
    """The twin's registry has the Turath image under its usual tags only."""
    repo, _, tag = image.rpartition(":")
    return repo.endswith("turath-rdm") and (tag in KNOWN_TAGS or tag.startswith("v"))


class EcsAgent:
    """Moves deployments and one-off tasks forward. One per process, driven by timers."""

    def __init__(
        self,
        backend: Callable[[], Any],
        indices: Callable[[str], SearchIndex | None],
        write_log: Callable[[str, str, list[str]], None],
    ) -> None:
        self.backend = backend
        self.indices = indices
        self.write_log = write_log
        self._timers: list[threading.Timer] = []
        self._lock = threading.RLock()
        self._started: dict[str, dict[str, str]] = {}  # deployment id -> its tasks' environment at start
        # (task definition ARN, database host:port) of every task start, service or one-off: which
        # database each task connects to (tests prove a drill's tasks never reach production's).
        self.connections: list[tuple[str, str]] = []
        # Revisions whose tasks exit as soon as they start (a broken build): task definition ARN -> why.
        self.crashing: dict[str, str] = {}

    # ---- deployments -----------------------------------------------------------------------
    def start_deployment(self, svc: Any) -> None:
        now = _now()
        old = [dict(d, status="ACTIVE") for d in svc.deployments if d.get("runningCount", 0) > 0]
        dep = {
            "id": f"ecs-svc/{uuid.uuid4().int % 10**19}",
            "status": "PRIMARY",
            "taskDefinition": svc.task_definition,
            "desiredCount": svc.desired_count,
            "pendingCount": svc.desired_count,
            "runningCount": 0,
            "failedTasks": 0,
            "createdAt": now,
            "updatedAt": now,
            "launchType": svc.launch_type,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": "ECS deployment in progress.",
        }
        svc.deployments = [dep, *old[:1]]
        svc.events.insert(0, _event(f"(service {svc.name}) has started {svc.desired_count} tasks."))
        self._later(ROLLOUT_SECONDS, self.finish_rollout, svc, dep["id"])

    def finish_rollout(self, svc: Any, dep_id: str) -> None:
        with self._lock:
            dep = next((d for d in svc.deployments if d["id"] == dep_id), None)
            if dep is None or dep["rolloutState"] != "IN_PROGRESS":
                return
            td = self.backend().describe_task_definition(dep["taskDefinition"])
            image = str(_container(td).get("image", ""))
            now = _now()
            reason = self.crashing.get(td.arn, "")
            if not image_pullable(image):
                reason = (
                    f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                    f"failed to resolve ref {image}: not found"
                )
            else:
                try:
                    self._started[dep_id] = self._start_env(td)
                except secretstore.SecretsUnavailable as exc:
                    reason = str(exc)
            if reason:
                # The circuit breaker stops the rollout; the ACTIVE deployment keeps its tasks and revision.
                dep.update(
                    rolloutState="FAILED",
                    rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.",
                    failedTasks=3,
                    pendingCount=0,
                    updatedAt=now,
                )
                svc.events.insert(0, _event(f"(service {svc.name}) tasks failed to start: {reason}"))
                svc.twin_stopped_reason = reason
                return
            dep.update(
                rolloutState="COMPLETED",
                rolloutStateReason=f"ECS deployment {dep_id} completed.",
                runningCount=svc.desired_count,
                pendingCount=0,
                updatedAt=now,
            )
            svc.deployments = [dep]
            svc.running_count = svc.desired_count
            svc.pending_count = 0
            svc.events.insert(0, _event(f"(service {svc.name}) has reached a steady state."))

    def complete_pending(self) -> None:
        """Finish every rollout in flight now (used when seeding and applying faults)."""
        for svc in list(self.backend().services.values()):
            for dep in list(svc.deployments):
                if dep.get("rolloutState") == "IN_PROGRESS":
                    self.finish_rollout(svc, dep["id"])

    def runtime(self, service: Any) -> ServiceRuntime | None:
        """What the tasks of `service` run now: the newest deployment that has running tasks."""
        for dep in service.deployments:
            if dep.get("runningCount", 0) > 0:
                td = self.backend().describe_task_definition(dep["taskDefinition"])
                env = self._started.get(dep["id"])
                if env is None:
                    try:
                        env = self._started[dep["id"]] = self._start_env(td)
                    except secretstore.SecretsUnavailable:
                        return None
                return ServiceRuntime(env, td.arn, int(dep["runningCount"]), dep["id"])
        return None

    def _start_env(self, td: Any, overrides: dict[str, Any] | None = None) -> dict[str, str]:
        """A task starts: its references are read now (not again while it runs) and its database noted."""
        env = env_of(td, overrides)
        uri, _ = resolve_db_uri(env)
        self.connections.append((td.arn, urlsplit(conninfo(uri)).netloc.rsplit("@", 1)[-1] if uri else ""))
        return env

    # ---- one-off tasks ---------------------------------------------------------------------
    def start_task(self, task: Any, td: Any) -> None:
        task.status = "PROVISIONING"
        task.containers[0].last_status = "PENDING"
        self._later(TASK_START_SECONDS, self.run, task, td)

    def run(self, task: Any, td: Any) -> None:
        container = _container(td)
        task.status = "RUNNING"
        task.containers[0].last_status = "RUNNING"
        task.started_at = _now()
        argv = list(container.get("command") or [])
        for o in task.overrides.get("containerOverrides", []) or []:
            if o.get("command"):
                argv = list(o["command"])
        argv, entrypoint = effective_command(list(container.get("entryPoint") or []), argv)
        try:
            env = self._start_env(td, task.overrides)
        except secretstore.SecretsUnavailable as exc:
            task.containers[0].last_status = "STOPPED"
            task.stopped_reason = str(exc)
            task.stopping_at = task.stopped_at = task.execution_stopped_at = _now()
            task.desired_status = task.status = "STOPPED"
            return
        try:
            result = run_command(argv, env, self.indices, entrypoint, image_heads(container))
            code, lines = result.exit_code, result.lines
        except Exception as exc:  # the stand-in must not hang a task; report it as a crash
            log.exception("one-off task crashed")
            code, lines = 1, [f"Traceback (most recent call last): {type(exc).__name__}"]
        group = (container.get("logConfiguration") or {}).get("options", {}).get("awslogs-group")
        prefix = (container.get("logConfiguration") or {}).get("options", {}).get("awslogs-stream-prefix", "ecs")
        if group:
            self.write_log(group, f"{prefix}/{container.get('name')}/{task.id}", lines)
        task.containers[0].exitCode = code
        task.containers[0].last_status = "STOPPED"
        task.containers[0].reason = None if code == 0 else f"Essential container exited with code {code}"
        task.stopped_reason = "Essential container in task exited"
        task.stopping_at = task.stopped_at = task.execution_stopped_at = _now()
        task.desired_status = "STOPPED"
        task.status = "STOPPED"

    # ---- plumbing --------------------------------------------------------------------------
    def _later(self, seconds: float, fn: Callable[..., None], *args: Any) -> None:
        timer = threading.Timer(seconds, fn, args=args)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.crashing.clear()


def _event(message: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "createdAt": _now(), "message": message}


def activate(agent: EcsAgent | None) -> None:
    global _agent
    _agent = agent
    if agent is not None:
        _install()


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    # Tasks move only when the agent moves them (moto would jump straight to STOPPED).
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})
    orig_update = EC2ContainerServiceBackend.update_service
    orig_create = EC2ContainerServiceBackend.create_service
    orig_run_task = EC2ContainerServiceBackend.run_task

    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        before = None
        name = str(service_properties.get("service", "")).split("/")[-1]
        cluster = str(service_properties.get("cluster", "default")).split("/")[-1]
        current = self.services.get(f"{cluster}:{name}")
        if current is not None:
            before = (current.task_definition, current.desired_count)
        force = bool(service_properties.get("force_new_deployment"))
        running = {k: (v.running_count, v.pending_count) for k, v in self.services.items()}
        svc = orig_update(self, service_properties)
        # moto zeroes running counts of the service; tasks keep running until replaced.
        svc.running_count, svc.pending_count = running.get(f"{cluster}:{name}", (0, 0))
        if _agent is not None and (force or before is None or svc.task_definition != before[0]):
            _agent.start_deployment(svc)
        return svc

    def create_service(self: Any, *args: Any, **kwargs: Any) -> Any:
        svc = orig_create(self, *args, **kwargs)
        if _agent is not None and svc.desired_count > 0:
            svc.deployments = []
            _agent.start_deployment(svc)
        return svc

    def run_task(self: Any, cluster_str: str, task_definition_str: str, *args: Any, **kwargs: Any) -> Any:
        tasks = orig_run_task(self, cluster_str, task_definition_str, *args, **kwargs)
        if _agent is not None:
            td = self.describe_task_definition(task_definition_str)
            for task in tasks:
                _agent.start_task(task, td)
        return tasks

    EC2ContainerServiceBackend.update_service = update_service  # type: ignore[method-assign]
    EC2ContainerServiceBackend.create_service = create_service  # type: ignore[method-assign]
    EC2ContainerServiceBackend.run_task = run_task  # type: ignore[method-assign]


def wait_settled(agent: EcsAgent, timeout: float = 5.0) -> None:
    """Block until no deployment is IN_PROGRESS (seeding and faults want a settled cluster)."""
    deadline = time.monotonic() + timeout
    agent.complete_pending()
    while time.monotonic() < deadline:
        pending = [
            d for s in agent.backend().services.values() for d in s.deployments if d["rolloutState"] == "IN_PROGRESS"
        ]
        if not pending:
            return
        agent.complete_pending()
