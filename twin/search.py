"""In-memory stand-in of the OpenSearch indices InvenioRDM uses, and of its indexing worker.

Like InvenioRDM, reindexing is two-phase: the CLI only *queues* ids (RabbitMQ in production),
and a worker (Celery) later loads them from the database and writes the documents. Counts are
therefore only comparable with the database once `pending()` is 0 (FACTS: reindexing is
asynchronous). A rebuild never deletes documents it is not asked about, so documents of records
that are gone from a restored database stay until the index is destroyed (FACTS: orphans).

Writing to an index that does not exist creates it, as OpenSearch does with its default
`action.auto_create_index`; a later `init()` then fails like `invenio index init` would.

The records and drafts mappings are strict, as InvenioRDM's are since invenio-rdm-records #1050
(record-v7.0.0.json: `"dynamic": "strict"`, custom fields excepted): a document whose `metadata`
carries a field the mapping does not know is refused by the bulk request
(`strict_dynamic_mapping_exception`); the worker logs it and goes on, and the document is not
indexed. An index built before the mappings were strict keeps such documents; a rebuild drops them.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from twin.invenio_db import PUBLISHED_LATEST_SQL

log = logging.getLogger(__name__)

# kind -> index (alias) name without the prefix, as InvenioRDM v12/v13 names them.
INDICES: dict[str, str] = {
    "records": "rdmrecords-records",
    "drafts": "rdmrecords-drafts",
    "users": "users",
    "communities": "communities",
    "members": "communitymembers",
    "requests": "requests",
    # Usage statistics (since v12 only in the index: no rebuild can bring them back).
    "stats-record-view": "stats-record-view",
    "stats-file-download": "stats-file-download",
}
# The indices a rebuild derives from the database; the others are only ever written by events.
DERIVED = ("records", "drafts", "users", "communities", "members", "requests")
# `metadata` properties of InvenioRDM 13's strict record and draft mappings
# (invenio_rdm_records/records/mappings/os-v2/rdmrecords/records/record-v7.0.0.json, drafts/draft-v6.0.0.json).
_RECORD_METADATA = frozenset(
    [
        "_default_preview",
        "additional_descriptions",
        "additional_titles",
        "combined_subjects",
        "contact",
        "contributors",
        "copyright",
        "creators",
        "dates",
        "description",
        "formats",
        "funding",
        "identifiers",
        "languages",
        "locations",
        "publication_date",
        "publication_date_range",
        "publisher",
        "references",
        "related_identifiers",
        "resource_type",
        "rights",
        "sizes",
        "subjects",
        "title",
        "version",
    ]
)
MAPPED_METADATA = {"records": _RECORD_METADATA, "drafts": _RECORD_METADATA | {"_internal_notes"}}

Document = dict[str, Any]


class SearchError(Exception):
    """Base of the errors this stand-in raises (OpenSearch answers them with 4xx)."""


class IndexExistsError(SearchError):
    """`resource_already_exists_exception`: `index init` on indices that exist."""


class IndexNotFoundError(SearchError):
    """`index_not_found_exception`: reading an index that does not exist."""


def _iso(value: Any) -> Any:
    """DB timestamps are naive UTC; the index stores ISO strings with the offset."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.isoformat()
    return value


def _record_texts(doc: Document) -> list[str]:
    """The strings a query matches: titles (also translated ones) and creator names."""
    metadata = doc.get("metadata") or {}
    texts = [str(metadata.get("title") or "")]
    texts += [str(t.get("title") or "") for t in metadata.get("additional_titles") or [] if isinstance(t, dict)]
    for creator in metadata.get("creators") or []:
        if not isinstance(creator, dict):
            texts.append(str(creator))
            continue
        person = creator.get("person_or_org") or creator
        for field in ("name", "given_name", "family_name"):
            if person.get(field):
                texts.append(str(person[field]))
    return texts


def _unmapped(kind: str, docs: Mapping[str, Document]) -> dict[str, str]:
    """Documents a strict mapping refuses: id -> the first `metadata` field it does not map."""
    if kind not in MAPPED_METADATA:
        return {}
    refused = {}
    for ident, doc in docs.items():
        unknown = sorted(set(doc.get("metadata") or {}) - MAPPED_METADATA[kind])
        if unknown:
            refused[ident] = unknown[0]
    return refused


def _query_terms(q: str) -> list[str]:
    """A quoted phrase (backslash escapes undone) as one term, else the words; lower case."""
    q = q.strip()
    if len(q) >= 2 and q[0] == q[-1] == '"':
        phrase = re.sub(r"\\(.)", r"\1", q[1:-1])
        return [phrase.lower()] if phrase.strip() else []
    return [w.lower() for w in q.split()]


def _score(doc: Document, terms: list[str]) -> int:
    """0 unless every term appears in the document's texts; else how many texts match a term."""
    texts = [t.lower() for t in _record_texts(doc)]
    if not all(any(term in t for t in texts) for term in terms):
        return 0
    return sum(1 for t in texts for term in terms if term in t)


class SearchIndex:
    """Thread-safe set of named indices holding documents by id."""

    def __init__(self, prefix: str = "invenio-") -> None:
        self.prefix = prefix
        self._lock = threading.Lock()
        self._indices: dict[str, dict[str, Document]] = {}
        self._queue: deque[tuple[str, str, str]] = deque()
        self._inflight = 0

    # ---- index management (invenio index ...) ---------------------------------------------
    def index_name(self, kind: str) -> str:
        if kind not in INDICES:
            raise ValueError(f"unknown index kind {kind!r}; known: {sorted(INDICES)}")
        return f"{self.prefix}{INDICES[kind]}"

    def names(self) -> list[str]:
        """Full names of the indices that exist now."""
        with self._lock:
            return sorted(self.index_name(kind) for kind in self._indices)

    def exists(self, kind: str | None = None) -> bool:
        """Whether `kind`'s index exists; without `kind`, whether any of them does."""
        with self._lock:
            return bool(self._indices) if kind is None else kind in self._indices

    def aliases(self) -> dict[str, str]:
        """alias -> concrete index name of the indices that exist now (`GET _cat/aliases`)."""
        with self._lock:
            return {self.index_name(kind): f"{self.index_name(kind)}-v1.0.0" for kind in self._indices}

    def init(self, force: bool = False) -> list[str]:
        """Create all indices; like `invenio index init`, refuse if any exists unless `force`."""
        with self._lock:
            if self._indices and not force:
                existing = sorted(self.index_name(kind) for kind in self._indices)
                raise IndexExistsError(f"index [{existing[0]}] already exists")
            self._indices = {kind: {} for kind in INDICES}
            return [self.index_name(kind) for kind in INDICES]

    def destroy(self) -> list[str]:
        """Delete all indices and their documents. The queue (a broker in production) stays."""
        with self._lock:
            gone = sorted(self.index_name(kind) for kind in self._indices)
            self._indices = {}
            return gone

    def drop(self, kind: str) -> None:
        """Delete one index (`DELETE /<prefix><index>`); queued ids of it stay queued, as in a broker."""
        with self._lock:
            self._indices.pop(kind, None)

    # ---- indexing (indexer queue + Celery) --------------------------------------------------
    def queue(self, kind: str, ids: Iterable[str], dsn: str) -> int:
        """Queue ids of `kind` to be (re)indexed from the database at `dsn`; returns how many."""
        self.index_name(kind)  # validates kind
        items = [(kind, str(i), dsn) for i in ids]
        with self._lock:
            self._queue.extend(items)
        return len(items)

    def pending(self) -> int:
        """Ids queued or being indexed right now."""
        with self._lock:
            return len(self._queue) + self._inflight

    def process_queue(self, batch: int = 500) -> int:
        """Index up to `batch` queued ids; returns how many were taken from the queue.

        A batch whose database cannot be read is dropped and logged, as a failed bulk task is.
        """
        with self._lock:
            taken = [self._queue.popleft() for _ in range(min(batch, len(self._queue)))]
            self._inflight += len(taken)
        if not taken:
            return 0
        try:
            groups: dict[tuple[str, str], list[str]] = defaultdict(list)
            for kind, ident, dsn in taken:
                groups[(kind, dsn)].append(ident)
            for (kind, dsn), ids in groups.items():
                try:
                    docs = self._load(kind, ids, dsn)
                except psycopg.Error as exc:
                    log.error("bulk indexing of %d %s failed: %s", len(ids), kind, str(exc).strip())
                    continue
                refused = _unmapped(kind, docs)
                for ident, field in refused.items():
                    log.error(
                        "failed to index %s %s: strict_dynamic_mapping_exception: mapping set to strict, dynamic "
                        "introduction of [%s] within [metadata] is not allowed",
                        kind,
                        docs.pop(ident).get("id", ident),
                        field,
                    )
                self._apply(kind, [i for i in ids if i not in refused], docs)
        finally:
            with self._lock:
                self._inflight -= len(taken)
        return len(taken)

    def _apply(self, kind: str, ids: list[str], docs: dict[str, Document]) -> None:
        with self._lock:
            index = self._indices.setdefault(kind, {})  # auto-create, like OpenSearch
            for ident in ids:
                if ident in docs:
                    index[ident] = docs[ident]
                else:
                    # Queued but no longer indexable (deleted, superseded version): the indexer
                    # removes its document. Ids never queued (orphans) are left alone.
                    index.pop(ident, None)

    def _load(self, kind: str, ids: list[str], dsn: str) -> dict[str, Document]:
        sql = {
            # Every version that is not soft-deleted is a document (InvenioRDM's rebuild_index); the API
            # searches the latest published ones (`is_public_latest`).
            "records": "SELECT r.id, COALESCE(p.pid_value, r.json->>'id') AS recid, r.json, r.created, r.updated, "
            "r.id IN (SELECT id FROM ("
            + PUBLISHED_LATEST_SQL.strip().rstrip(";")
            + ") AS latest) AS is_public_latest FROM rdm_records_metadata r "
            "LEFT JOIN pidstore_pid p ON p.object_uuid = r.id AND p.pid_type = 'recid' AND p.object_type = 'rec' "
            "WHERE r.json IS NOT NULL AND r.id::text = ANY(%s)",
            "drafts": "SELECT id, json, created, updated FROM rdm_drafts_metadata "
            "WHERE json IS NOT NULL AND id::text = ANY(%s)",
            "users": "SELECT id, email, username, active, confirmed_at, created, updated "
            "FROM accounts_user WHERE id::text = ANY(%s)",
            "communities": "SELECT id, slug, json, created, updated FROM communities_metadata "
            "WHERE json IS NOT NULL AND id::text = ANY(%s)",
            "members": "SELECT id, community_id, user_id, role, json, created, updated FROM communities_members "
            "WHERE json IS NOT NULL AND id::text = ANY(%s)",
            "requests": "SELECT id, number, json, created, updated FROM request_metadata "
            "WHERE json IS NOT NULL AND id::text = ANY(%s)",
        }[kind]
        with psycopg.connect(dsn, connect_timeout=2, row_factory=dict_row) as conn:
            rows = conn.execute(sql, (ids,)).fetchall()
        docs: dict[str, Document] = {}
        for row in rows:
            ident = str(row["id"])
            body = dict(row.pop("json", None) or {})
            body.update({k: _iso(v) for k, v in row.items() if k != "id"})
            body["uuid"] = ident
            body["id"] = str(row["recid"]) if kind == "records" else ident
            docs[ident] = body
        return docs

    # ---- reading -----------------------------------------------------------------------------
    def count(self, kind: str) -> int:
        """Documents in `kind`'s index (`GET /<prefix><index>/_count`)."""
        name = self.index_name(kind)
        with self._lock:
            if kind not in self._indices:
                raise IndexNotFoundError(f"no such index [{name}]")
            return len(self._indices[kind])

    def search(self, q: str = "", size: int = 10, page: int = 1) -> tuple[int, list[Document]]:
        """Records matching `q`: newest first without a query, by relevance (`bestmatch`) with one.

        A query is a quoted phrase (matched as a case-insensitive substring of a title or creator
        name) or words that must all appear. Relevance counts the titles and names that match, so
        records that match as well as each other come in no useful order, as tied scores do: a
        common word does not bring the newest record to the first page. Returns the exact total
        and one page of documents (copies).
        """
        name = self.index_name("records")
        with self._lock:
            if "records" not in self._indices:
                raise IndexNotFoundError(f"no such index [{name}]")
            docs = list(self._indices["records"].values())
        docs = [d for d in docs if d.get("is_public_latest", True)]
        terms = _query_terms(q)
        if terms:
            scored = [(_score(d, terms), d) for d in docs]
            docs = [d for score, d in sorted(scored, key=lambda sd: (-sd[0], str(sd[1].get("uuid")))) if score]
        else:
            docs.sort(key=lambda d: (str(d.get("created") or ""), str(d.get("id"))), reverse=True)
        start = max(page - 1, 0) * size
        return len(docs), [dict(d) for d in docs[start : start + size]]

    def documents(self, kind: str) -> list[Document]:
        """Copies of all documents of `kind` (for tests and diagnostics)."""
        with self._lock:
            return [dict(d) for d in self._indices.get(kind, {}).values()]

    def remove(self, kind: str, doc_id: str) -> None:
        """Drop one document, by index id or by its `id` field (to stage an index that missed records)."""
        with self._lock:
            docs = self._indices.get(kind, {})
            for key in [k for k, d in docs.items() if k == doc_id or str(d.get("id")) == doc_id]:
                del docs[key]

    def put(self, kind: str, doc_id: str, doc: Document) -> None:
        """Write one document directly (to stage stale indices, e.g. orphans, in tests)."""
        self.index_name(kind)
        with self._lock:
            self._indices.setdefault(kind, {})[doc_id] = dict(doc)


class IndexWorker:
    """Background stand-in of the Celery worker that drains the indexer queue.

    `index` is one index or a live mapping of them (the twin's indices appear as domains and
    prefixes are first used); every queue is drained each round.
    """

    def __init__(self, index: SearchIndex | Mapping[str, SearchIndex], interval: float = 0.2) -> None:
        self.indices = index if isinstance(index, Mapping) else {"": index}
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="twin-index-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for index in list(self.indices.values()):
                try:
                    while index.process_queue() and not self._stop.is_set():
                        pass
                except Exception:  # keep the worker alive, as Celery does after a failed task
                    log.exception("index worker: processing the queue failed")


SnapshotSource = Callable[[], dict[str, list[dict[str, Any]]]]


class SearchEndpoint:
    """The OpenSearch domain's HTTPS endpoint: the read API a health check uses, over the twin's indices.

    `GET /_cat/aliases?format=json`, `GET /<alias>/_count`, `GET /_snapshot`,
    `GET /_snapshot/<repository>/_all`, and for the drill's teardown and sweep
    `GET /_cat/indices/<pattern>?format=json` and `DELETE /<index>[,<index>...]` (concrete names, no
    wildcard). It answers for the whole domain, so a sweep from any machine sees the same indices.
    Requests are SigV4-signed by clients; the stand-in does not verify signatures (moto does not
    either), but it authorises them as the domain's IAM does: the signing key's principal needs
    `es:ESHttp<Method>` on `arn:aws:es:<region>:<account>:domain/<domain>/<path>` (`authorize`,
    from the twin's enforcer), else 403 with OpenSearch Service's message. TLS with a throw-away
    certificate, as the domain's endpoint is HTTPS only.
    """

    def __init__(
        self,
        indices: Callable[[], list[SearchIndex]],
        snapshots: SnapshotSource,
        authorize: Callable[[str, str, str], str | None] | None = None,
    ) -> None:
        self.indices = indices
        self.snapshots = snapshots
        # (access key, IAM action, path) -> None when allowed, else the denial message.
        self.authorize = authorize
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Serve on 127.0.0.1 and return 'host:port' (what the domain reports as its Endpoint)."""
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, ssl_context="adhoc")
        self._thread = threading.Thread(target=self._server.serve_forever, name="twin-opensearch", daemon=True)
        self._thread.start()
        return f"127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        import json

        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        parts = request.path.strip("/").split("/")
        action = f"es:ESHttp{request.method.capitalize()}"
        key = _access_key(request.headers.get("Authorization", ""))
        denied = self.authorize(key, action, request.path) if self.authorize is not None else None
        if denied is not None:
            response = Response(json.dumps({"Message": denied}), status=403, content_type="application/json")
            return response(environ, start_response)  # type: ignore[no-any-return]
        if request.method == "DELETE":
            status, body = self._delete(parts[0].split(","))
        else:
            status, body = self._answer(parts)
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)  # type: ignore[no-any-return]

    def _concrete(self) -> dict[str, tuple[SearchIndex, str]]:
        """concrete index name -> (its index set, kind), for every index that exists now."""
        out: dict[str, tuple[SearchIndex, str]] = {}
        for idx in self.indices():
            for kind in INDICES:
                if idx.exists(kind):
                    out[idx.aliases()[idx.index_name(kind)]] = (idx, kind)
        return out

    def _delete(self, names: list[str]) -> tuple[int, Any]:
        found = self._concrete()
        missing = [n for n in names if n not in found or "*" in n]
        if missing:
            return 404, {"error": {"type": "index_not_found_exception", "index": missing[0]}, "status": 404}
        for name in names:
            idx, kind = found[name]
            idx.drop(kind)
        return 200, {"acknowledged": True}

    def _answer(self, parts: list[str]) -> tuple[int, Any]:
        if parts[:2] == ["_cat", "indices"]:
            patterns = (parts[2] if len(parts) > 2 else "*").split(",")
            rows = []
            for name, (idx, kind) in sorted(self._concrete().items()):
                if any(fnmatch.fnmatchcase(name, p) for p in patterns):
                    rows.append({"index": name, "docs.count": str(idx.count(kind)), "health": "green"})
            return 200, rows
        if parts == ["_cat", "aliases"]:
            return 200, [{"alias": a, "index": i} for idx in self.indices() for a, i in idx.aliases().items()]
        if parts == ["_snapshot"]:
            return 200, {repo: {"type": "s3"} for repo in self.snapshots()}
        if len(parts) == 3 and parts[0] == "_snapshot" and parts[2] == "_all":
            found = self.snapshots().get(parts[1])
            if found is None:
                return 404, {"error": {"type": "repository_missing_exception"}, "status": 404}
            return 200, {"snapshots": found}
        if len(parts) == 2 and parts[1] == "_count":
            for idx in self.indices():
                for kind in INDICES:
                    if idx.index_name(kind) == parts[0] and idx.exists(kind):
                        return 200, {"count": idx.count(kind)}
            return 404, {"error": {"type": "index_not_found_exception", "index": parts[0]}, "status": 404}
        if parts == [""]:
            return 200, {"version": {"distribution": "opensearch", "number": "2.11.0"}}
        return 400, {"error": {"type": "illegal_argument_exception"}, "status": 400}


def _access_key(authorization: str) -> str:
    """The access key of a SigV4 Authorization header ('' when unsigned)."""
    _, _, rest = authorization.partition("Credential=")
    return rest.split("/", 1)[0] if rest else ""
