"""The twin's AWS endpoint: moto's WSGI app on loopback, with a recorder of every operation.

The recorder lets a test prove that a health run made no mutating call, whatever process made
it (xdist workers talk to this server over HTTP).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

READ_PREFIXES = ("Describe", "List", "Get", "Head", "Filter", "Search", "Lookup", "Select", "Check")
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Operation:
    """One AWS API call the twin served: service, operation (or HTTP method + path), read-only?"""

    service: str
    name: str
    method: str
    path: str
    read_only: bool


def classify(environ: dict[str, Any], body: bytes) -> Operation:
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _SCOPE.search(auth)
    service = m.group(1) if m else "unknown"
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
    return Operation(service, name, method, path, read_only)


class RecordingApp:
    """WSGI middleware: records each request's operation, then hands it to moto unchanged."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self._ops: list[Operation] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/moto-api"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            op = classify(environ, body)
            with self._lock:
                self._ops.append(op)
        return self.app(environ, start_response)

    def operations(self) -> list[Operation]:
        with self._lock:
            return list(self._ops)

    def clear(self) -> None:
        with self._lock:
            self._ops.clear()


class AwsServer:
    """moto in server mode on 127.0.0.1, in a daemon thread of this process."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self.recorder = RecordingApp(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        self._server = make_server("127.0.0.1", self._port, self.recorder, threaded=True)
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
