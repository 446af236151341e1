"""The twin: an embedded stand-in of the Turath AWS account on one machine.

`Twin.start()` brings up moto in server mode, seeds it as the production account and returns
`TwinInfo`: the endpoint, credentials and addresses the suite is configured with, exactly as
it would be configured for real AWS. The suite never reaches into the twin beyond that.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import psycopg
import requests
from botocore.config import Config
from psycopg.conninfo import make_conninfo

from recovery.aws.session import drop_account_host_prefix
from twin import ecsagent, rdsdata, realism, site, timeline
from twin.account import ACCOUNT_ID, AccountSeeder, AccountSpec, backend, tfstate_history
from twin.awsserver import AwsServer, Operation
from twin.ecsagent import EcsAgent, wait_settled
from twin.iam import Access
from twin.invenio_cli import run_command, search_key
from twin.invenio_db import SCHEMA_PATH, Dataset, file_content, generate, load
from twin.postgres import PostgresServer
from twin.rdsdata import RdsData
from twin.search import IndexWorker, SearchEndpoint, SearchIndex
from twin.site import Sites

log = logging.getLogger(__name__)

SEED_TEMPLATE = "twin_seed"
AUTOMATED_REPOSITORY = "cs-automated-enc"  # where Amazon OpenSearch Service keeps its hourly snapshots
# Members of each community (owner first) and a community-submission request per fifth record:
# what invenio-communities and invenio-requests write, and `rebuild-all-indices` indexes.
SEED_MEMBERS_SQL = """
INSERT INTO communities_members (id, community_id, user_id, role, visible, active, json, created, updated, version_id)
SELECT gen_random_uuid(), c.id, u.id, CASE WHEN u.n = 1 THEN 'owner' ELSE 'reader' END, true, true,
       jsonb_build_object('role', CASE WHEN u.n = 1 THEN 'owner' ELSE 'reader' END), c.created, c.updated, 1
FROM communities_metadata c
CROSS JOIN LATERAL (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM accounts_user
    ORDER BY id OFFSET (abs(hashtext(c.slug)) % 10) LIMIT 4
) u
"""
SEED_REQUESTS_SQL = """
INSERT INTO request_metadata (id, number, json, created, updated, version_id)
SELECT gen_random_uuid(), row_number() OVER (ORDER BY r.created)::text,
       jsonb_build_object('type', 'community-submission', 'status', 'accepted'), r.created, r.updated, 1
FROM rdm_records_metadata r
WHERE r.json IS NOT NULL AND r.index = 1 AND abs(hashtext(r.id::text)) % 5 = 0
"""
STATS_DOCUMENTS = 300  # aggregated usage events: only the index holds them
ACCESS_KEY = "twin-access-key"  # moto accepts any; these are not secrets
SECRET_KEY = "twin-secret-key"


def last_upload(now: datetime) -> datetime:
    """When the last upload happened: 25 minutes ago, hours after the nightly snapshot.

    A live library is uploaded to all day (plan 2.1.1: "if you uploaded books at 15:00..."):
    the newest automated snapshot (03:12 UTC) misses today's uploads and point-in-time recovery
    covers them. That is an ordinary day, not a fault.
    """
    return now - timedelta(minutes=25)


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
    baseline_file: str = ""
    # access_key above is the drill principal (health.json + drill.json + optional files);
    # these hold policies/health.json alone (twin/iam.py).
    health_access_key: str = ""
    health_secret_key: str = ""
    tools_access_key: str = ""  # the plan's backup scripts (policies/tools.json)
    tools_secret_key: str = field(default="", repr=False)

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
        if self.baseline_file:
            lines.append(f"TURATH_BASELINE_FILE={self.baseline_file}")
        # A drill against this endpoint is allowed: it is the twin's account, not production.
        lines.append(f"TURATH_DRILL_ALLOWED_ACCOUNTS={self.account_id}")
        return lines

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items()}


class Twin:
    """Start, steer and stop the stand-in account. One per process (moto's state is global).

    `data=True` (default) adds the data plane: a real PostgreSQL behind every RDS endpoint,
    ECS rollouts and one-off tasks, load balancers serving the InvenioRDM stand-in, search
    indices with a Celery-like worker. `data=False` is the control plane alone (fast tests).
    """

    def __init__(
        self,
        spec: AccountSpec,
        port: int = 0,
        faults: tuple[str, ...] = (),
        data: bool = True,
        profiles: tuple[str, ...] = (),
    ) -> None:
        self.spec = spec
        self.faults = faults
        self.profiles = profiles  # production shapes (twin/profiles.py), applied again after each reset
        self.active_profiles: tuple[str, ...] = ()
        self.data = data
        self.server = AwsServer(port)
        self.password = generate_password()
        self.info: TwinInfo | None = None
        self.started_at: datetime | None = None
        self.timings: dict[str, float] = {}
        self.pg: PostgresServer | None = None
        self.dataset: Dataset | None = None
        self.rds_data: RdsData | None = None
        self.agent: EcsAgent | None = None
        self.sites: Sites | None = None
        self.indices: dict[str, SearchIndex] = {}
        # (group, stream) the awslogs driver of a task has created: it never creates a stream twice.
        self.log_streams: set[tuple[str, str]] = set()
        self.worker: IndexWorker | None = None
        self._traffic_stop = threading.Event()
        self._traffic: threading.Thread | None = None
        self._objects: list[tuple[str, bytes, datetime | None]] | None = None
        self._lock = threading.Lock()
        self.search_endpoint: SearchEndpoint | None = None
        self.search_address = ""
        self.snapshots_failing_since: datetime | None = None  # OpenSearch snapshots fail from then on

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> TwinInfo:
        t0 = time.perf_counter()
        _quiet_werkzeug()
        realism.install()
        self.started_at = datetime.now(UTC)
        pg_thread = None
        if self.data:
            pg_thread = threading.Thread(target=self._start_database, name="twin-pg", daemon=True)
            pg_thread.start()
        url = self.server.start()
        drill, health = self.server.recorder.principals("drill"), self.server.recorder.principals("health")
        tools = self.server.recorder.principals("tools")
        self.info = TwinInfo(
            url,
            self.spec.region,
            ACCOUNT_ID,
            *drill,
            health_access_key=health[0],
            health_secret_key=health[1],
            tools_access_key=tools[0],
            tools_secret_key=tools[1],
        )
        # moto builds each service's backend on first use (RDS and EC2 take ~1 s): overlap that with
        # PostgreSQL's start-up instead of paying it during the seed.
        for service in ("rds", "ec2", "elbv2", "ecs", "logs", "opensearch", "elasticache", "mq"):
            self.backend(service)
        if pg_thread is not None:
            pg_thread.join()
            if self._pg_error is not None:
                raise self._pg_error
            self._activate_data_plane()
            self.search_endpoint = SearchEndpoint(
                lambda: list(self.indices.values()), self.opensearch_snapshots, self._authorize_search
            )
            self.search_address = self.search_endpoint.start()
        self.timings["services"] = time.perf_counter() - t0
        self.seed()
        if self.data:
            self._start_background()
        self.apply_profiles(self.profiles)
        self.apply_faults(self.faults)
        self.refresh_info()
        self.timings["start"] = time.perf_counter() - t0
        log.info("twin ready at %s in %.2fs", url, self.timings["start"])
        return self.info

    _pg_error: BaseException | None = None

    def _start_database(self) -> None:
        try:
            t0 = time.perf_counter()
            pg = PostgresServer().start()
            self.pg = pg
            self.dataset = generate(records=self.spec.records, now=last_upload(self.started_at or datetime.now(UTC)))
            pg.ensure_role(self.spec.db_user, self.password)
            pg.create_database(SEED_TEMPLATE, owner=self.spec.db_user)
            # Loaded as the master user, so every table belongs to it, as after Alembic on RDS.
            with psycopg.connect(pg.dsn(SEED_TEMPLATE, self.spec.db_user, self.password)) as conn:
                load(conn, self.dataset, self.spec.files_bucket)
                conn.execute(SEED_MEMBERS_SQL)
                conn.execute(SEED_REQUESTS_SQL)
            # Every copy of the seed logs its changes from then on: snapshots and restores keep time.
            with psycopg.connect(make_conninfo(pg.superuser_dsn, dbname=SEED_TEMPLATE)) as conn:
                timeline.install(conn)
            self.timings["database"] = time.perf_counter() - t0
        except BaseException as exc:  # surfaced in start()
            self._pg_error = exc

    def _activate_data_plane(self) -> None:
        assert self.pg is not None
        self.rds_data = RdsData(self.pg, self.spec.db_user, self.spec.db_name)
        self.rds_data.schema_sql = SCHEMA_PATH.read_text()
        rdsdata.activate(self.rds_data)
        self.agent = EcsAgent(lambda: self.backend("ecs"), self.search_index, self.write_log)
        ecsagent.activate(self.agent)
        self.sites = Sites(
            lambda: self.backend("elbv2"),
            lambda: self.backend("ecs"),
            self.agent.runtime,
            self.search_index,
            self.task_s3_client,
            self.write_log,
            acm=lambda: self.backend("acm"),
        )
        site.activate(self.sites)

    def seed(self) -> None:
        now = datetime.now(UTC)
        seeder = AccountSeeder(self.spec, self.client)
        network = seeder.network()
        if self.rds_data is not None:
            self.rds_data.lazy_snapshots = True
        seeder.rds(self.password, now)
        if self.rds_data is not None:
            self.rds_data.lazy_snapshots = False
            self.rds_data.attach(self.backend("rds").databases[self.spec.rds_instance], SEED_TEMPLATE)
        endpoint = self.rds_endpoint(self.spec.rds_instance)
        seeder.s3(self.seed_objects(), tfstate_history(self.password, endpoint), now)
        seeder.services()
        if self.search_address:
            # The domain's endpoint answers here (the twin's OpenSearch data plane).
            self.backend("opensearch").domains[self.spec.opensearch_domain].endpoint = self.search_address
        self.snapshots_failing_since = None
        target_groups = seeder.load_balancer(network)
        seeder.ecs(self.task_environment, network, target_groups)
        if self.agent is not None:
            wait_settled(self.agent)
            self._index_production()
        self.mark_services_running()

    def refresh_info(self) -> None:
        """Addresses change with every seed (new endpoints, new load balancer): publish the new ones."""
        if self.data and self.info is not None:
            inst = self.backend("rds").databases[self.spec.rds_instance]
            self.info = dataclasses.replace(
                self.info,
                site_url=self.site_url,
                db_host=f"{inst.address}:{inst.port}",
                db_password=self.password,
                baseline_file=self.write_baseline(),
            )

    def _authorize_search(self, access_key: str, action: str, path: str) -> str | None:
        """The domain's IAM for its data plane (es:ESHttp* on the path), recorded like the AWS calls.

        None when allowed; else OpenSearch Service's denial message.
        """
        recorder = self.server.recorder
        enforcer = recorder.enforcer
        domain = f"arn:aws:es:{self.spec.region}:{ACCOUNT_ID}:domain/{self.spec.opensearch_domain}"
        access = Access(action, domain + path)
        principal = enforcer.principal(access_key) if enforcer is not None else None
        denied: str | None = None
        if enforcer is not None and enforcer.enabled:
            if principal is None:
                denied = f"User: anonymous is not authorized to perform: {action}"
            elif principal.denial((access,)) is not None:
                denied = (
                    f"User: {principal.arn(ACCOUNT_ID)} is not authorized to perform: {action} on resource: "
                    f"{access.resource} because no identity-based policy allows the {action} action"
                )
        method = action.removeprefix("es:ESHttp").upper()
        recorder.record(
            Operation(
                "es",
                action.removeprefix("es:"),
                method,
                path,
                read_only=method in ("GET", "HEAD"),
                principal=principal.name if principal else "",
                accesses=(access,),
                denied=access if denied else None,
            )
        )
        return denied

    def _index_production(self) -> None:
        """The production index is in sync with the database at start, as on a healthy stack."""
        env = self.task_environment("web-ui")
        index = self.search_index(search_key(env))
        assert index is not None
        index.destroy()
        index.init()
        run_command(["invenio", "rdm", "rebuild-all-indices"], env, self.search_index, True)
        while index.pending():
            index.process_queue(batch=5000)
        for i in range(STATS_DOCUMENTS):
            kind = "stats-record-view" if i % 3 else "stats-file-download"
            index.put(kind, f"stat-{i}", {"count": 1 + i % 7, "unique_count": 1})

    def _start_background(self) -> None:
        """The Celery worker that drains index queues, and users browsing the site."""
        self.worker = IndexWorker(self.indices)
        self.worker.start()
        self._traffic = threading.Thread(target=self._traffic_loop, name="twin-users", daemon=True)
        self._traffic.start()

    def _traffic_loop(self, every: float = 5.0) -> None:
        while not self._traffic_stop.wait(every):
            try:
                self.user_traffic()
            except Exception:  # background traffic must never stop the twin
                log.debug("user traffic failed", exc_info=True)

    def stop(self) -> None:
        self._traffic_stop.set()
        if self.search_endpoint is not None:
            self.search_endpoint.stop()
        if self.worker is not None:
            self.worker.stop()
        if self.sites is not None:
            self.sites.close_all()
            site.activate(None)
        if self.agent is not None:
            self.agent.stop()
            ecsagent.activate(None)
        if self.rds_data is not None:
            self.rds_data.stop()
            rdsdata.activate(None)
        self.server.stop()
        if self.pg is not None:
            log.info("services stopped; stopping PostgreSQL")
            self.pg.stop()

    def reset(self) -> None:
        """Back to the healthy production account (moto state cleared and seeded again)."""
        from moto.moto_api._internal.models import moto_api_backend

        if self.sites is not None:
            self.sites.close_all()
            self.sites.protect_new_load_balancers = False
        if self.agent is not None:
            self.agent.stop()
        if self.rds_data is not None:
            self.rds_data.reset()
        if self.pg is not None:
            # A master password reset through the API lasts until the account is reseeded.
            self.pg.ensure_role(self.spec.db_user, self.password)
        with self._lock:
            self.indices.clear()
        self.log_streams.clear()
        moto_api_backend.reset()
        self.server.recorder.clear()
        if self.agent is not None:
            self.agent.connections.clear()
        self.active_profiles = ()
        self.seed()
        self.apply_profiles(self.profiles)
        self.refresh_info()

    # ---- helpers ---------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        assert self.info is not None
        client = boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.info.endpoint_url,
            region_name=self.spec.region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"max_attempts": 2, "mode": "standard"}),
        )
        if service == "s3control":
            drop_account_host_prefix(client, self.info.endpoint_url)
        return client

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
        domain = self.backend("opensearch").domains.get(s.opensearch_domain)
        search_host = _with_port(domain.endpoint) if domain is not None else f"{s.opensearch_domain}.es:443"
        return {
            "RDS_DB_HOST": self.rds_endpoint(s.rds_instance),
            "RDS_DB_PASSWORD": self.password,
            "RDS_DB_USER": s.db_user,
            "RDS_DB_NAME": s.db_name,
            "S3_BUCKET_NAME": s.files_bucket,
            "INVENIO_SEARCH_HOSTS": search_host,
            "INVENIO_CACHE_REDIS_HOST": f"{s.cache_cluster}.cache.amazonaws.com",
            "INVENIO_SITE_UI_URL": "https://invenio.turath-project.com",
            "INVENIO_SERVICE_ROLE": service,
        }

    def seed_objects(self) -> list[tuple[str, bytes, datetime | None]]:
        """Objects of the files bucket: the dataset's files (real size, MD5, upload time), or stubs."""
        if self.dataset is None:
            return [(f"files/seed/{i:04d}/data", f"%PDF-1.4 seed {i}".encode(), None) for i in range(8)]
        if self._objects is None:
            uploaded = {rf.file.key: rf.created for r in self.dataset.records for rf in r.files}
            self._objects = [(f.key, file_content(f), uploaded.get(f.key)) for f in self.dataset.files]
        return self._objects

    # ---- data plane --------------------------------------------------------------------------
    def write_secret_file(self) -> str:
        """The master password in a 0600 file, for shells pointed at the twin (never printed)."""
        assert self.pg is not None
        path = self.pg.run_dir / "db-password"
        path.touch(mode=0o600)
        path.write_text(self.password)
        return str(path)

    def write_baseline(self) -> str:
        """The counts an operator records after a good deployment (TURATH_BASELINE_FILE)."""
        assert self.dataset is not None
        assert self.pg is not None
        path = self.pg.run_dir / "baseline.json"
        data = {"users": self.dataset.user_count, "published_records": self.dataset.published_count}
        path.write_text(json.dumps({**data, "recorded_at": datetime.now(UTC).isoformat()}))
        path.chmod(0o644)
        return str(path)

    @property
    def site_url(self) -> str:
        """The public site as its load balancer serves it: HTTPS when it has an HTTPS listener, under
        the host name its rules route by (the twin's names resolve to loopback), else its DNS name."""
        lbs = [lb for lb in self.backend("elbv2").load_balancers.values() if lb.name == self.spec.alb_name]
        if not lbs or self.sites is None:
            return ""
        listeners = list(lbs[0].listeners.values())
        scheme = "https" if any(ls.protocol == "HTTPS" for ls in listeners) else "http"
        hosts = [
            value
            for ls in listeners
            if ls.protocol == scheme.upper()
            for rule in ls.rules.values()
            for cond in rule.conditions
            if cond.get("Field") == "host-header"
            for value in (cond.get("HostHeaderConfig") or {}).get("Values") or cond.get("Values") or []
        ]
        address = lbs[0].dns_name
        if hosts:
            address = f"{hosts[0]}:{address.rsplit(':', 1)[-1]}"
        return f"{scheme}://{address}"

    def db_dsn(self, instance_id: str, password: str | None = None) -> str:
        """libpq conninfo for the master user at an instance's endpoint (what a client uses)."""
        inst = self.backend("rds").databases[instance_id]
        return make_conninfo(
            host=inst.address,
            port=inst.port,
            dbname=self.spec.db_name,
            user=self.spec.db_user,
            password=self.password if password is None else password,
            connect_timeout=3,
        )

    def search_index(self, key: str) -> SearchIndex | None:
        """The indices INVENIO_SEARCH_HOSTS (and prefix) name, if that OpenSearch domain exists."""
        hosts, _, prefix = key.partition("|")
        host = _bare(hosts.split(",")[0])
        domains = self.backend("opensearch").domains.values()
        if not any(_bare(d.endpoint or "") == host and not getattr(d, "deleted", False) for d in domains):
            return None
        with self._lock:
            if key not in self.indices:
                self.indices[key] = SearchIndex(prefix=prefix or "invenio-")
            return self.indices[key]

    def opensearch_snapshots(self) -> dict[str, list[dict[str, Any]]]:
        """The automated repository: a snapshot of every index each hour for two days (14 in reality).

        From `snapshots_failing_since` on they fail (a red cluster), as `_snapshot/<repo>/_all` shows.
        """
        now = datetime.now(UTC).replace(minute=7, second=0, microsecond=0)
        names = sorted({name for idx in list(self.indices.values()) for name in idx.aliases().values()})
        out = []
        for hours in range(48, -1, -1):
            start = now - timedelta(hours=hours)
            if start > datetime.now(UTC):
                continue
            failing = self.snapshots_failing_since is not None and start >= self.snapshots_failing_since
            out.append(
                {
                    "snapshot": f"{start:%Y-%m-%dt%H-%M-%S}.twin",
                    "state": "FAILED" if failing else "SUCCESS",
                    "indices": [] if failing else names,
                    "start_time_in_millis": int(start.timestamp() * 1000),
                    "end_time_in_millis": int((start + timedelta(minutes=2)).timestamp() * 1000),
                }
            )
        return {AUTOMATED_REPOSITORY: out}

    def write_log(self, group: str, stream: str, lines: list[str]) -> None:
        """Append lines to a CloudWatch log stream (what the awslogs driver does).

        The driver creates a task's stream once, when the task starts. If the group is deleted under a
        running task, a recreated group receives nothing from it: its lines are lost until it restarts."""
        logs = self.backend("logs")
        if group not in logs.groups:
            return
        if stream not in logs.groups[group].streams:
            if (group, stream) in self.log_streams:
                return
            logs.create_log_stream(group, stream)
            self.log_streams.add((group, stream))
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in lines]
        if events:
            logs.put_log_events(group, stream, events)

    def task_s3_client(self) -> Any:
        """The S3 client of the app's tasks: bucket policies that deny the task role apply."""
        client = self.client("s3")
        client.meta.events.register("before-call.s3.GetObject", self._deny_by_policy)
        client.meta.events.register("before-call.s3.HeadObject", self._deny_by_policy)
        return client

    def _deny_by_policy(self, params: dict[str, Any], **_: Any) -> Any:
        bucket = params.get("Bucket", "")
        try:
            policy = json.loads(self.backend("s3").get_bucket(bucket).policy or b"{}")
        except Exception:  # no such bucket: let S3 answer NoSuchBucket itself
            return None
        for stmt in policy.get("Statement", []):
            principal = json.dumps(stmt.get("Principal", ""))
            if stmt.get("Effect") == "Deny" and ("invenio-default-task" in principal or principal == '"*"'):
                body = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}, "ResponseMetadata": {}}
                return _Http(403), body
        return None

    def apply_profiles(self, names: tuple[str, ...]) -> None:
        """Reshape the healthy account as a production account of that shape (twin/profiles.py)."""
        from twin.profiles import PROFILES, ordered

        new = [n for n in ordered(names) if n not in self.active_profiles]  # a shape is taken once
        # All selected first: a profile's shape may depend on the others (secrets + SSM split the settings).
        self.active_profiles = ordered((*self.active_profiles, *names))
        for name in new:
            PROFILES[name].apply(self)
            log.info("twin profile applied: %s", name)
        if new and self.agent is not None:
            wait_settled(self.agent)

    def apply_faults(self, names: tuple[str, ...]) -> None:
        """Inject catalogued faults (twin/faults.py) through the surfaces a real failure shows in."""
        from twin.faults import lookup

        for name in names:
            lookup(name).apply(self)
            log.info("twin fault applied: %s", name)
        if names:
            self.user_traffic()

    def user_traffic(self) -> None:
        """What users do all day: browse, search, open the login page. Broken paths leave log lines.

        Runs once after faults are applied (so their symptoms are in the logs before any check
        looks) and then every few seconds in the background.
        """
        url = self.site_url
        if not url:
            return
        for path in ("/", "/login/", "/api/records?size=1", "/search?q=tarikh"):
            try:
                requests.get(url + path, timeout=5, verify=False)  # the twin's own self-signed site
            except requests.RequestException:
                log.debug("user traffic to %s failed", path, exc_info=True)

    def ecs_service(self, name: str) -> Any:
        return self.backend("ecs").services[f"{self.spec.ecs_cluster}:{name}"]

    def settle_services(self) -> None:
        """Finish rollouts now (with the data plane) or move PRIMARY onto the service's revision."""
        if self.agent is not None:
            wait_settled(self.agent)
            return
        for svc in self.backend("ecs").services.values():
            dep = svc.deployments[0] if svc.deployments else None
            if dep is not None and dep.get("taskDefinition") != svc.task_definition:
                now = datetime.now(UTC)
                dep.update(taskDefinition=svc.task_definition, createdAt=now, updatedAt=now)
        self.mark_services_running()

    def fail_rollout(self, service: str, task_definition: str, reason: str) -> None:
        """Deploy a revision whose tasks exit at start: the circuit breaker marks the new PRIMARY deployment
        FAILED (no automatic rollback) and the previous one stays ACTIVE, on its own revision, serving."""
        if self.agent is not None:
            self.agent.crashing[task_definition] = reason
        ecs = self.client("ecs")
        ecs.update_service(cluster=self.spec.ecs_cluster, service=service, taskDefinition=task_definition)
        if self.agent is not None:
            wait_settled(self.agent)
            return
        # Without the data plane no deployment starts: show the one ECS would.
        svc = self.ecs_service(service)
        old = dict(svc.deployments[0], status="ACTIVE")
        now = datetime.now(UTC)
        new = {
            **old,
            "id": f"ecs-svc/{secrets.randbelow(10**18)}",
            "status": "PRIMARY",
            "taskDefinition": svc.task_definition,
            "runningCount": 0,
            "pendingCount": 0,
            "failedTasks": 3,
            "rolloutState": "FAILED",
            "rolloutStateReason": "ECS deployment circuit breaker: tasks failed to start.",
            "createdAt": now,
            "updatedAt": now,
        }
        svc.deployments = [new, old]
        message = f"(service {service}) tasks failed to start: {reason}"
        svc.events.insert(0, {"id": "twin-failed", "createdAt": now, "message": message})

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


def _with_port(endpoint: str) -> str:
    """INVENIO_SEARCH_HOSTS for a domain endpoint: HTTPS on 443 unless the endpoint names its port."""
    return endpoint if ":" in endpoint else f"{endpoint}:443"


def _bare(host: str) -> str:
    """'https://h:443' -> 'h'; 'h:9243' stays (a non-default port is part of the address)."""
    host = host.split("://")[-1]
    return host.removesuffix(":443")


def _quiet_werkzeug() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


class _Http:
    """The minimal HTTP response botocore needs to raise a ClientError from a before-call hook."""

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
