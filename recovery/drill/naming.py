"""Drill ids, the names of drill-created resources and their tags.

Good: every resource a drill creates is `<prefix>-drill-<id>-<role>` and tagged `drill-id=<id>`,
so the guard can refuse anything else and the leak check and sweep can find everything.
Ids are short (`d` + 6 characters) because ELBv2 names stop at 32 characters.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from recovery.errors import ConfigError
from recovery.timeutil import iso

ID_RE = re.compile(r"^d[a-z0-9]{6}$")
_ALPHABET = string.ascii_lowercase + string.digits
MANAGED_BY = "turath-recovery"
TAG_ID = "drill-id"
TAG_CREATED = "drill-created"
TAG_MANAGED = "managed-by"
ELB_NAME_MAX = 32


def new_drill_id() -> str:
    """'d' + 6 random lowercase letters/digits, e.g. 'dk3x9q2'."""
    return "d" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


def validate_drill_id(drill_id: str) -> str:
    if not ID_RE.match(drill_id):
        raise ConfigError("drill id", f"expected 'd' + 6 lowercase letters or digits, got {drill_id!r}")
    return drill_id


def drill_id_of(name: str, prefix: str) -> str | None:
    """The drill id inside a resource name or ARN made by `DrillNames`, or None."""
    m = re.search(rf"(?:^|[/:]){re.escape(prefix)}-drill-(d[a-z0-9]{{6}})(?=$|[-/:])", name)
    return m.group(1) if m else None


@dataclass(frozen=True)
class DrillNames:
    """Names and tags of one drill's resources (prefix = settings.drill_prefix)."""

    prefix: str
    drill_id: str
    created: datetime

    def __post_init__(self) -> None:
        validate_drill_id(self.drill_id)
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,14}", self.prefix):
            raise ConfigError("TURATH_DRILL_PREFIX", f"expected 1-15 lowercase letters/digits/-, got {self.prefix!r}")

    @property
    def base(self) -> str:
        return f"{self.prefix}-drill-{self.drill_id}"

    def name(self, role: str) -> str:
        return f"{self.base}-{role}"

    @property
    def cluster(self) -> str:
        return self.name("cluster")

    @property
    def db_instance(self) -> str:
        return self.name("db")

    @property
    def load_balancer(self) -> str:
        return self._elb(self.name("alb"))

    def target_group(self, role: str) -> str:
        return self._elb(self.name(f"tg-{role}"))

    @property
    def files_bucket(self) -> str:
        return self.name("files")

    def service(self, production_service: str) -> str:
        return self.name(production_service)

    def family(self, production_service: str) -> str:
        return self.name(production_service)

    def log_group(self, production_service: str) -> str:
        return f"/{self.base}/{production_service}"

    @property
    def search_prefix(self) -> str:
        """INVENIO_SEARCH_INDEX_PREFIX of the drill: its indices never collide with production's."""
        return f"{self.base}-"

    @property
    def terraform_workspace(self) -> str:
        return f"drill-{self.drill_id}"

    def owns(self, identifier: str) -> bool:
        """True if `identifier` (a name or an ARN) names a resource of this drill."""
        return drill_id_of(identifier, self.prefix) == self.drill_id

    @staticmethod
    def _elb(name: str) -> str:
        if len(name) > ELB_NAME_MAX:
            raise ConfigError("TURATH_DRILL_PREFIX", f"ELBv2 name {name!r} exceeds {ELB_NAME_MAX} characters")
        return name

    # ---- tags, in each service's spelling ---------------------------------------------------
    def tags(self) -> dict[str, str]:
        return {TAG_ID: self.drill_id, TAG_CREATED: iso(self.created), TAG_MANAGED: MANAGED_BY}

    def tag_list(self) -> list[dict[str, str]]:
        """RDS, ELBv2, SSM, S3 TagSet: [{'Key', 'Value'}]."""
        return [{"Key": k, "Value": v} for k, v in self.tags().items()]

    def ecs_tags(self) -> list[dict[str, str]]:
        """ECS: [{'key', 'value'}]."""
        return [{"key": k, "value": v} for k, v in self.tags().items()]
