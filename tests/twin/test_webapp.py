"""The InvenioRDM stand-in over real HTTP, a real PostgreSQL and a real moto S3 server.

Module scope: one PostgreSQL cluster (twin.postgres) loaded with a small generated dataset, one
`ThreadedMotoServer` holding the dataset's files, and one started `InvenioStandIn`. Each test
starts from healthy services (`stack` fixture): fresh runtimes, an empty log, a new index.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import psycopg
import pytest
import requests
from moto.server import ThreadedMotoServer

from recovery.timeutil import wait_until
from twin.invenio_cli import run_command
from twin.invenio_db import PUBLISHED_LATEST_SQL, file_content, generate, load
from twin.postgres import PostgresServer
from twin.search import SearchIndex
from twin.webapp import InvenioStandIn, ServiceRuntime

DB_USER = "inveniordm_user"
PASSWORD = "Pw/with%special+chars&9Z"
WRONG_PASSWORD = "stale-Password-from-old-revision"
SEARCH_HOST = "search-invenio-default-search.us-east-1.es.amazonaws.com:443"
BUCKET = f"invenio-files-{uuid.uuid4().hex[:8]}"  # moto state is per process: keep names unique
DATASET = generate(records=25, users=4)
TIMEOUT = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """What a test steers: the services' runtimes, the index; and what it reads: the task logs."""

    url: str
    app: InvenioStandIn
    postgres: PostgresServer
    s3: Any
    runtimes: dict[str, ServiceRuntime | None] = field(default_factory=dict)
    index: SearchIndex = field(default_factory=SearchIndex)
    logs: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def env(self, **changes: str | None) -> dict[str, str]:
        env = {
            "RDS_DB_HOST": f"{self.postgres.host}:{self.postgres.port}",
            "RDS_DB_PASSWORD": PASSWORD,
            "RDS_DB_USER": DB_USER,
            "RDS_DB_NAME": "invenio",
            "S3_BUCKET_NAME": BUCKET,
            "INVENIO_SEARCH_HOSTS": SEARCH_HOST,
        }
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def deploy(self, revision: int = 1, running: int = 2, **changes: str | None) -> None:
        """Both services run `revision` of their task definition with the env changed by `changes`."""
        for service in ("web-ui", "web-api"):
            self.runtimes[service] = ServiceRuntime(
                self.env(**changes), f"arn:aws:ecs:us-east-1:123456789012:task-definition/{service}:{revision}", running
            )

    def log_lines(self, service: str) -> list[str]:
        with self.lock:
            return [line for svc, line in self.logs if svc == service]

    def reindex(self) -> None:
        """The plan's step 4 through the CLI stand-in, then the worker's job, done synchronously."""
        env = self.env()
        for argv in (
            "invenio index destroy --yes-i-know",
            "invenio index init",
            "invenio rdm rebuild-all-indices",
        ):
            result = run_command(argv.split(), env, self.resolve, entrypoint=True)
            assert result.exit_code == 0, (argv, result.lines)
        while self.index.process_queue():
            pass

    def resolve(self, host: str) -> SearchIndex | None:
        return self.index if host == SEARCH_HOST else None

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        response = requests.get(self.url + path, timeout=TIMEOUT, allow_redirects=False, **kwargs)
        assert PASSWORD not in response.text
        assert WRONG_PASSWORD not in response.text
        return response


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """Module scope: a cluster with the generated dataset in database `invenio`; stopped at the end."""
    server = PostgresServer().start()
    try:
        server.ensure_role(DB_USER, PASSWORD)
        server.create_database("invenio", owner=DB_USER)
        with psycopg.connect(server.dsn("invenio", DB_USER, PASSWORD)) as conn:
            load(conn, DATASET, BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    """Module scope: a moto server on a free port with the dataset's objects in BUCKET."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    for seed_file in DATASET.files[:6]:
        client.put_object(Bucket=BUCKET, Key=seed_file.key, Body=file_content(seed_file))
    try:
        yield client
    finally:
        server.stop()


@pytest.fixture(scope="module")
def standin(postgres: PostgresServer, s3: Any) -> Iterator[Stack]:
    """Module scope: the stand-in serving on a free port; tests steer it through `stack`."""
    holder: list[Stack] = []

    def record_log(service: str, line: str) -> None:
        with holder[0].lock:
            holder[0].logs.append((service, line))

    app = InvenioStandIn(
        runtime=lambda service: holder[0].runtimes.get(service),
        indices=lambda host: holder[0].resolve(host),
        s3=lambda: s3,
        log=record_log,
        task_poll_interval=3600,  # tasks start at their first request here; polling has its own test
    )
    holder.append(Stack("", app, postgres, s3))
    holder[0].url = app.start()
    try:
        yield holder[0]
    finally:
        app.stop()


@pytest.fixture
def stack(standin: Stack) -> Iterator[Stack]:
    """Healthy services on revision 1, a fresh index and an empty log; checks no log leaks a password."""
    standin.index = SearchIndex()
    standin.deploy()
    with standin.lock:
        standin.logs.clear()
    standin.app.restart_tasks()
    yield standin
    for service, line in standin.logs:
        assert PASSWORD not in line, f"{service} logged the DB password: {line}"
        assert WRONG_PASSWORD not in line, f"{service} logged the wrong DB password: {line}"


def published(stack: Stack) -> list[str]:
    with psycopg.connect(stack.postgres.dsn("invenio", DB_USER, PASSWORD)) as conn:
        return [str(r[0]) for r in conn.execute(f"SELECT recid FROM ({PUBLISHED_LATEST_SQL}) AS p").fetchall()]


def test_healthy_site_answers_and_logs_entrypoint_once(stack: Stack) -> None:
    assert stack.get("/").status_code == 200
    assert stack.get("/").status_code == 200
    assert stack.get("/ping").text == "OK"
    assert stack.get("/api/ping").text == "OK"
    assert stack.get("/login/").status_code == 200
    assert stack.log_lines("web-ui") == [
        "[resolve-db-uri] Using RDS_DB_PASSWORD (manual password management)",
        "[resolve-db-uri] DB URI resolved successfully",
    ]
    assert len(stack.log_lines("web-api")) == 2

    stack.deploy(revision=2)  # a new task definition: new tasks run the entrypoint again
    assert stack.get("/").status_code == 200
    assert len(stack.log_lines("web-ui")) == 4


def test_records_total_comes_from_index_and_matches_db_after_rebuild(stack: Stack) -> None:
    recids = published(stack)
    assert len(recids) == DATASET.public_count
    stack.index.init()
    empty = stack.get("/api/records?size=1").json()
    assert empty["hits"]["total"] == 0, "total must come from the index, not the DB"

    stack.reindex()
    body = stack.get("/api/records?size=1").json()
    assert body["hits"]["total"] == len(recids)
    assert len(body["hits"]["hits"]) == 1
    hit = body["hits"]["hits"][0]
    assert hit["id"] in recids
    assert hit["metadata"]["title"]
    assert hit["links"]["self"] == f"{stack.url}/api/records/{hit['id']}"
    assert "next" in body["links"]

    page = stack.get(f"/api/records?size={len(recids)}").json()
    assert sorted(h["id"] for h in page["hits"]["hits"]) == sorted(recids)
    english = hit["metadata"]["additional_titles"][0]["title"]
    found = stack.get("/api/records", params={"q": english.upper(), "size": 100}).json()
    assert hit["id"] in [h["id"] for h in found["hits"]["hits"]]
    assert stack.get("/api/records?size=x").status_code == 400


def test_record_reads_db_and_absent_or_deleted_is_404(stack: Stack) -> None:
    recid = published(stack)[0]
    record = stack.get(f"/api/records/{recid}")
    assert record.status_code == 200
    assert record.json()["id"] == recid
    assert stack.get("/api/records/zzzzz-zzzzz").status_code == 404
    deleted = next(r.recid for r in DATASET.records if r.deletion_status == "D")
    response = stack.get(f"/api/records/{deleted}")
    assert (response.status_code, response.json()["status"]) == (404, 404)


def test_file_content_matches_its_checksum(stack: Stack) -> None:
    record = next(
        r for r in DATASET.records if r.deletion_status == "P" and r.public and r.files[0].file in DATASET.files[:6]
    )
    files = stack.get(f"/api/records/{record.recid}/files").json()["entries"]
    assert {f["key"] for f in files} == {rf.file.filename for rf in record.files}
    entry = next(f for f in files if f["key"] == record.files[0].file.filename)
    content = requests.get(entry["links"]["content"], timeout=TIMEOUT)
    assert content.status_code == 200
    assert entry["checksum"] == "md5:" + hashlib.md5(content.content).hexdigest()
    assert len(content.content) == entry["size"]


def test_file_errors_name_the_bucket(stack: Stack) -> None:
    missing = next(
        r for r in DATASET.records if r.deletion_status == "P" and r.public and r.files[0].file not in DATASET.files[:6]
    )
    key = missing.files[0].file.filename
    response = stack.get(f"/api/records/{missing.recid}/files/{key}/content")
    assert response.status_code == 404
    assert BUCKET in response.json()["message"]

    stack.deploy(revision=2, S3_BUCKET_NAME="invenio-recovery-files-not-synced")
    present = next(
        r for r in DATASET.records if r.deletion_status == "P" and r.public and r.files[0].file in DATASET.files[:6]
    )
    response = stack.get(f"/api/records/{present.recid}/files/{present.files[0].file.filename}/content")
    assert response.status_code == 500
    assert "invenio-recovery-files-not-synced" in response.json()["message"]


def test_wrong_db_password_gives_the_plan_6_4_picture(stack: Stack) -> None:
    stack.deploy(revision=3, RDS_DB_PASSWORD=WRONG_PASSWORD)
    assert stack.get("/").status_code == 200
    login = stack.get("/login/")
    assert login.status_code == 502
    assert "502 Bad Gateway" in login.text
    assert stack.get("/api/records?size=1").status_code == 502
    assert stack.get("/api/ping").text == "OK"
    assert any(
        'FATAL:  password authentication failed for user "inveniordm_user"' in line
        for line in stack.log_lines("web-ui")
    )
    assert any("password authentication failed" in line for line in stack.log_lines("web-api"))

    stack.deploy(revision=4)  # plan 6.1 step 3: the fixed revision is rolled out
    assert stack.get("/login/").status_code == 200


def test_a_template_setting_the_image_lacks_fails_that_page_alone(stack: Stack) -> None:
    """InvenioRDM renders each page from the template its setting names: one the image lacks is a 500 there."""
    stack.deploy(revision=7, INVENIO_THEME_FRONTPAGE_TEMPLATE="turath/frontpage.html")
    home = stack.get("/")
    assert home.status_code == 500
    assert stack.get("/login/").status_code == 200
    assert "jinja2.exceptions.TemplateNotFound: turath/frontpage.html" in stack.log_lines("web-ui")

    stack.deploy(revision=8, INVENIO_SECURITY_LOGIN_USER_TEMPLATE="turath/login_user.html")
    assert stack.get("/").status_code == 200
    assert stack.get("/login/").status_code == 500
    bad = requests.post(f"{stack.url}/login/", data={"email": "x@example.org", "password": "nope"}, timeout=TIMEOUT)
    assert bad.status_code == 500  # the failed login renders the form again

    stack.deploy(revision=9, INVENIO_THEME_FRONTPAGE_TEMPLATE="invenio_theme/frontpage.html")
    assert stack.get("/").status_code == 200  # a template the image ships renders


def test_missing_db_password_stops_tasks_in_entrypoint(stack: Stack) -> None:
    stack.deploy(revision=5, RDS_DB_PASSWORD=None)
    assert stack.get("/login/").status_code == 502
    assert stack.get("/api/records?size=1").status_code == 502
    assert "[resolve-db-uri] ERROR: RDS_DB_PASSWORD is not set" in stack.log_lines("web-ui")


def test_services_without_running_tasks_answer_503(stack: Stack) -> None:
    stack.runtimes["web-ui"] = None
    assert stack.get("/").status_code == 503
    assert stack.get("/api/ping").status_code == 200
    stack.deploy(revision=6, running=0)
    response = stack.get("/api/records")
    assert response.status_code == 503
    assert response.headers["Server"] == "awselb/2.0"


def test_signup_then_login(stack: Stack) -> None:
    email = f"reader-{uuid.uuid4().hex[:8]}@example.org"
    post = requests.post(
        f"{stack.url}/signup/",
        data={"email": email, "password": "reader-pass-1"},
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    assert post.status_code == 302
    with psycopg.connect(stack.postgres.dsn("invenio", DB_USER, PASSWORD)) as conn:
        row = conn.execute("SELECT active, confirmed_at FROM accounts_user WHERE email = %s", (email,)).fetchone()
    assert row == (True, None)
    ok = requests.post(
        f"{stack.url}/login/",
        data={"email": email, "password": "reader-pass-1"},
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    assert ok.status_code == 302
    bad = requests.post(f"{stack.url}/login/", data={"email": email, "password": "nope-nope"}, timeout=TIMEOUT)
    assert bad.status_code == 200
    assert "Invalid email or password" in bad.text


def test_new_tasks_log_their_entrypoint_without_traffic(stack: Stack) -> None:
    lines: list[str] = []
    app = InvenioStandIn(
        runtime=stack.runtimes.get,
        indices=stack.resolve,
        s3=lambda: stack.s3,
        log=lambda service, line: lines.append(f"{service} {line}"),
        task_poll_interval=0.02,
    )
    app.start()
    try:
        wait_until(lambda: len(lines) == 4, timeout=TIMEOUT, interval=0.02, what="entrypoint lines of both services")
    finally:
        app.stop()
    assert "web-ui [resolve-db-uri] DB URI resolved successfully" in lines
