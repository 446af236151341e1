"""The InvenioRDM stand-in behind its load balancer, configured only by its tasks' environment.

Routing is the load balancer's (`route`: its listener rules, twin/site.py); without one, `/api/*`
goes to the `web-api` service, everything else to `web-ui`. What a service's tasks run comes
from `runtime(service)` (the ECS realism layer): no tasks -> the load balancer answers 503. A
new task definition (or deployment) means new tasks, whose entrypoint (`resolve-db-uri.sh`)
logs once and builds the database URI.

The failure picture of plan 6.4 is reproduced: with a wrong or missing database password the
homepage still answers 200 (it does not touch the database) while `/login/`, `/signup/` and the
records API answer 502 from the load balancer, and the task logs carry the PostgreSQL error.
FACTS note that the real app itself answers 500 when the database is unreachable; the 502 here is
the plan's observed symptom (uWSGI workers failing under the balancer), kept because the plan's
checks are written against it. Without RDS_DB_PASSWORD the entrypoint exits, so nothing of that
service serves (502 everywhere).

Pages are rendered from the image's Jinja templates, chosen by InvenioRDM's settings
(THEME_FRONTPAGE_TEMPLATE, SECURITY_LOGIN_USER_TEMPLATE; `INVENIO_*` in the environment override
them). A setting naming a template the image does not ship fails that page alone with 500, as
Flask does on jinja2's TemplateNotFound, and the task logs the exception.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

import psycopg
from botocore.exceptions import BotoCoreError, ClientError
from psycopg.rows import dict_row
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from twin.invenio_cli import (
    conninfo,
    db_error_lines,
    hash_password,
    resolve_db_uri,
    scrub,
    search_key,
    uri_password,
)
from twin.invenio_db import RECORD_BY_RECID_SQL, RECORD_FILES_SQL
from twin.search import IndexNotFoundError, SearchIndex

log = logging.getLogger(__name__)

UI_SERVICE = "web-ui"
API_SERVICE = "web-api"
SERVICES = (UI_SERVICE, API_SERVICE)

_ALB_PAGE = """<html>
<head><title>{status}</title></head>
<body>
<center><h1>{status}</h1></center>
</body>
</html>
"""


@dataclass
class ServiceRuntime:
    """What the tasks of one ECS service run now.

    `deployment` changes when tasks are replaced without a new task definition (a forced new
    deployment): their entrypoint runs (and logs) again.
    """

    env: dict[str, str]
    task_definition: str
    running: int
    deployment: str = ""


@dataclass
class _Task:
    """The state the entrypoint leaves a service's tasks in."""

    uri: str | None  # None: the entrypoint failed and the container exited
    password: str


# The templates the image ships for the pages the stand-in renders, and the settings that choose
# them with their InvenioRDM defaults (invenio-app-rdm's frontpage, invenio-accounts' login form).
IMAGE_TEMPLATES = frozenset(
    {
        "invenio_app_rdm/frontpage.html",
        "invenio_theme/frontpage.html",
        "invenio_accounts/login_user.html",
        "security/login_user.html",
    }
)
FRONTPAGE_TEMPLATE = ("THEME_FRONTPAGE_TEMPLATE", "invenio_app_rdm/frontpage.html")
LOGIN_TEMPLATE = ("SECURITY_LOGIN_USER_TEMPLATE", "invenio_accounts/login_user.html")


class TemplateNotFound(Exception):
    """jinja2.exceptions.TemplateNotFound: the setting names a template the image lacks."""


class _DatabaseDown(Exception):
    """The task cannot reach or log in to its database (already logged)."""


class _NoSearch(Exception):
    """The search cluster named by INVENIO_SEARCH_HOSTS cannot be reached or has no index."""


def _html(title: str, body: str, status: int = 200) -> Response:
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)} | Turath InvenioRDM</title></head>"
        f"<body><header><a href='/'>Turath</a></header><main>{body}</main></body></html>"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"status": status, "message": message}, status)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.isoformat()
    return str(value) if value is not None else ""


def alb_response(status_line: str) -> Response:
    response = Response(_ALB_PAGE.format(status=status_line), status=int(status_line[:3]), content_type="text/html")
    response.headers["Server"] = "awselb/2.0"
    return response


_LOGIN_FORM = (
    "<h1>Log in</h1>{error}<form method='post' action='/login/'>"
    "<label>Email <input name='email' type='email'></label>"
    "<label>Password <input name='password' type='password'></label>"
    "<button type='submit'>Log in</button></form><p><a href='/signup/'>Sign up</a></p>"
)
_SIGNUP_FORM = (
    "<h1>Sign up</h1>{error}<form method='post' action='/signup/'>"
    "<label>Email <input name='email' type='email'></label>"
    "<label>Username <input name='username'></label>"
    "<label>Password <input name='password' type='password'></label>"
    "<button type='submit'>Sign up</button></form>"
)


class _RequestHandler(WSGIRequestHandler):
    """No `Server: Werkzeug` header: responses carry only what the app or the balancer sets."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def make_environ(self) -> Any:
        environ = super().make_environ()
        if isinstance(self.connection, ssl.SSLSocket):
            environ["wsgi.url_scheme"] = "https"
        return environ


TlsContext = Callable[[], "ssl.SSLContext | None"]


class _ListenerServer(ThreadedWSGIServer):
    """One local port for every listener of a load balancer: TLS connections reach its HTTPS
    listener, plain ones its HTTP listener, as one DNS name serves :443 and :80 on AWS.

    `tls()` is the HTTPS listener's certificate now (None: no HTTPS listener, the connection closes).
    """

    tls: TlsContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:
            try:
                first = request.recv(1, socket.MSG_PEEK)
            except OSError:
                return
            if first == b"\x16":  # a TLS ClientHello
                context = self.tls()
                if context is None:
                    return
                try:
                    secured = context.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                try:
                    super().finish_request(secured, client_address)
                finally:
                    secured.close()
                return
        super().finish_request(request, client_address)


class InvenioStandIn:
    """InvenioRDM (web-ui + web-api services) behind the load balancer, on a local HTTP port."""

    def __init__(
        self,
        runtime: Callable[[str], ServiceRuntime | None],
        indices: Callable[[str], SearchIndex | None],
        s3: Callable[[], Any],
        log: Callable[[str, str], None],
        task_poll_interval: float = 0.5,
        route: Callable[[Request], str | Response] | None = None,
        tls: TlsContext | None = None,
    ) -> None:
        # `route` is the load balancer: the service (UI_SERVICE, API_SERVICE) a request goes to, or
        # its own answer (a fixed response, a redirect); without it, /api/* -> API and the rest -> UI.
        self._route = route
        self._tls = tls
        self._runtime = runtime
        self._indices = indices
        self._s3 = s3
        self._log = log
        self._poll_interval = task_poll_interval
        self._lock = threading.Lock()
        self._tasks: dict[tuple[str, str, str, int], _Task] = {}
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self.url = ""
        self._routes = Map(
            [
                Rule("/", endpoint="home", methods=["GET", "HEAD"]),
                Rule("/ping", endpoint="ping", methods=["GET", "HEAD"]),
                Rule("/login/", endpoint="login", methods=["GET", "HEAD", "POST"]),
                Rule("/signup/", endpoint="signup", methods=["GET", "HEAD", "POST"]),
                Rule("/search", endpoint="search_page", methods=["GET", "HEAD"]),
                Rule("/records/<recid>", endpoint="record_page", methods=["GET", "HEAD"]),
                Rule("/api/ping", endpoint="ping", methods=["GET", "HEAD"]),
                Rule("/api/records", endpoint="api_search", methods=["GET", "HEAD"]),
                Rule("/api/records/<recid>", endpoint="api_record", methods=["GET", "HEAD"]),
                Rule("/api/records/<recid>/files", endpoint="api_files", methods=["GET", "HEAD"]),
                Rule(
                    "/api/records/<recid>/files/<path:key>/content",
                    endpoint="api_content",
                    methods=["GET", "HEAD"],
                ),
            ],
            strict_slashes=True,
        )

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:`port` (0: a free one) in daemon threads; returns the base URL."""
        if self._server is not None:
            return self.url
        server = _ListenerServer("127.0.0.1", port, self, handler=_RequestHandler)
        server.tls = self._tls
        self._server = server
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._stop.clear()
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), name="twin-invenio", daemon=True
        )
        self._thread.start()
        self._poller = threading.Thread(target=self._watch_tasks, name="twin-invenio-tasks", daemon=True)
        self._poller.start()
        log.info("InvenioRDM stand-in serving at %s", self.url)
        return self.url

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for thread in (self._thread, self._poller):
            if thread is not None:
                thread.join(5)
        self._thread = self._poller = None

    def restart_tasks(self, service: str | None = None) -> None:
        """Forget the tasks of `service` (all if None): the next ones run the entrypoint again."""
        with self._lock:
            for key in [k for k in self._tasks if service is None or k[0] == service]:
                del self._tasks[key]

    def _watch_tasks(self) -> None:
        # Tasks start when ECS starts them, not at their first request: log their entrypoint then.
        while True:
            for service in SERVICES:
                try:
                    self._task(service)
                except Exception:  # the runtime source may be mid-reset; try again next round
                    log.debug("task watch of %s failed", service, exc_info=True)
            if self._stop.wait(self._poll_interval):
                return

    def _task(self, service: str) -> tuple[ServiceRuntime | None, _Task | None]:
        runtime = self._runtime(service)
        if runtime is None or runtime.running <= 0:
            return runtime, None
        key = (
            service,
            runtime.task_definition,
            runtime.deployment,
            hash(tuple(sorted(runtime.env.items()))),
        )
        with self._lock:
            task = self._tasks.get(key)
            if task is not None:
                return runtime, task
            uri, lines = resolve_db_uri(runtime.env)
            task = _Task(uri, runtime.env.get("RDS_DB_PASSWORD", ""))
            self._tasks[key] = task
            # Under the lock: no request of the new task can log before its entrypoint has.
            for line in scrub(lines, [task.password]):
                self._log(service, line)
        return runtime, task

    # ---- WSGI ---------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        if self._route is not None:
            routed = self._route(request)
            if isinstance(routed, Response):
                return routed
            service = routed
        else:
            service = API_SERVICE if request.path == "/api" or request.path.startswith("/api/") else UI_SERVICE
        try:
            runtime, task = self._task(service)
        except Exception:
            log.exception("runtime of %s unavailable", service)
            return alb_response("503 Service Temporarily Unavailable")
        if runtime is None or task is None:
            return alb_response("503 Service Temporarily Unavailable")
        if task.uri is None:
            return alb_response("502 Bad Gateway")  # the container exited in its entrypoint
        handler = _Handler(self, service, runtime, task, request)
        try:
            endpoint, args = self._routes.bind_to_environ(request.environ).match()
            view: Callable[..., Response] = getattr(handler, endpoint)
            return view(**args)
        except _DatabaseDown:
            return alb_response("502 Bad Gateway")
        except TemplateNotFound as exc:
            self._log(service, f"ERROR: Exception on {request.path} [{request.method}]")
            self._log(service, f"jinja2.exceptions.TemplateNotFound: {exc}")
            return _html("Error", "<h1>Internal server error</h1>", 500)
        except NotFound:
            if service == API_SERVICE:
                return _error(404, "The requested URL was not found on the server.")
            return _html("Not found", "<h1>Page not found</h1>", 404)
        except HTTPException as exc:
            return exc.get_response()
        except Exception:
            log.exception("%s: unhandled error on %s", service, request.path)
            self._log(service, f"ERROR: Exception on {request.path} [{request.method}]")
            if service == API_SERVICE:
                return _error(500, "internal server error")
            return _html("Error", "<h1>Internal server error</h1>", 500)


class _Handler:
    """One request inside one service's task."""

    def __init__(
        self, app: InvenioStandIn, service: str, runtime: ServiceRuntime, task: _Task, request: Request
    ) -> None:
        self.app = app
        self.service = service
        self.env = runtime.env
        self.task = task
        self.request = request
        # Links point at the address the request came in on (the site URL as the load balancer
        # serves it), so that a client can follow them wherever the twin listens.
        self.ui_base = request.host_url.rstrip("/")
        self.api_base = f"{self.ui_base}/api"

    # ---- infrastructure -------------------------------------------------------------------------
    def db(self) -> psycopg.Connection[dict[str, Any]]:
        assert self.task.uri is not None
        try:
            return psycopg.connect(conninfo(self.task.uri), connect_timeout=2, row_factory=dict_row)
        except (psycopg.Error, ValueError) as exc:
            secrets = [self.task.password, uri_password(self.task.uri)]
            for line in scrub(db_error_lines(exc), secrets):
                self.app._log(self.service, line)
            raise _DatabaseDown from None

    def index(self) -> SearchIndex:
        hosts = search_key(self.env)
        found = self.app._indices(hosts)
        if found is None:
            self.app._log(
                self.service,
                f"opensearchpy.exceptions.ConnectionError: ConnectionError(Failed to establish a new "
                f"connection: [Errno 111] Connection refused) caused by: NewConnectionError({hosts})",
            )
            raise _NoSearch(hosts)
        return found

    def template(self, setting: tuple[str, str]) -> str:
        """The template `setting` names (environment over the default); raises if the image lacks it."""
        name, default = setting
        chosen = self.env.get(f"INVENIO_{name}") or default
        if chosen not in IMAGE_TEMPLATES:
            raise TemplateNotFound(chosen)
        return chosen

    # ---- UI ---------------------------------------------------------------------------------------
    def home(self) -> Response:
        self.template(FRONTPAGE_TEMPLATE)
        return _html(
            "Home",
            "<h1>Turath InvenioRDM</h1><form action='/search'><input name='q'>"
            "<button>Search</button></form><p><a href='/login/'>Log in</a> <a href='/signup/'>Sign up</a></p>",
        )

    def ping(self) -> Response:
        return Response("OK", content_type="text/plain")

    def login(self) -> Response:
        with self.db() as conn:
            conn.execute("SELECT 1 FROM accounts_user LIMIT 1")
            if self.request.method != "POST":
                return self._login_form("")
            email, password = self._credentials()
            user = conn.execute(
                "SELECT id, password, active FROM accounts_user WHERE lower(email) = lower(%s)", (email,)
            ).fetchone()
        if user is None or not password or user["password"] != hash_password(password):
            return self._login_form("<p class='error'>Invalid email or password.</p>")
        if not user["active"]:
            return self._login_form("<p class='error'>Account is disabled.</p>")
        response = Response(status=302, headers={"Location": "/"})
        response.set_cookie("session", f"twin-{user['id']}", httponly=True)
        return response

    def _login_form(self, error: str) -> Response:
        self.template(LOGIN_TEMPLATE)
        return _html("Log in", _LOGIN_FORM.format(error=error))

    def signup(self) -> Response:
        with self.db() as conn:
            conn.execute("SELECT 1 FROM accounts_user LIMIT 1")
            if self.request.method != "POST":
                return _html("Sign up", _SIGNUP_FORM.format(error=""))
            email, password = self._credentials()
            username = (self.request.form.get("username") or "").strip() or None
            error = ""
            if "@" not in email:
                error = "Invalid email address."
            elif len(password) < 6:
                error = "Password must be at least 6 characters long."
            elif conn.execute("SELECT 1 FROM accounts_user WHERE lower(email) = lower(%s)", (email,)).fetchone():
                error = f"{escape(email)} is already associated with an account."
            elif username and conn.execute("SELECT 1 FROM accounts_user WHERE username = %s", (username,)).fetchone():
                error = "Username already taken."
            if error:
                return _html("Sign up", _SIGNUP_FORM.format(error=f"<p class='error'>{error}</p>"))
            conn.execute(
                "INSERT INTO accounts_user (email, username, password, active, confirmed_at, created, updated, "
                "version_id) VALUES (%s, %s, %s, true, NULL, timezone('utc', now()), timezone('utc', now()), 1)",
                (email, username, hash_password(password)),
            )
        self.app._log(self.service, f"User {email} registered")
        return Response(status=302, headers={"Location": "/"})

    def _credentials(self) -> tuple[str, str]:
        data: Any = self.request.form
        if self.request.is_json:
            data = self.request.get_json(silent=True) or {}
        return str(data.get("email") or "").strip(), str(data.get("password") or "")

    def search_page(self) -> Response:
        with self.db() as conn:
            conn.execute("SELECT 1")
        q = self.request.args.get("q", "")
        try:
            total, hits = self.index().search(q, 20)
        except (_NoSearch, IndexNotFoundError):
            return _html("Search", "<h1>Search is unavailable</h1>", 500)
        items = "".join(f"<li><a href='/records/{quote(str(h['id']))}'>{escape(str(_title(h)))}</a></li>" for h in hits)
        return _html("Search", f"<h1>{total} results</h1><ul>{items}</ul>")

    def record_page(self, recid: str) -> Response:
        row = self._record(recid)
        if row is None:
            return _html("Not found", "<h1>Record not found</h1>", 404)
        return _html(
            _title(row["json"] or {}),
            f"<h1>{escape(_title(row['json'] or {}))}</h1>"
            f"<div id='mirador' data-files='{self.api_base}/records/{quote(recid)}/files'></div>",
        )

    # ---- API --------------------------------------------------------------------------------------
    def api_search(self) -> Response:
        args = self.request.args
        try:
            size = int(args.get("size", "10"))
            page = int(args.get("page", "1"))
        except ValueError:
            return _json(
                {
                    "status": 400,
                    "message": "A validation error occurred.",
                    "errors": [{"field": "size", "messages": ["Not a valid integer."]}],
                },
                400,
            )
        if size < 1 or page < 1 or size * page > 10000:
            return _json(
                {
                    "status": 400,
                    "message": "A validation error occurred.",
                    "errors": [{"field": "size", "messages": ["Must be between 1 and 10000."]}],
                },
                400,
            )
        q = args.get("q", "")
        with self.db() as conn:  # identity and permissions are loaded from the DB first
            conn.execute("SELECT 1 FROM accounts_user LIMIT 1")
        try:
            total, docs = self.index().search(q, size, page)
        except _NoSearch:
            return _error(500, "internal server error")
        except IndexNotFoundError as exc:
            self.app._log(
                self.service,
                f"opensearchpy.exceptions.NotFoundError: NotFoundError(404, 'index_not_found_exception', '{exc}')",
            )
            return _error(500, "internal server error")
        sort = "bestmatch" if q else "newest"
        query = f"page={page}&size={size}&sort={sort}" + (f"&q={quote(q)}" if q else "")
        links = {"self": f"{self.api_base}/records?{query}"}
        if page * size < total:
            links["next"] = f"{self.api_base}/records?" + query.replace(f"page={page}", f"page={page + 1}", 1)
        return _json(
            {
                "hits": {"hits": [self._hit(d) for d in docs], "total": total},
                "aggregations": {},
                "sortBy": sort,
                "links": links,
            }
        )

    def _hit(self, doc: dict[str, Any]) -> dict[str, Any]:
        recid = str(doc.get("id"))
        hit = {k: v for k, v in doc.items() if k not in {"uuid", "recid"}}
        hit.update(
            {
                "id": recid,
                "metadata": doc.get("metadata") or {},
                "created": doc.get("created"),
                "updated": doc.get("updated"),
                "links": {
                    "self": f"{self.api_base}/records/{recid}",
                    "self_html": f"{self.ui_base}/records/{recid}",
                    "files": f"{self.api_base}/records/{recid}/files",
                },
            }
        )
        return hit

    def _record(self, recid: str) -> dict[str, Any] | None:
        with self.db() as conn:
            row = conn.execute(RECORD_BY_RECID_SQL, (recid,)).fetchone()
        if row is None or row["json"] is None or row["deletion_status"] != "P":
            return None
        return row

    def api_record(self, recid: str) -> Response:
        row = self._record(recid)
        if row is None:
            return _error(404, "The persistent identifier does not exist.")
        body = dict(row["json"])
        body.update(
            {
                "id": recid,
                "created": _iso(row["created"]),
                "updated": _iso(row["updated"]),
                "links": {
                    "self": f"{self.api_base}/records/{recid}",
                    "self_html": f"{self.ui_base}/records/{recid}",
                    "files": f"{self.api_base}/records/{recid}/files",
                },
            }
        )
        return _json(body)

    def _files(self, recid: str, key: str | None = None) -> list[dict[str, Any]] | None:
        with self.db() as conn:
            record = conn.execute(RECORD_BY_RECID_SQL, (recid,)).fetchone()
            if record is None or record["json"] is None or record["deletion_status"] != "P":
                return None
            sql = RECORD_FILES_SQL
            params: tuple[Any, ...] = (record["id"],)
            if key is not None:
                sql += " AND rf.key = %s"
                params += (key,)
            return conn.execute(sql + " ORDER BY rf.key", params).fetchall()

    def api_files(self, recid: str) -> Response:
        rows = self._files(recid)
        if rows is None:
            return _error(404, "The persistent identifier does not exist.")
        base = f"{self.api_base}/records/{recid}/files"
        entries = [
            {
                "key": r["key"],
                "size": r["size"],
                "checksum": r["checksum"],
                "status": "completed",
                "storage_class": "L",
                "created": _iso(r["created"]),
                "updated": _iso(r["updated"]),
                "links": {
                    "self": f"{base}/{quote(r['key'])}",
                    "content": f"{base}/{quote(r['key'])}/content",
                },
            }
            for r in rows
        ]
        return _json({"enabled": True, "entries": entries, "order": [], "links": {"self": base}})

    def api_content(self, recid: str, key: str) -> Response:
        rows = self._files(recid, key)
        if rows is None:
            return _error(404, "The persistent identifier does not exist.")
        if not rows:
            return _error(404, f"File with key {key} not found.")
        uri = str(rows[0]["uri"])
        if not uri.startswith("s3://"):
            return _error(500, f"File storage {uri.split(':', 1)[0]} not supported.")
        bucket, _, object_key = uri.removeprefix("s3://").partition("/")
        bucket = self.env.get("S3_BUCKET_NAME") or bucket  # plan 4 step 3: a cloned bucket
        try:
            obj = self.app._s3().get_object(Bucket=bucket, Key=object_key)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            self.app._log(self.service, f"botocore.exceptions.ClientError: {exc} (bucket {bucket})")
            if code in {"NoSuchKey", "404"}:
                return _error(404, f"File {key} not found in bucket {bucket}.")
            if code in {"AccessDenied", "403"}:
                return _error(403, f"Access denied to bucket {bucket}.")
            return _error(500, f"Could not read file {key} from bucket {bucket}: {code}.")
        except BotoCoreError as exc:
            self.app._log(self.service, f"botocore error reading bucket {bucket}: {exc}")
            return _error(500, f"Could not read file {key} from bucket {bucket}.")
        body = obj["Body"]

        def stream() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(64 * 1024)
            finally:
                body.close()

        response = Response(stream(), content_type=obj.get("ContentType") or "application/octet-stream")
        response.headers["Content-Length"] = str(obj["ContentLength"])
        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(key)}"
        return response


def _title(doc: dict[str, Any]) -> str:
    return str((doc.get("metadata") or {}).get("title") or doc.get("id") or "")
