"""What every drill step receives: settings, guarded AWS clients, names, ledger, clock, state."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from botocore.config import Config

from recovery.aws.session import Aws
from recovery.drill.clock import DrillClock
from recovery.drill.guard import Allowed, Guard
from recovery.drill.ledger import Entry, Ledger
from recovery.drill.lock import NAME as LOCK_NAME
from recovery.drill.lock import Heartbeat
from recovery.drill.naming import DrillNames
from recovery.drill.state import DrillState
from recovery.errors import ConfigError, StepFailed
from recovery.secrets import Secret
from recovery.settings import Settings

log = logging.getLogger(__name__)

_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=60)

PROVISIONERS = ("ecs-clone", "terraform")


def _float(env: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(env, f"expected a number, got {raw!r}") from None


STORAGE_MODES = ("read", "clone")


@dataclass(frozen=True)
class DrillOptions:
    """Drill settings: the drill's fields of `Settings` (same names, defaults there), plus per-run options.

    Built only by `from_settings`, so the defaults live in one place (recovery/settings.py).
    """

    provisioner: str
    terraform_dir: str
    restore_time: str
    last_upload_time: str
    drill_storage: str
    drill_db_host: str
    drill_site_url: str
    drill_poll_seconds: float
    drill_allowed_accounts: tuple[str, ...]
    drill_sweep_hours: float
    keep: bool = False
    plan: bool = False
    resume_from: str = ""
    drill_id: str = ""

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> DrillOptions:
        """The drill's settings, with per-run overrides (CLI flags) on top."""
        values: dict[str, Any] = {f.name: getattr(settings, f.name) for f in fields(cls) if hasattr(settings, f.name)}
        values.update({k: v for k, v in overrides.items() if v is not None})
        accounts = values.get("drill_allowed_accounts", ())
        if isinstance(accounts, str):
            values["drill_allowed_accounts"] = tuple(a.strip() for a in accounts.split(",") if a.strip())
        options = cls(**values)
        options.validate()
        return options

    def validate(self) -> None:
        if self.provisioner not in PROVISIONERS:
            raise ConfigError(
                "TURATH_PROVISIONER", f"expected one of {', '.join(PROVISIONERS)}, got {self.provisioner!r}"
            )
        if self.provisioner == "terraform" and not self.terraform_dir:
            raise ConfigError("TURATH_TERRAFORM_DIR", "the terraform provisioner needs the configuration's directory")
        if self.drill_storage not in STORAGE_MODES:
            raise ConfigError(
                "TURATH_DRILL_STORAGE", f"expected one of {', '.join(STORAGE_MODES)}, got {self.drill_storage!r}"
            )
        if self.drill_poll_seconds <= 0:
            raise ConfigError("TURATH_DRILL_POLL_SECONDS", f"expected a positive number, got {self.drill_poll_seconds}")


def check_account(account: str, allowed: tuple[str, ...]) -> None:
    """A drill needs its account on the allow-list (the twin puts its own account there)."""
    if account not in allowed:
        raise ConfigError(
            "TURATH_DRILL_ALLOWED_ACCOUNTS",
            f"account {account} is not allowed to run drills (allowed: {', '.join(allowed) or 'none'}); "
            "add it deliberately: a drill creates and deletes resources there",
        )


class DrillAws:
    """boto3 clients of the target with the drill guard installed (separate from the health clients)."""

    def __init__(self, aws: Aws, guard: Guard) -> None:
        self.aws = aws
        self.guard = guard
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            kwargs: dict[str, Any] = {"config": _CONFIG}
            if self.aws.settings.endpoint_url:
                kwargs["endpoint_url"] = self.aws.settings.endpoint_url
            session: Any = self.aws.session
            self._clients[service] = self.guard.install(session.client(service, **kwargs))
        return self._clients[service]


def make_guard(names: DrillNames) -> Guard:
    """The drill's guard; the only exception is the target-wide drill lock parameter."""
    return Guard(
        names, allowed=(Allowed("ssm", "PutParameter", LOCK_NAME), Allowed("ssm", "DeleteParameter", LOCK_NAME))
    )


@dataclass(frozen=True)
class PlannedCall:
    """One mutating call a step makes, as `--plan` prints it (each step lists its own)."""

    step: str
    service: str
    operation: str
    target: str
    detail: str = ""

    def line(self) -> str:
        extra = f"  ({self.detail})" if self.detail else ""
        return f"{self.step:<14} {self.service}:{self.operation} {self.target}{extra}"


@dataclass(frozen=True)
class Timeouts:
    """How long each wait may take, from documented AWS durations (not the RTO objective).

    A slow recovery is the RTO check's verdict; a wait only fails when something is stuck.
    The long ones are settings (TURATH_DRILL_*_MINUTES).
    """

    restore: float = 5400.0  # RDS restores of large instances: up to 90 min
    rollout: float = 1800.0
    load_balancer: float = 600.0
    deletion: float = 1800.0
    db_login: float = 900.0  # DNS of a new endpoint and security groups settle within minutes
    one_off: float = 1800.0
    reindex: float = 3600.0

    @classmethod
    def from_settings(cls, s: Settings) -> Timeouts:
        return cls(
            restore=s.drill_restore_minutes * 60,
            rollout=s.drill_rollout_minutes * 60,
            load_balancer=s.drill_load_balancer_minutes * 60,
            deletion=s.drill_deletion_minutes * 60,
        )


T = TypeVar("T")


@dataclass
class DrillContext:
    """Everything a step needs. `state` is typed and persisted in the ledger (never a secret in it)."""

    settings: Settings
    aws: DrillAws
    names: DrillNames
    ledger: Ledger
    clock: DrillClock
    options: DrillOptions
    state: DrillState = field(default_factory=DrillState)
    secrets: dict[str, Secret] = field(default_factory=dict)
    failures: dict[str, StepFailed] = field(default_factory=dict)
    timeouts: Timeouts = field(default_factory=Timeouts)
    heartbeat: Heartbeat | None = None

    @property
    def drill_id(self) -> str:
        return self.names.drill_id

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def record(self, kind: str, ident: str, step: str, **extra: Any) -> Entry:
        return self.ledger.record(kind, ident, self.settings.region, step, **extra)

    def save(self) -> None:
        self.ledger.state = self.state.to_dict()
        self.ledger.save()

    def require(self, value: T | None, step: str) -> T:
        """A state an earlier step must have reached (StepFailed naming `step` otherwise)."""
        if value is None:
            raise StepFailed(step, "an earlier step did not reach its state (resume from an earlier step)")
        return value

    @property
    def reports_dir(self) -> Path:
        return Path(self.settings.reports_dir)
