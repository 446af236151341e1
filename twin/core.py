"""The twin: an embedded stand-in of the Turath AWS account on one machine.

`Twin.start()` brings up moto in server mode, seeds it as the production account and returns
`TwinInfo`: the endpoint, credentials and addresses the suite is configured with, exactly as
it would be configured for real AWS. The suite never reaches into the twin beyond that.
"""

from __future__ import annotations

import logging
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

from twin import realism
from twin.account import ACCOUNT_ID, AccountSeeder, AccountSpec, backend, tfstate_document
from twin.awsserver import AwsServer, Operation

log = logging.getLogger(__name__)

ACCESS_KEY = "twin-access-key"  # moto accepts any; these are not secrets
SECRET_KEY = "twin-secret-key"


def generate_password(length: int = 32) -> str:
    """Like Terraform's random_password (special = false): letters and digits."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class TwinInfo:
    """How to reach the twin: what `python -m twin` prints and the suite is configured with."""

    endpoint_url: str
    region: str
    account_id: str
    access_key: str
    secret_key: str
    site_url: str = ""
    db_host: str = ""
    db_password: str = field(default="", repr=False)

    def env_lines(self) -> list[str]:
        lines = [
            "TURATH_TARGET=aws",
            f"AWS_ENDPOINT_URL={self.endpoint_url}",
            f"AWS_ACCESS_KEY_ID={self.access_key}",
            f"AWS_SECRET_ACCESS_KEY={self.secret_key}",
            f"AWS_REGION={self.region}",
        ]
        if self.site_url:
            lines.append(f"TURATH_SITE_URL={self.site_url}")
        if self.db_host:
            lines.append(f"TURATH_DB_HOST={self.db_host}")
            lines.append(f"TURATH_DB_PASSWORD={self.db_password}")
        return lines

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items()}


class Twin:
    """Start, steer and stop the stand-in account. One per process (moto's state is global)."""

    def __init__(self, spec: AccountSpec, port: int = 0, faults: tuple[str, ...] = ()) -> None:
        self.spec = spec
        self.faults = faults
        self.server = AwsServer(port)
        self.password = generate_password()
        self.info: TwinInfo | None = None
        self.started_at: datetime | None = None
        self.timings: dict[str, float] = {}
        self._lock = threading.Lock()

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> TwinInfo:
        t0 = time.perf_counter()
        _quiet_werkzeug()
        url = self.server.start()
        self.started_at = datetime.now(UTC)
        self.info = TwinInfo(url, self.spec.region, ACCOUNT_ID, ACCESS_KEY, SECRET_KEY)
        self.seed()
        self.apply_faults(self.faults)
        self.timings["start"] = time.perf_counter() - t0
        log.info("twin ready at %s in %.2fs", url, self.timings["start"])
        return self.info

    def seed(self) -> None:
        realism.install()
        now = datetime.now(UTC)
        seeder = AccountSeeder(self.spec, self.client)
        seeder.rds(self.password, now)
        endpoint = self.rds_endpoint(self.spec.rds_instance)
        seeder.s3(self.seed_objects(), tfstate_document(self.password, endpoint), now)
        seeder.ecs(self.task_environment)
        seeder.services()
        self.mark_services_running()

    def stop(self) -> None:
        self.server.stop()

    def reset(self) -> None:
        """Back to the healthy production account (moto state cleared and seeded again)."""
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        self.server.recorder.clear()
        self.seed()

    # ---- helpers ---------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        assert self.info is not None
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.info.endpoint_url,
            region_name=self.spec.region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )

    def backend(self, service: str) -> Any:
        return backend(service, self.spec.region)

    def operations(self) -> list[Operation]:
        return self.server.recorder.operations()

    def rds_endpoint(self, instance_id: str) -> str:
        inst = self.backend("rds").databases[instance_id]
        return f"{inst.address}:{inst.port}"

    def task_environment(self, service: str) -> dict[str, str]:
        """What Terraform puts in each service's task definition (plan 2.5)."""
        s = self.spec
        return {
            "RDS_DB_HOST": self.rds_endpoint(s.rds_instance),
            "RDS_DB_PASSWORD": self.password,
            "RDS_DB_USER": s.db_user,
            "RDS_DB_NAME": s.db_name,
            "S3_BUCKET_NAME": s.files_bucket,
            "INVENIO_SEARCH_HOSTS": f"search-{s.opensearch_domain}.{s.region}.es.amazonaws.com:443",
            "INVENIO_CACHE_REDIS_HOST": f"{s.cache_cluster}.cache.amazonaws.com",
            "INVENIO_SITE_UI_URL": "https://invenio.turath-project.com",
            "INVENIO_SERVICE_ROLE": service,
        }

    def seed_objects(self) -> list[tuple[str, bytes]]:
        """Objects of the files bucket. Replaced by the data plane's dataset when it runs."""
        return [(f"files/seed/{i:04d}/data", f"%PDF-1.4 seed {i}".encode()) for i in range(8)]

    def apply_faults(self, names: tuple[str, ...]) -> None:
        """Inject catalogued faults (twin/faults.py) through the surfaces a real failure shows in."""
        from twin.faults import lookup

        for name in names:
            lookup(name).apply(self)
            log.info("twin fault applied: %s", name)

    def ecs_service(self, name: str) -> Any:
        return self.backend("ecs").services[f"{self.spec.ecs_cluster}:{name}"]

    def settle_services(self) -> None:
        """Roll every service's PRIMARY deployment onto the revision the service was updated to."""
        for svc in self.backend("ecs").services.values():
            dep = svc.deployments[0] if svc.deployments else None
            if dep is not None and dep.get("taskDefinition") != svc.task_definition:
                now = datetime.now(UTC)
                dep.update(taskDefinition=svc.task_definition, createdAt=now, updatedAt=now)
        self.mark_services_running()

    def fail_rollout(self, service: str, reason: str) -> None:
        """The new PRIMARY deployment fails; the previous one (ACTIVE) keeps serving."""
        svc = self.ecs_service(service)
        old = dict(svc.deployments[0])
        now = datetime.now(UTC)
        new = {
            **old,
            "id": f"ecs-svc/{secrets.randbelow(10**18)}",
            "taskDefinition": svc.task_definition,
            "runningCount": 0,
            "pendingCount": 0,
            "failedTasks": 3,
            "rolloutState": "FAILED",
            "rolloutStateReason": f"ECS deployment circuit breaker: {reason}",
            "createdAt": now,
            "updatedAt": now,
        }
        old["status"] = "ACTIVE"
        svc.deployments = [new, old]
        svc.events.insert(0, {"id": "twin-failed", "createdAt": now, "message": f"(service {service}) {reason}"})

    def mark_services_running(self) -> None:
        """Services report running tasks and one COMPLETED deployment, like a settled cluster."""
        ecs = self.backend("ecs")
        for svc in ecs.services.values():
            svc.running_count = svc.desired_count
            svc.pending_count = 0
            for dep in svc.deployments:
                dep.update(
                    runningCount=svc.desired_count,
                    pendingCount=0,
                    rolloutState="COMPLETED",
                    rolloutStateReason=f"ECS deployment {dep['id']} completed.",
                )


def _quiet_werkzeug() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


Factory = Callable[[AccountSpec], Twin]
