"""One frozen settings object. Precedence: command line > environment > `.env` file > defaults.

Each setting is declared once, as a field of `Settings` made by `setting(...)`: its environment
key, default, one-line meaning, type and minimum. SPEC, the parser and the README/.env.example
checks all read those declarations, so a new setting is one line here (plus its .env.example
entry, which a test requires). The `.env` file is parsed with python-dotenv's `dotenv_values`,
which never touches `os.environ`.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from recovery.errors import ConfigError
from recovery.secrets import Secret

TARGETS = ("twin", "aws")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_WINDOW_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Setting:
    """Metadata of one setting: its environment key, default and one-line meaning."""

    name: str
    env: str
    default: str
    help: str


Parser = Callable[[str, str], Any]  # (env key, raw text) -> value


def _int(env: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(env, f"expected a whole number, got {raw!r}") from None


def _float(env: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(env, f"expected a number, got {raw!r}") from None


def _bool(env: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(env, f"expected true or false, got {raw!r}")


def _csv(env: str, raw: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in raw.split(",") if x.strip())


def parse_window(raw: str, env: str = "TURATH_BACKUP_WINDOW") -> tuple[int, int]:
    """'03:00-06:00' -> (180, 360). Raises ConfigError naming `env` otherwise."""
    m = _WINDOW_RE.match(raw.strip())
    if not m:
        raise ConfigError(env, f"expected HH:MM-HH:MM (UTC), got {raw!r}")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    return h1 * 60 + m1, h2 * 60 + m2


def _window(env: str, raw: str) -> tuple[int, int]:
    return parse_window(raw, env)


def _str(env: str, raw: str) -> str:
    return raw.strip()


KINDS: dict[object, Parser] = {
    str: _str,
    int: _int,
    float: _float,
    bool: _bool,
    Path: lambda env, raw: Path(raw.strip()),
    Secret: lambda env, raw: Secret(raw),
}
CSV, WINDOW = "csv", "window"
KINDS[CSV] = _csv
KINDS[WINDOW] = _window


def setting(env: str, default: str, help_text: str, kind: object, *, minimum: float | None = None) -> Any:
    """A Settings field: parsed from `default` for the dataclass default, documented by `help_text`."""
    parse = KINDS[kind]
    return field(
        default=parse(env, default),
        metadata={"env": env, "default": default, "help": help_text, "parse": parse, "minimum": minimum},
    )


@dataclass(frozen=True)
class Settings:
    """What the suite checks and where. Built once per run by `load_settings`; never mutated."""

    target: str = setting(
        "TURATH_TARGET", "twin", "twin (embedded stand-in, default) or aws (standard boto3 chain)", str
    )
    region: str = setting("AWS_REGION", "eu-central-1", "AWS region of the Turath account", str)
    endpoint_url: str = setting(
        "AWS_ENDPOINT_URL", "", "AWS-compatible endpoint (a standalone twin, moto); empty = AWS", str
    )
    rds_instance: str = setting("TURATH_RDS_INSTANCE", "invenio-default-rds", "production RDS instance (plan 2.1)", str)
    db_user: str = setting("TURATH_DB_USER", "inveniordm_user", "RDS master user (plan 6.1)", str)
    db_name: str = setting("TURATH_DB_NAME", "invenio", "database name inside the RDS instance", str)
    db_host: str = setting(
        "TURATH_DB_HOST", "", "host:port the suite uses to reach the production DB (tunnel, bastion)", str
    )
    db_password: Secret = setting("TURATH_DB_PASSWORD", "", "password for db_host; never printed", Secret)
    ecs_cluster: str = setting("TURATH_ECS_CLUSTER", "invenio-default-cluster", "ECS cluster (plan 4 step 2.4)", str)
    ecs_services: tuple[str, ...] = setting(
        "TURATH_ECS_SERVICES", "web-ui,web-api,worker", "ECS services: web UI, web API, Celery", CSV
    )
    app_container: str = setting("TURATH_APP_CONTAINER", "app", "container name inside each task definition", str)
    log_group: str = setting(
        "TURATH_LOG_GROUP", "/invenio-default/web-ui", "CloudWatch log group of web-ui (plan 5.1)", str
    )
    expected_image: str = setting(
        "TURATH_EXPECTED_IMAGE", "ghcr.io/alabarazi/turath-rdm:develop", "image (plan 3)", str
    )
    files_bucket: str = setting(
        "TURATH_FILES_BUCKET", "invenio-default-files", "S3 bucket with PDFs and HOCR (plan 2.2)", str
    )
    backup_bucket: str = setting(
        "TURATH_BACKUP_BUCKET", "invenio-default-cold-storage", "cold-storage bucket (plan 2.2)", str
    )
    tfstate_bucket: str = setting(
        "TURATH_TFSTATE_BUCKET", "invenio-default-tfstate", "Terraform state bucket (plan 2.4)", str
    )
    tfstate_key: str = setting("TURATH_TFSTATE_KEY", "inveniordm-terraform/terraform.tfstate", "state object key", str)
    opensearch_domain: str = setting(
        "TURATH_OPENSEARCH_DOMAIN", "invenio-default-search", "OpenSearch domain (2.3)", str
    )
    cache_cluster: str = setting(
        "TURATH_CACHE_CLUSTER", "invenio-default-redis", "ElastiCache Redis cluster (plan 3)", str
    )
    broker_name: str = setting("TURATH_BROKER_NAME", "invenio-default-mq", "Amazon MQ broker (plan 3)", str)
    site_url: str = setting("TURATH_SITE_URL", "https://invenio.turath-project.com", "public site (plan 5.1)", str)
    verify_tls: bool = setting(
        "TURATH_VERIFY_TLS", "false", "verify the site's TLS certificate (the plan uses curl -k)", bool
    )
    retention_days: int = setting(
        "TURATH_RETENTION_DAYS", "7", "minimum automated backup retention (plan 2.1)", int, minimum=1
    )
    backup_window: tuple[int, int] = setting(
        "TURATH_BACKUP_WINDOW", "03:00-06:00", "window backups must fall in, UTC (plan 2.1)", WINDOW
    )
    rpo_seconds: int = setting("TURATH_RPO_SECONDS", "300", "RPO objective (plan 5)", int, minimum=1)
    rto_seconds: int = setting("TURATH_RTO_SECONDS", "3600", "RTO objective (plan 5: 45-60 min)", int, minimum=1)
    snapshot_max_age_hours: int = setting(
        "TURATH_SNAPSHOT_MAX_AGE_HOURS", "26", "newest automated snapshot age", int, minimum=1
    )
    snapshot_min_gb: int = setting(
        "TURATH_SNAPSHOT_MIN_GB", "1", "snapshot size threshold (plan 2.1.1)", int, minimum=0
    )
    tfstate_max_age_days: int = setting(
        "TURATH_TFSTATE_MAX_AGE_DAYS", "90", "state object must be newer than this", int, minimum=1
    )
    log_window_minutes: int = setting(
        "TURATH_LOG_WINDOW_MINUTES", "60", "window searched for resolve-db-uri lines", int, minimum=1
    )
    search_settle_seconds: float = setting(
        "TURATH_SEARCH_SETTLE_SECONDS",
        "10",
        "how long the index may lag the DB (the indexer queue drains every ~10 s)",
        float,
        minimum=0,
    )
    min_users: int = setting("TURATH_MIN_USERS", "1", "minimum users in the DB (plan 5.2)", int, minimum=0)
    min_records: int = setting("TURATH_MIN_RECORDS", "1", "minimum published records (plan 5.2)", int, minimum=0)
    baseline_file: str = setting("TURATH_BASELINE_FILE", "", "JSON with recorded user/record counts (plan 5.2)", str)
    baseline_tolerance: float = setting(
        "TURATH_BASELINE_TOLERANCE", "0.02", "allowed relative drop below the baseline", float
    )
    reports_dir: Path = setting("TURATH_REPORTS_DIR", "reports", "where evidence is written", Path)
    drill_prefix: str = setting("TURATH_DRILL_PREFIX", "invenio", "prefix of drill-created resource names", str)
    twin_size: int = setting("TURATH_TWIN_SIZE", "2000", "records seeded in the twin", int, minimum=10)
    twin_profiles: tuple[str, ...] = setting(
        "TURATH_TWIN_PROFILE",
        "",
        "production shapes of the twin, comma-separated (python -m twin --list-profiles)",
        CSV,
    )
    provisioner: str = setting(
        "TURATH_PROVISIONER", "ecs-clone", "drill step 1: ecs-clone (API only) or terraform", str
    )
    terraform_dir: str = setting(
        "TURATH_TERRAFORM_DIR", "", "Terraform configuration the terraform provisioner applies", str
    )
    restore_time: str = setting(
        "TURATH_RESTORE_TIME", "", "drill restore point: empty = newest passing snapshot, latest, ISO", str
    )
    last_upload_time: str = setting(
        "TURATH_LAST_UPLOAD_TIME", "", "last data upload (2.1.1); empty = newest file object", str
    )
    rds_instance_class: str = setting(
        "TURATH_RDS_INSTANCE_CLASS", "", "restore's class; empty = the source's (RDS default)", str
    )
    rds_subnet_group: str = setting("TURATH_RDS_SUBNET_GROUP", "", "restore's DB subnet group (production's)", str)
    rds_security_groups: tuple[str, ...] = setting(
        "TURATH_RDS_SECURITY_GROUPS", "", "restore's VPC security group ids (production's)", CSV
    )
    rds_parameter_group: str = setting(
        "TURATH_RDS_PARAMETER_GROUP", "", "restore's DB parameter group; empty = engine default", str
    )
    drill_storage: str = setting(
        "TURATH_DRILL_STORAGE", "read", "drill step 3: read the files bucket, or clone it", str
    )
    drill_db_host: str = setting(
        "TURATH_DRILL_DB_HOST", "", "how this runner reaches the restored DB; empty = endpoint", str
    )
    drill_site_url: str = setting("TURATH_DRILL_SITE_URL", "", "the drill's site; empty = its load balancer", str)
    drill_poll_seconds: float = setting(
        "TURATH_DRILL_POLL_SECONDS", "15", "longest wait between drill status polls", float
    )
    drill_allowed_accounts: tuple[str, ...] = setting(
        "TURATH_DRILL_ALLOWED_ACCOUNTS", "", "account ids a --target aws drill may use", CSV
    )
    drill_sweep_hours: float = setting(
        "TURATH_DRILL_SWEEP_HOURS", "6", "sweep without --drill-id leaves drills younger than this", float
    )
    drill_lock_stale_seconds: float = setting(
        "TURATH_DRILL_LOCK_STALE_SECONDS",
        "600",
        "a drill lock without a heartbeat this long is stale (its drill is dead)",
        float,
    )
    drill_heartbeat_seconds: float = setting(
        "TURATH_DRILL_HEARTBEAT_SECONDS", "30", "how often a running drill renews its lock", float
    )
    drill_restore_minutes: float = setting(
        "TURATH_DRILL_RESTORE_MINUTES", "90", "longest wait for the restored instance (large RDS restores)", float
    )
    drill_rollout_minutes: float = setting(
        "TURATH_DRILL_ROLLOUT_MINUTES", "30", "longest wait for a drill rollout to complete", float
    )
    drill_load_balancer_minutes: float = setting(
        "TURATH_DRILL_LOAD_BALANCER_MINUTES", "10", "longest wait for the drill's load balancer", float
    )
    drill_deletion_minutes: float = setting(
        "TURATH_DRILL_DELETION_MINUTES", "30", "longest wait for one teardown deletion", float
    )
    accepted_skips: str = setting(
        "TURATH_ACCEPTED_SKIPS",
        "",
        "checks whose skip this deployment accepts: id:who-and-why, comma-separated",
        str,
    )
    phase_budgets: str = setting(
        "TURATH_PHASE_BUDGETS", "", "drill phase budgets in seconds: restore=2400,redeploy=600", str
    )
    s3_inventory: str = setting(
        "TURATH_S3_INVENTORY", "", "S3 Inventory configuration id to read buckets from; empty = list", str
    )
    search_url: str = setting(
        "TURATH_SEARCH_URL", "", "OpenSearch data-plane URL (in-VPC); empty = the domain's endpoint", str
    )
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def web_services(self) -> tuple[str, ...]:
        """Services that serve HTTP (plan 4 step 2.4 redeploys these two)."""
        return tuple(s for s in self.ecs_services if s.startswith("web"))

    @property
    def backup_window_text(self) -> str:
        a, b = self.backup_window
        return f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some values replaced (used to point checks at a recovered environment)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict[str, str]:
        """Every setting with its effective value (password masked) for the report header."""
        out: dict[str, str] = {}
        for s in SPEC:
            value = getattr(self, s.name)
            out[s.env] = str(value) if not isinstance(value, tuple) else ",".join(map(str, value))
        out["TURATH_BACKUP_WINDOW"] = self.backup_window_text
        return out


SPEC: tuple[Setting, ...] = tuple(
    Setting(f.name, f.metadata["env"], f.metadata["default"], f.metadata["help"])
    for f in fields(Settings)
    if "env" in f.metadata
)
BY_ENV = {s.env: s for s in SPEC}
BY_NAME = {s.name: s for s in SPEC}


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a .env file without touching os.environ; malformed lines are a ConfigError."""
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        body = stripped.removeprefix("export ").strip()
        key = body.split("=", 1)[0].strip()
        if "=" not in body or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f"{path}:{lineno}", "expected KEY=value (a malformed .env line)")
    for key, value in dotenv_values(path).items():
        values[key] = value or ""
    return values


def load_settings(
    cli: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv_path: Path | None = Path(".env"),
) -> Settings:
    """Merge the layers and validate. `cli` is keyed by setting name or environment key."""
    environ = os.environ if environ is None else environ
    dotenv = read_dotenv(dotenv_path) if dotenv_path is not None else {}
    raw: dict[str, str] = {}
    sources: dict[str, str] = {}
    for s in SPEC:
        raw[s.name], sources[s.name] = s.default, "default"
        env_keys = [s.env]
        if s.name == "region":
            env_keys.append("AWS_DEFAULT_REGION")
        for key in reversed(env_keys):
            if key in dotenv:
                raw[s.name], sources[s.name] = dotenv[key], ".env"
        for key in reversed(env_keys):
            if key in environ:
                raw[s.name], sources[s.name] = environ[key], "environment"
    for key, value in (cli or {}).items():
        if value is None:
            continue
        spec = BY_NAME.get(key) or BY_ENV.get(key)
        if spec is None:
            raise ConfigError(key, f"unknown setting; known: {', '.join(s.env for s in SPEC)}")
        raw[spec.name], sources[spec.name] = value, "command line"
    return _validate(raw, sources)


URL_SETTINGS = ("site_url", "drill_site_url", "search_url", "endpoint_url")
NOT_EMPTY = ("rds_instance", "ecs_cluster", "files_bucket", "db_user")


def _validate(raw: dict[str, str], sources: dict[str, str]) -> Settings:
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if "env" not in f.metadata:
            continue
        env, text = f.metadata["env"], raw[f.name]
        if f.name in URL_SETTINGS:
            text = text.strip().rstrip("/")
        value = f.metadata["parse"](env, text)
        if f.metadata["minimum"] is not None and value < f.metadata["minimum"]:
            raise ConfigError(env, f"expected at least {f.metadata['minimum']}, got {value}")
        values[f.name] = value
    target = values["target"].lower()
    if target not in TARGETS:
        raise ConfigError("TURATH_TARGET (--target)", f"expected one of {', '.join(TARGETS)}, got {raw['target']!r}")
    values["target"] = target
    if not values["region"]:
        raise ConfigError("AWS_REGION (--region)", "missing: set the region of the Turath account")
    if not _REGION_RE.match(values["region"]):
        raise ConfigError("AWS_REGION (--region)", f"expected an AWS region like eu-central-1, got {raw['region']!r}")
    if not values["ecs_services"]:
        raise ConfigError("TURATH_ECS_SERVICES", "expected a comma-separated list of ECS services")
    for name in NOT_EMPTY:
        if not values[name]:
            raise ConfigError(BY_NAME[name].env, "must not be empty")
    if not values["site_url"].startswith(("http://", "https://")):
        raise ConfigError("TURATH_SITE_URL", f"expected an http(s) URL, got {values['site_url']!r}")
    return Settings(**values, sources=sources)
