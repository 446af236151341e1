"""The drill's state, typed: what each step reached, persisted in the ledger, read by the checks.

Each step writes its own dataclass (`recovery`, `environment`, `restored`, ...); nothing reads a
message back. `DrillState.to_dict` / `from_dict` are the ledger's JSON form, so `--resume-from`
and a sweep from another process see the same fields. Never a secret in here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")


def _build(cls: type[T], data: dict[str, Any] | None) -> T | None:
    """A dataclass from its dict, ignoring keys it does not know (an older or newer ledger)."""
    if data is None:
        return None
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class RecoveryPoint:
    """Step snapshot_gate: what will be restored and why (the §2.1.1 checklist rows as evidence).

    `refused` is set when no recovery point passed; the rows and events then explain why.
    """

    mode: str = ""  # "snapshot" | "point-in-time"
    recovery_point: str | None = None
    snapshot: str | None = None
    restore_time: str | None = None
    use_latest: bool = False
    last_upload: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    window: list[str] | None = None
    reason: str = ""
    refused: str = ""
    diagnostics: dict[str, Any] = field(default_factory=dict)
    source_backup_arn: str | None = None  # point in time from a retained automated backup (instance gone)

    @classmethod
    def from_gate(cls, state: dict[str, Any]) -> RecoveryPoint:
        point = _build(cls, state)
        assert point is not None
        return point

    @property
    def source(self) -> str:
        """'snapshot X' or 'point in time T', as a person says it."""
        return f"snapshot {self.snapshot}" if self.snapshot else f"point in time {self.recovery_point}"


@dataclass
class DrillService:
    """One drill service: its name, the revision it runs, its target group, production's source revision.

    `source` is the revision a recovery would deploy (the family's latest registered); `running`
    is what production runs now. They differ while a registered revision awaits its deployment.
    """

    name: str
    task_definition: str
    target_group: str | None = None
    source: str = ""
    running: str = ""


@dataclass
class DrillEnvironment:
    """Step provision: the parallel environment (cluster, services, load balancer, site)."""

    provisioner: str
    cluster: str = ""
    site_url: str = ""
    site_address: str = ""  # where site_url is dialed when the listener routes by host name (Site)
    services: dict[str, DrillService] = field(default_factory=dict)
    network: dict[str, Any] | None = None
    launch: dict[str, Any] | None = None
    load_balancer: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DrillEnvironment | None:
        env = _build(cls, data)
        if env is not None:
            env.services = {k: DrillService(**v) for k, v in (data or {}).get("services", {}).items()}
        return env


@dataclass
class Restored:
    """Step restore: the restored instance, its endpoint, and how this runner reaches it."""

    instance: str
    endpoint: str
    sql_address: str
    instance_class: str | None = None
    operation: str = ""
    password_source: str = ""  # the task definition whose RDS_DB_PASSWORD opened it (never the value)
    # Each restore parameter production's instance used to give: its value and where it came from.
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class StorageResult:
    """Step storage: which bucket the drill reads, and the files downloaded through its site."""

    mode: str
    bucket: str
    samples: list[dict[str, Any]] = field(default_factory=list)
    cloned_objects: int | None = None


@dataclass
class ReindexResult:
    """Step reindex: the one-off tasks that ran and the search total against the restored DB."""

    tasks: list[dict[str, Any]] = field(default_factory=list)
    expected: int | None = None
    total: int | None = None
    search_prefix: str = ""


@dataclass
class Verification:
    """Step verify: counts and the newest change on both sides (measured data loss)."""

    restored: dict[str, int] = field(default_factory=dict)
    production_as_of_recovery_point: dict[str, int] | None = None
    restored_newest_change: str | None = None
    production_newest_change: str | None = None
    data_loss_basis: str = ""
    production_error: str = ""


@dataclass
class StepFailure:
    """A failed step, structured: what the plan calls the symptom, the evidence, the fix, the section."""

    step: str
    message: str
    symptom: str = ""
    evidence: str = ""
    cause: str = ""
    fix: str = ""
    plan_section: str = ""


@dataclass
class DrillState:
    """Everything the drill reached so far (persisted in the ledger after each change)."""

    account: str = ""
    target: str = ""
    started_at: str = ""
    pitr_lag_seconds: float | None = None
    recovery: RecoveryPoint | None = None
    environment: DrillEnvironment | None = None
    restored: Restored | None = None
    redeployed: dict[str, str] = field(default_factory=dict)
    storage: StorageResult | None = None
    reindex: ReindexResult | None = None
    verify: Verification | None = None
    phases: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, StepFailure] = field(default_factory=dict)
    teardown: list[dict[str, Any]] = field(default_factory=list)
    leftovers: list[dict[str, Any]] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # what the leak check could not look at, and why
    torn_down: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DrillState:
        data = dict(data or {})
        state = _build(cls, data) or cls()
        state.recovery = _build(RecoveryPoint, data.get("recovery"))
        state.environment = DrillEnvironment.from_dict(data.get("environment"))
        state.restored = _build(Restored, data.get("restored"))
        state.storage = _build(StorageResult, data.get("storage"))
        state.reindex = _build(ReindexResult, data.get("reindex"))
        state.verify = _build(Verification, data.get("verify"))
        state.failures = {k: StepFailure(**v) for k, v in (data.get("failures") or {}).items()}
        return state
