"""The OpenSearch data plane of the twin's domain: the REST calls the suite makes, over the stand-in's indices.

`GET /_cat/indices/<pattern>?format=json` lists indices (name, docs.count) of every prefix the
domain holds; `DELETE /<name>[,<name>...]` deletes indices by exact name; `GET /<name>/_count`
counts. Like a real domain, it answers for the whole cluster, not one application: a sweep from
any machine sees the same indices. Signatures (SigV4, service `es`) are accepted unchecked.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from twin.search import INDICES, IndexNotFoundError, SearchIndex

log = logging.getLogger(__name__)


class SearchApi:
    """Serves the indices `indices()` returns (all SearchIndex objects of the domain) on loopback."""

    def __init__(self, indices: Callable[[], list[SearchIndex]]) -> None:
        self._indices = indices
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> str:
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), name="twin-search-api", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ---- what the domain holds ------------------------------------------------------------
    def _by_name(self) -> dict[str, tuple[SearchIndex, str]]:
        """index name -> (the stand-in's index set, kind)."""
        out: dict[str, tuple[SearchIndex, str]] = {}
        for index in self._indices():
            for kind in INDICES:
                if index.exists(kind):
                    out[index.index_name(kind)] = (index, kind)
        return out

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        path = request.path.strip("/")
        response = self._route(request.method, path, request)
        return response(environ, start_response)

    def _route(self, method: str, path: str, request: Request) -> Response:
        found = self._by_name()
        if method == "GET" and (path == "_cat/indices" or path.startswith("_cat/indices/")):
            pattern = path.removeprefix("_cat/indices").strip("/") or "*"
            rows = [
                {"index": name, "docs.count": str(_count(index, kind)), "health": "green", "status": "open"}
                for name, (index, kind) in sorted(found.items())
                if any(fnmatch.fnmatchcase(name, p) for p in pattern.split(","))
            ]
            return _json(rows)
        if method == "GET" and path.endswith("/_count"):
            name = path.removesuffix("/_count")
            if name not in found:
                return _missing(name)
            index, kind = found[name]
            return _json({"count": _count(index, kind)})
        if method == "DELETE" and path and "*" not in path:
            names = path.split(",")
            missing = [n for n in names if n not in found]
            if missing:
                return _missing(missing[0])
            for name in names:
                index, kind = found[name]
                index.drop(kind)
            log.info("search api: deleted %s", ", ".join(names))
            return _json({"acknowledged": True})
        return _json({"error": f"not supported by the twin: {method} /{path}"}, 400)


def _count(index: SearchIndex, kind: str) -> int:
    try:
        return index.count(kind)
    except IndexNotFoundError:
        return 0


def _json(doc: Any, status: int = 200) -> Response:
    return Response(json.dumps(doc), status=status, content_type="application/json")


def _missing(name: str) -> Response:
    return _json(
        {"error": {"type": "index_not_found_exception", "reason": f"no such index [{name}]"}, "status": 404}, 404
    )
