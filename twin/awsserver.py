"""The twin's AWS endpoint: moto's WSGI app on loopback, with a recorder of every operation.

The recorder lets a test prove that a health run made no mutating call, whatever process made
it (xdist workers talk to this server over HTTP). It also notes who called (the principal of
the access key) and what AWS would authorise (IAM actions on resource ARNs, twin/iam.py); with
an `Enforcer` installed, a call the principal's policy files do not allow is refused here with
AWS's own AccessDenied error, before moto sees it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from twin.iam import Access, Enforcer, accesses

READ_PREFIXES = ("Describe", "List", "Get", "Head", "Filter", "Search", "Lookup", "Select", "Check")
_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Operation:
    """One AWS API call the twin served: service, operation (or HTTP method + path), read-only?"""

    service: str
    name: str
    method: str
    path: str
    read_only: bool
    principal: str = ""
    accesses: tuple[Access, ...] = ()
    denied: Access | None = None
    tags: tuple[tuple[str, str], ...] = ()


def classify(environ: dict[str, Any], body: bytes, account: str = "123456789012") -> Operation:
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _SCOPE.search(auth)
    key, region, service = (m.group(1), m.group(2), m.group(3)) if m else ("", "", "unknown")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    name = ""
    if target:
        name = target.rsplit(".", 1)[-1]
    else:
        action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
        if not action and body and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            name = action[0]
    if name:
        read_only = name.startswith(READ_PREFIXES)
    else:
        name = f"{method} {path}"
        # REST services (S3, OpenSearch, MQ): reads are GET/HEAD; S3 ListObjects etc. are GETs too.
        read_only = method in ("GET", "HEAD")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    params = _params(environ, body, target)
    granted = accesses(
        service,
        name if (target or not name.startswith(method + " ")) else "",
        params,
        method=method,
        path=path,
        query=query,
        headers=headers,
        region=region,
        account=account,
    )
    return Operation(service, name, method, path, read_only, key, granted, tags=_tags(params))


def _tags(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Tags passed at creation: JSON lists of key/value, a JSON map (logs), or query members."""
    raw = params.get("tags", params.get("Tags"))
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, dict):
        pairs = [(str(k), str(v)) for k, v in raw.items()]
    elif isinstance(raw, list):
        for t in raw:
            if isinstance(t, dict):
                pairs.append((str(t.get("key", t.get("Key", ""))), str(t.get("value", t.get("Value", "")))))
    else:
        for k, v in params.items():
            m = re.fullmatch(r"Tags\.(?:member|Tag)\.(\d+)\.Key", k)
            if m:
                pairs.append((str(v), str(params.get(f"Tags.{k.split('.')[1]}.{m.group(1)}.Value", ""))))
    return tuple(pairs)


def _params(environ: dict[str, Any], body: bytes, target: str) -> dict[str, Any]:
    """The call's parameters: a JSON body (X-Amz-Target services) or a query-protocol form."""
    if target:
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    if body and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    return {}


class RecordingApp:
    """WSGI middleware: records each request's operation, then hands it to moto unchanged."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self._ops: list[Operation] = []
        self._lock = threading.Lock()
        self.enforcer: Enforcer | None = None
        # Seconds the Date header of every response is off (a runner with a wrong clock sees this).
        self.clock_offset = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/moto-api"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            enforcer = self.enforcer
            op = classify(environ, body, enforcer.account if enforcer is not None else "123456789012")
            principal = enforcer.principal(op.principal) if enforcer is not None else None
            if enforcer is not None and enforcer.enabled and op.principal:
                if principal is None:
                    with self._lock:
                        self._ops.append(op)
                    return _error(
                        start_response,
                        op,
                        "InvalidClientTokenId",
                        "The security token included in the request is invalid.",
                    )
                refused = principal.denial(op.accesses)
                if refused is not None and _missing_bucket(refused, enforcer.account):
                    refused = None  # S3 answers NoSuchBucket (404) before it judges permissions
                if refused is not None:
                    op = dataclasses.replace(op, principal=principal.name, denied=refused)
                    with self._lock:
                        self._ops.append(op)
                    message = (
                        f"User: {principal.arn(enforcer.account)} is not authorized to perform: {refused.action} "
                        f"on resource: {refused.resource} because no identity-based policy allows the "
                        f"{refused.action} action"
                    )
                    return _error(start_response, op, "AccessDenied", message)
            if principal is not None:
                op = dataclasses.replace(op, principal=principal.name)
            with self._lock:
                self._ops.append(op)
        return self.app(environ, start_response)

    def record(self, op: Operation) -> None:
        """An operation served apart from this server (the search domain's data plane)."""
        with self._lock:
            self._ops.append(op)

    def principals(self, name: str) -> tuple[str, str]:
        """(access key, secret key) of a suite principal: "health" or "drill"."""
        assert self.enforcer is not None
        p = self.enforcer.principals[name]
        return p.access_key, p.secret_key

    def operations(self) -> list[Operation]:
        with self._lock:
            return list(self._ops)

    def clear(self) -> None:
        with self._lock:
            self._ops.clear()


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler, with the Date header of every response off by the recorder's clock_offset."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        offset = getattr(getattr(self.server, "app", None), "clock_offset", 0.0)
        return formatdate((time.time() if timestamp is None else timestamp) + offset, usegmt=True)


class AwsServer:
    """moto in server mode on 127.0.0.1, in a daemon thread of this process."""

    def __init__(self, port: int = 0, account: str = "123456789012", iam: bool = True) -> None:
        self._port = port
        self.recorder = RecordingApp(DomainDispatcherApplication(create_backend_app))
        self.recorder.enforcer = Enforcer(account, enabled=iam)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        self._server = make_server("127.0.0.1", self._port, self.recorder, threaded=True, request_handler=_Handler)
        server = self._server
        # A short poll interval: stopping the twin should not wait half a second per server.
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), name="twin-aws", daemon=True
        )
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


_JSON = frozenset({"ecs", "logs", "ssm", "secretsmanager", "kms", "tagging", "dynamodb"})


def _error(start_response: Callable[..., Any], op: Operation, code: str, message: str) -> Iterable[bytes]:
    """AWS's error response in the caller's protocol (JSON, query XML, S3 XML; HEAD has no body)."""
    status = "403 Forbidden"
    if op.service in _JSON:
        json_code = {"AccessDenied": "AccessDeniedException"}.get(code, "UnrecognizedClientException")
        body = json.dumps({"__type": json_code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", json_code)]
        status = "400 Bad Request"
    elif op.service in ("es", "mq"):
        json_code = {"AccessDenied": "AccessDeniedException"}.get(code, code)
        body = json.dumps({"message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", json_code)]
    elif op.service == "s3":
        body = b"" if op.method == "HEAD" else _xml(f"<Error><Code>{code}</Code><Message>{message}</Message></Error>")
        headers = [("Content-Type", "application/xml")]
    else:
        body = _xml(
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>twin-iam</RequestId></ErrorResponse>"
        )
        headers = [("Content-Type", "text/xml")]
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]


def _missing_bucket(access: Access, account: str) -> bool:
    """A read or delete on a bucket that does not exist (a create is judged: it makes the bucket)."""
    if not access.resource.startswith("arn:aws:s3:::") or access.action == "s3:CreateBucket":
        return False
    from moto.backends import get_backend

    bucket = access.resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
    return bucket not in get_backend("s3")[account]["aws"].buckets


def _xml(text: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>' + text).encode()
