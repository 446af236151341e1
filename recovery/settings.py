"""One frozen settings object. Precedence: command line > environment > `.env` file > defaults.

The `.env` file is parsed with python-dotenv's `dotenv_values`, which never touches `os.environ`.
Every key is documented in `.env.example` and in the README table (a test keeps them in sync).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
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


# name, default, help. The environment key is TURATH_<NAME upper>, except where AWS defines one.
_SPEC: tuple[tuple[str, str, str, str], ...] = (
    ("target", "TURATH_TARGET", "twin", "twin (embedded stand-in, default) or aws (standard boto3 chain)"),
    ("region", "AWS_REGION", "eu-central-1", "AWS region of the Turath account"),
    (
        "endpoint_url",
        "AWS_ENDPOINT_URL",
        "",
        "AWS-compatible endpoint (a standalone twin, moto); empty = AWS",
    ),
    ("rds_instance", "TURATH_RDS_INSTANCE", "invenio-default-rds", "production RDS instance (plan 2.1)"),
    ("db_user", "TURATH_DB_USER", "inveniordm_user", "RDS master user (plan 6.1)"),
    ("db_name", "TURATH_DB_NAME", "invenio", "database name inside the RDS instance"),
    (
        "db_host",
        "TURATH_DB_HOST",
        "",
        "host:port the suite uses to reach the production DB (tunnel, bastion)",
    ),
    ("db_password", "TURATH_DB_PASSWORD", "", "password for db_host; never printed"),
    ("ecs_cluster", "TURATH_ECS_CLUSTER", "invenio-default-cluster", "ECS cluster (plan 4 step 2.4)"),
    ("ecs_services", "TURATH_ECS_SERVICES", "web-ui,web-api,worker", "ECS services: web UI, web API, Celery"),
    ("app_container", "TURATH_APP_CONTAINER", "app", "container name inside each task definition"),
    ("log_group", "TURATH_LOG_GROUP", "/invenio-default/web-ui", "CloudWatch log group of web-ui (plan 5.1)"),
    ("expected_image", "TURATH_EXPECTED_IMAGE", "ghcr.io/alabarazi/turath-rdm:develop", "image (plan 3)"),
    (
        "files_bucket",
        "TURATH_FILES_BUCKET",
        "invenio-default-files",
        "S3 bucket with PDFs and HOCR (plan 2.2)",
    ),
    (
        "backup_bucket",
        "TURATH_BACKUP_BUCKET",
        "invenio-default-cold-storage",
        "cold-storage bucket (plan 2.2)",
    ),
    (
        "tfstate_bucket",
        "TURATH_TFSTATE_BUCKET",
        "invenio-default-tfstate",
        "Terraform state bucket (plan 2.4)",
    ),
    ("tfstate_key", "TURATH_TFSTATE_KEY", "inveniordm-terraform/terraform.tfstate", "state object key"),
    ("opensearch_domain", "TURATH_OPENSEARCH_DOMAIN", "invenio-default-search", "OpenSearch domain (2.3)"),
    ("cache_cluster", "TURATH_CACHE_CLUSTER", "invenio-default-redis", "ElastiCache Redis cluster (plan 3)"),
    ("broker_name", "TURATH_BROKER_NAME", "invenio-default-mq", "Amazon MQ broker (plan 3)"),
    ("site_url", "TURATH_SITE_URL", "https://invenio.turath-project.com", "public site (plan 5.1)"),
    ("verify_tls", "TURATH_VERIFY_TLS", "false", "verify the site's TLS certificate (the plan uses curl -k)"),
    ("retention_days", "TURATH_RETENTION_DAYS", "7", "minimum automated backup retention (plan 2.1)"),
    ("backup_window", "TURATH_BACKUP_WINDOW", "03:00-06:00", "window backups must fall in, UTC (plan 2.1)"),
    ("rpo_seconds", "TURATH_RPO_SECONDS", "300", "RPO objective (plan 5)"),
    ("rto_seconds", "TURATH_RTO_SECONDS", "3600", "RTO objective (plan 5: 45-60 min)"),
    ("snapshot_max_age_hours", "TURATH_SNAPSHOT_MAX_AGE_HOURS", "26", "newest automated snapshot age"),
    ("snapshot_min_gb", "TURATH_SNAPSHOT_MIN_GB", "1", "snapshot size threshold (plan 2.1.1)"),
    ("tfstate_max_age_days", "TURATH_TFSTATE_MAX_AGE_DAYS", "90", "state object must be newer than this"),
    ("log_window_minutes", "TURATH_LOG_WINDOW_MINUTES", "60", "window searched for resolve-db-uri lines"),
    ("min_users", "TURATH_MIN_USERS", "1", "minimum users in the DB (plan 5.2)"),
    ("min_records", "TURATH_MIN_RECORDS", "1", "minimum published records (plan 5.2)"),
    ("baseline_file", "TURATH_BASELINE_FILE", "", "JSON with recorded user/record counts (plan 5.2)"),
    ("baseline_tolerance", "TURATH_BASELINE_TOLERANCE", "0.02", "allowed relative drop below the baseline"),
    ("reports_dir", "TURATH_REPORTS_DIR", "reports", "where evidence is written"),
    ("drill_prefix", "TURATH_DRILL_PREFIX", "invenio", "prefix of drill-created resource names"),
    ("twin_size", "TURATH_TWIN_SIZE", "2000", "records seeded in the twin"),
    ("provisioner", "TURATH_PROVISIONER", "ecs-clone", "drill step 1: ecs-clone (API only) or terraform"),
    ("terraform_dir", "TURATH_TERRAFORM_DIR", "", "Terraform configuration the terraform provisioner applies"),
    ("restore_time", "TURATH_RESTORE_TIME", "", "drill restore point: empty = newest passing snapshot, latest, ISO"),
    ("last_upload_time", "TURATH_LAST_UPLOAD_TIME", "", "last data upload (2.1.1); empty = newest file object"),
    ("drill_storage", "TURATH_DRILL_STORAGE", "read", "drill step 3: read the files bucket, or clone it"),
    ("drill_db_host", "TURATH_DRILL_DB_HOST", "", "how this runner reaches the restored DB; empty = endpoint"),
    ("drill_site_url", "TURATH_DRILL_SITE_URL", "", "the drill's site; empty = its load balancer"),
    ("drill_poll_seconds", "TURATH_DRILL_POLL_SECONDS", "15", "longest wait between drill status polls"),
    ("drill_allowed_accounts", "TURATH_DRILL_ALLOWED_ACCOUNTS", "", "account ids a --target aws drill may use"),
    ("drill_sweep_hours", "TURATH_DRILL_SWEEP_HOURS", "6", "sweep without --drill-id leaves drills younger than this"),
    (
        "drill_lock_stale_seconds",
        "TURATH_DRILL_LOCK_STALE_SECONDS",
        "600",
        "a drill lock without a heartbeat this long is stale (its drill is dead)",
    ),
    ("drill_heartbeat_seconds", "TURATH_DRILL_HEARTBEAT_SECONDS", "30", "how often a running drill renews its lock"),
    ("search_url", "TURATH_SEARCH_URL", "", "OpenSearch data-plane URL (in-VPC); empty = the domain's endpoint"),
    ("s3_inventory", "TURATH_S3_INVENTORY", "", "S3 Inventory configuration id to read buckets from; empty = list"),
)

SPEC: tuple[Setting, ...] = tuple(Setting(n, e, d, h) for n, e, d, h in _SPEC)
BY_ENV = {s.env: s for s in SPEC}
BY_NAME = {s.name: s for s in SPEC}


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(BY_NAME[name].env, f"expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(BY_NAME[name].env, f"expected at least {minimum}, got {value}")
    return value


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(BY_NAME[name].env, f"expected a number, got {raw!r}") from None


def _bool(name: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(BY_NAME[name].env, f"expected true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """What the suite checks and where. Built once per run by `load_settings`; never mutated."""

    target: str
    region: str
    endpoint_url: str
    rds_instance: str
    db_user: str
    db_name: str
    db_host: str
    db_password: Secret = field(repr=True)
    ecs_cluster: str = ""
    ecs_services: tuple[str, ...] = ()
    app_container: str = "app"
    log_group: str = ""
    expected_image: str = ""
    files_bucket: str = ""
    backup_bucket: str = ""
    tfstate_bucket: str = ""
    tfstate_key: str = ""
    opensearch_domain: str = ""
    cache_cluster: str = ""
    broker_name: str = ""
    site_url: str = ""
    verify_tls: bool = False
    retention_days: int = 7
    backup_window: tuple[int, int] = (180, 360)  # minutes after midnight UTC
    rpo_seconds: int = 300
    rto_seconds: int = 3600
    snapshot_max_age_hours: int = 26
    snapshot_min_gb: int = 1
    tfstate_max_age_days: int = 90
    log_window_minutes: int = 60
    min_users: int = 1
    min_records: int = 1
    baseline_file: str = ""
    baseline_tolerance: float = 0.02
    reports_dir: Path = Path("reports")
    drill_prefix: str = "invenio"
    twin_size: int = 2000
    provisioner: str = "ecs-clone"
    terraform_dir: str = ""
    restore_time: str = ""
    last_upload_time: str = ""
    drill_storage: str = "read"
    drill_db_host: str = ""
    drill_site_url: str = ""
    drill_poll_seconds: float = 15.0
    drill_allowed_accounts: tuple[str, ...] = ()
    drill_sweep_hours: float = 6.0
    drill_lock_stale_seconds: float = 600.0
    drill_heartbeat_seconds: float = 30.0
    search_url: str = ""
    s3_inventory: str = ""
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


def parse_window(raw: str, env: str = "TURATH_BACKUP_WINDOW") -> tuple[int, int]:
    """'03:00-06:00' -> (180, 360). Raises ConfigError naming `env` otherwise."""
    m = _WINDOW_RE.match(raw.strip())
    if not m:
        raise ConfigError(env, f"expected HH:MM-HH:MM (UTC), got {raw!r}")
    h1, m1, h2, m2 = (int(x) for x in m.groups())
    return h1 * 60 + m1, h2 * 60 + m2


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


def _validate(raw: dict[str, str], sources: dict[str, str]) -> Settings:
    target = raw["target"].strip().lower()
    if target not in TARGETS:
        raise ConfigError("TURATH_TARGET (--target)", f"expected one of {', '.join(TARGETS)}, got {raw['target']!r}")
    region = raw["region"].strip()
    if not region:
        raise ConfigError("AWS_REGION (--region)", "missing: set the region of the Turath account")
    if not _REGION_RE.match(region):
        raise ConfigError("AWS_REGION (--region)", f"expected an AWS region like eu-central-1, got {region!r}")
    services = tuple(s.strip() for s in raw["ecs_services"].split(",") if s.strip())
    if not services:
        raise ConfigError("TURATH_ECS_SERVICES", "expected a comma-separated list of ECS services")
    for name in ("rds_instance", "ecs_cluster", "files_bucket", "db_user"):
        if not raw[name].strip():
            raise ConfigError(BY_NAME[name].env, "must not be empty")
    site = raw["site_url"].rstrip("/")
    if not site.startswith(("http://", "https://")):
        raise ConfigError("TURATH_SITE_URL", f"expected an http(s) URL, got {site!r}")
    return Settings(
        target=target,
        region=region,
        endpoint_url=raw["endpoint_url"].strip(),
        rds_instance=raw["rds_instance"].strip(),
        db_user=raw["db_user"].strip(),
        db_name=raw["db_name"].strip(),
        db_host=raw["db_host"].strip(),
        db_password=Secret(raw["db_password"]),
        ecs_cluster=raw["ecs_cluster"].strip(),
        ecs_services=services,
        app_container=raw["app_container"].strip(),
        log_group=raw["log_group"].strip(),
        expected_image=raw["expected_image"].strip(),
        files_bucket=raw["files_bucket"].strip(),
        backup_bucket=raw["backup_bucket"].strip(),
        tfstate_bucket=raw["tfstate_bucket"].strip(),
        tfstate_key=raw["tfstate_key"].strip(),
        opensearch_domain=raw["opensearch_domain"].strip(),
        cache_cluster=raw["cache_cluster"].strip(),
        broker_name=raw["broker_name"].strip(),
        site_url=site,
        verify_tls=_bool("verify_tls", raw["verify_tls"]),
        retention_days=_int("retention_days", raw["retention_days"], 1),
        backup_window=parse_window(raw["backup_window"]),
        rpo_seconds=_int("rpo_seconds", raw["rpo_seconds"], 1),
        rto_seconds=_int("rto_seconds", raw["rto_seconds"], 1),
        snapshot_max_age_hours=_int("snapshot_max_age_hours", raw["snapshot_max_age_hours"], 1),
        snapshot_min_gb=_int("snapshot_min_gb", raw["snapshot_min_gb"], 0),
        tfstate_max_age_days=_int("tfstate_max_age_days", raw["tfstate_max_age_days"], 1),
        log_window_minutes=_int("log_window_minutes", raw["log_window_minutes"], 1),
        min_users=_int("min_users", raw["min_users"]),
        min_records=_int("min_records", raw["min_records"]),
        baseline_file=raw["baseline_file"].strip(),
        baseline_tolerance=_float("baseline_tolerance", raw["baseline_tolerance"]),
        reports_dir=Path(raw["reports_dir"]),
        drill_prefix=raw["drill_prefix"].strip(),
        twin_size=_int("twin_size", raw["twin_size"], 10),
        provisioner=raw["provisioner"].strip(),
        terraform_dir=raw["terraform_dir"].strip(),
        restore_time=raw["restore_time"].strip(),
        last_upload_time=raw["last_upload_time"].strip(),
        drill_storage=raw["drill_storage"].strip(),
        drill_db_host=raw["drill_db_host"].strip(),
        drill_site_url=raw["drill_site_url"].strip().rstrip("/"),
        drill_poll_seconds=_float("drill_poll_seconds", raw["drill_poll_seconds"]),
        drill_allowed_accounts=tuple(a.strip() for a in raw["drill_allowed_accounts"].split(",") if a.strip()),
        drill_sweep_hours=_float("drill_sweep_hours", raw["drill_sweep_hours"]),
        drill_lock_stale_seconds=_float("drill_lock_stale_seconds", raw["drill_lock_stale_seconds"]),
        drill_heartbeat_seconds=_float("drill_heartbeat_seconds", raw["drill_heartbeat_seconds"]),
        search_url=raw["search_url"].strip().rstrip("/"),
        s3_inventory=raw["s3_inventory"].strip(),
        sources=sources,
    )
