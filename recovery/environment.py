"""The environment the application and data checks look at: production, or a drill's recovery.

Plan §4 step 5 verifies a recovered environment with the checks of §5; the health suite runs the
same checks against production. An `Environment` is the one thing that differs: the site, the
database endpoint, the ECS cluster and services, and the log groups of the web services.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from recovery.db import Endpoint
from recovery.settings import Settings

PRODUCTION = "production"
RECOVERED = "recovered"


@dataclass(frozen=True)
class Environment:
    """What the §5 checks need to know about one running copy of the application."""

    kind: str  # PRODUCTION or RECOVERED
    label: str  # "production", "drill <id>": says in the evidence which copy was checked
    site_url: str
    db: Endpoint | None  # None: no route to the database from here (the data checks skip)
    cluster: str
    services: dict[str, str] = field(default_factory=dict)  # production service -> this copy's service
    log_groups: dict[str, str] = field(default_factory=dict)  # production web service -> its log group
    site_address: str = ""  # dial site_url here under its own host name (recovery.site.Site); "" = DNS

    @property
    def web_services(self) -> tuple[str, ...]:
        """This copy's names of the web services, in the production order."""
        return tuple(self.services[s] for s in self.log_groups if s in self.services)

    @property
    def log_group(self) -> str:
        """The log group of the first web service (web-ui): where the entrypoint line shows."""
        return next(iter(self.log_groups.values()), "")

    def placeholders(self) -> dict[str, str]:
        """Remediation placeholders that must name this copy rather than production.

        `rds_instance` stays production's: snapshots and point-in-time recovery belong to it.
        """
        return {
            "site_url": self.site_url,
            "ecs_cluster": self.cluster,
            "log_group": self.log_group,
            "web_services": " ".join(self.web_services),
        }

    def describe(self) -> str:
        if self.kind == PRODUCTION:
            return self.label
        via = f" via {self.site_address}" if self.site_address else ""
        return f"{self.label} ({self.site_url}{via})"


def service_log_group(web_ui_group: str, web_ui: str, service: str) -> str:
    """Where `service` logs, from web-ui's group (TURATH_LOG_GROUP): that name with the service's in place of
    web-ui's (/invenio-default/web-api, /ecs/invenio-default-worker), or beside it when it does not hold it."""
    if web_ui and web_ui in web_ui_group:
        head, _, tail = web_ui_group.rpartition(web_ui)
        return head + service + tail
    return web_ui_group.rsplit("/", 1)[0] + f"/{service}" if "/" in web_ui_group else web_ui_group


def production(settings: Settings) -> Environment:
    """Production as the settings name it (plan §3)."""
    web_ui = next(iter(settings.web_services), "")
    groups = {service: service_log_group(settings.log_group, web_ui, service) for service in settings.web_services}
    groups = groups or {"": settings.log_group}
    db = None
    if settings.db_host:
        db = Endpoint(settings.db_host, settings.db_user, settings.db_password, settings.db_name)
    return Environment(
        kind=PRODUCTION,
        label=PRODUCTION,
        site_url=settings.site_url,
        db=db,
        cluster=settings.ecs_cluster,
        services={s: s for s in settings.ecs_services},
        log_groups=groups,
    )
