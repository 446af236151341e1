"""backup_s3_manual.sh (plan 2.2): the files bucket copied to cold storage, compared by content.

Good: after `copy()`, `compare()` finds every key of the source in the copy with the same size
and the same content. Content is judged per object by the cheapest proof that exists:

1. the ETag, where both sides' ETags are plain MD5s (single-part uploads, no SSE-KMS): free, it
   comes with the listing;
2. the S3 additional checksum (CRC32/CRC32C/CRC64NVME/SHA1/SHA256), where both sides carry the
   same algorithm (the listing says which; the value costs one HeadObject per side);
3. the MD5 InvenioRDM stores in its database (`files_files.checksum`, `md5:<hex>`) standing in
   for the files bucket's side, against a plain-MD5 ETag (or a local file's MD5) on the other.

A pair with none of these in common is reported as unverified, never as equal. `aws s3 sync`
compares size and modification time only, so a same-size change is invisible to it.

Copies stay inside S3 (CopyObject; boto3's managed copy, i.e. UploadPartCopy, above 5 GiB);
only a local directory target downloads. Every run is incremental (only what differs is
copied), so a run that was interrupted is resumed by running it again; a local directory keeps
a state file of the MD5s it computed so unchanged files are not hashed twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import DEFAULT_TIMESTAMP_PARSER, ResponseParserFactory

from recovery.aws import s3 as s3_api
from recovery.aws.session import Aws
from recovery.errors import RecoveryError

log = logging.getLogger(__name__)

MULTIPART_COPY_THRESHOLD = 5 * 1024**3  # CopyObject's limit; above it, UploadPartCopy
MULTIPART_COPY_CHUNK = 512 * 1024**2
STATE_FILE = ".turath-s3-backup.jsonl"
PART_SUFFIX = ".turath-part"
_MD5 = re.compile(r"^[0-9a-f]{32}$")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
# phase, done, total (None while unknown), bytes moved so far
ProgressFn = Callable[[str, int, int | None], None]


class BackupError(RecoveryError):
    """s3-backup could not list, compare or copy; `failed` maps keys to the error each met."""

    def __init__(self, message: str, failed: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.failed = failed or {}


@dataclass(frozen=True)
class Obj:
    """One object (or local file) as a listing shows it; `etag` without quotes."""

    key: str
    size: int
    etag: str = ""
    algorithms: tuple[str, ...] = ()

    def md5(self, etag_is_md5: bool) -> str | None:
        """The object's MD5 from its ETag, when the ETag is one (not multipart `-N`, not SSE-KMS)."""
        return self.etag if etag_is_md5 and _MD5.match(self.etag) else None


@dataclass(frozen=True)
class Side:
    """Where objects live: `s3://bucket` (with `bucket`) or a local directory (with `root`)."""

    bucket: str = ""
    root: Path | None = None

    @property
    def name(self) -> str:
        return f"s3://{self.bucket}" if self.bucket else str(self.root)

    @property
    def local(self) -> bool:
        return self.root is not None


@dataclass(frozen=True)
class Difference:
    """A key whose copy is missing or differs; `evidence` says what was compared."""

    key: str
    kind: str  # "missing" | "size" | "content" | "unverified"
    evidence: str = ""
    size: int = 0  # the source's size, from its listing


@dataclass
class Comparison:
    """The copy against the source, by key, size and content."""

    source: str
    copy: str
    source_objects: int = 0
    copy_objects: int = 0
    same: int = 0
    missing: list[Difference] = field(default_factory=list)
    size_changed: list[Difference] = field(default_factory=list)
    content_changed: list[Difference] = field(default_factory=list)
    unverified: list[Difference] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    proofs: dict[str, int] = field(default_factory=dict)  # how content was proven: etag-md5, sha256, db-md5...
    listed_from: dict[str, str] = field(default_factory=dict)
    bytes_to_copy: int = 0

    @property
    def differences(self) -> list[Difference]:
        return [*self.missing, *self.size_changed, *self.content_changed]

    @property
    def identical(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        def keys(items: list[Difference]) -> list[str]:
            return [d.key for d in items]

        return {
            "source": self.source,
            "copy": self.copy,
            "source_objects": self.source_objects,
            "copy_objects": self.copy_objects,
            "same": self.same,
            "missing": keys(self.missing),
            "size_changed": keys(self.size_changed),
            "content_changed": keys(self.content_changed),
            "unverified": keys(self.unverified),
            "extra": list(self.extra),
            "proofs": dict(self.proofs),
            "listed_from": dict(self.listed_from),
        }


@dataclass
class CopyResult:
    """What one `copy()` run did; `failed` maps keys to errors (re-run to retry them)."""

    before: Comparison
    copied: list[str] = field(default_factory=list)
    bytes_copied: int = 0
    failed: dict[str, str] = field(default_factory=dict)


Lister = Callable[[Side], tuple[dict[str, Obj], str]]


# ---- clients -----------------------------------------------------------------------------------
def _timestamp(value: Any) -> Any:
    """ISO-8601 through the C parser; anything else (RFC 822 headers, epochs) as botocore parses it.

    botocore's default (dateutil) spends about a quarter of a listing's client time on LastModified.
    """
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return DEFAULT_TIMESTAMP_PARSER(value)


def fast_timestamps(client: Any) -> Any:
    """`client` (one of the caller's own, not a shared one) parsing timestamps with `_timestamp`."""
    factory = ResponseParserFactory()
    factory.set_parser_defaults(timestamp_parser=_timestamp)
    endpoint = getattr(client, "_endpoint", None)
    if endpoint is not None and hasattr(endpoint, "_response_parser_factory"):
        endpoint._response_parser_factory = factory
    return client


def backup_client(aws: Aws, workers: int) -> Any:
    """An S3 client of s3-backup's own: a connection per worker, and fast timestamp parsing."""
    kwargs: dict[str, Any] = {
        "config": Config(
            retries={"max_attempts": 6, "mode": "adaptive"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=workers + 4,
        )
    }
    if aws.settings.endpoint_url:
        kwargs["endpoint_url"] = aws.settings.endpoint_url
    return fast_timestamps(aws.session.client("s3", **kwargs))


# ---- listing -----------------------------------------------------------------------------------
def list_bucket(s3: Any, bucket: str, on_progress: ProgressFn | None = None, phase: str = "") -> dict[str, Obj]:
    """Every current object of `bucket` (ListObjectsV2, 1,000 keys a page)."""
    out: dict[str, Obj] = {}
    try:
        _list_into(s3, bucket, out, on_progress, phase)
    except ClientError as exc:
        raise BackupError(f"cannot list s3://{bucket}: {exc}") from exc
    return out


def _list_into(s3: Any, bucket: str, out: dict[str, Obj], on_progress: ProgressFn | None, phase: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            key = item["Key"]
            etag = item.get("ETag", "").strip('"')
            out[key] = Obj(key, int(item["Size"]), etag, tuple(item.get("ChecksumAlgorithm", ())))
        if on_progress is not None:
            on_progress(phase or f"list s3://{bucket}", len(out), None)


def _state_path(root: Path) -> Path:
    return root / STATE_FILE


def _read_state(root: Path) -> dict[str, dict[str, Any]]:
    path = _state_path(root)
    state: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            with suppress(ValueError, KeyError):
                entry = json.loads(line)
                state[entry["key"]] = entry
    return state


def _append_state(root: Path, key: str, path: Path, md5: str) -> None:
    st = path.stat()
    line = json.dumps({"key": key, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "md5": md5})
    with _state_path(root).open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def list_dir(root: Path, on_progress: ProgressFn | None = None) -> dict[str, Obj]:
    """Files under `root` as objects keyed by their relative path; `etag` is the file's MD5.

    The MD5 comes from the state file when size and mtime are unchanged since it was recorded.
    """
    if not root.exists():
        return {}
    state = _read_state(root)
    out: dict[str, Obj] = {}
    fresh: list[tuple[str, Path, str]] = []
    for path in root.rglob("*"):
        if not path.is_file() or path.name == STATE_FILE or path.name.endswith(PART_SUFFIX):
            continue
        key = path.relative_to(root).as_posix()
        st = path.stat()
        known = state.get(key)
        if known and known.get("size") == st.st_size and known.get("mtime_ns") == st.st_mtime_ns:
            md5 = str(known["md5"])
        else:
            md5 = file_md5(path)
            fresh.append((key, path, md5))
        out[key] = Obj(key, st.st_size, md5)
        if on_progress is not None and len(out) % 1000 == 0:
            on_progress(f"list {root}", len(out), None)
    for key, path, md5 in fresh:
        _append_state(root, key, path, md5)
    return out


def etag_is_md5(s3: Any, side: Side) -> bool:
    """A local file's 'ETag' is its MD5; an S3 ETag is one unless the bucket encrypts with KMS."""
    if side.local:
        return True
    try:
        algorithm = s3_api.default_encryption(s3, side.bucket)
    except ClientError as exc:
        log.warning("cannot read the default encryption of %s (%s): ETags are not trusted as MD5s", side.name, exc)
        return False
    return algorithm not in KMS_ALGORITHMS


# ---- comparison --------------------------------------------------------------------------------
def _head_checksum(s3: Any, bucket: str, key: str, algorithm: str) -> tuple[str, str] | None:
    """(value, type) of the object's additional checksum, or None when it has none."""
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    value = head.get(f"Checksum{algorithm.upper()}")
    return (str(value), str(head.get("ChecksumType", "FULL_OBJECT"))) if value else None


@dataclass
class _Pending:
    """Same-size pairs whose content needs a per-object call (no comparable ETag MD5)."""

    key: str
    algorithm: str


def compare(
    s3: Any,
    source: Side,
    copy: Side,
    *,
    db_md5: Callable[[], dict[str, str]] | None = None,
    db_side: str = "source",
    lister: Lister | None = None,
    workers: int = 16,
    on_progress: ProgressFn | None = None,
) -> Comparison:
    """Source against copy by key, size and content (see the module docstring for the proofs).

    `db_md5()` returns key -> MD5 from InvenioRDM's database for the files bucket, which is the
    `db_side` ("source" or "copy"); it is called only if some pair needs it.
    """
    listing = lister or default_lister(s3, on_progress)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="s3-list") as pool:
        src_future = pool.submit(listing, source)
        dst_future = pool.submit(listing, copy)
        (src, src_from), (dst, dst_from) = src_future.result(), dst_future.result()
    result = Comparison(source.name, copy.name, len(src), len(dst))
    result.listed_from = {"source": src_from, "copy": dst_from}
    src_md5_ok, dst_md5_ok = etag_is_md5(s3, source), etag_is_md5(s3, copy)
    pending: list[_Pending] = []
    needs_db: list[str] = []
    for key, a in src.items():
        b = dst.get(key)
        if b is None:
            result.missing.append(Difference(key, "missing", f"{a.size} bytes, not in the copy", a.size))
            result.bytes_to_copy += a.size
            continue
        if a.size != b.size:
            result.size_changed.append(
                Difference(key, "size", f"{a.size} bytes in the source, {b.size} in the copy", a.size)
            )
            result.bytes_to_copy += a.size
            continue
        ma, mb = a.md5(src_md5_ok), b.md5(dst_md5_ok)
        if ma and mb:
            _judge(result, key, a.size, "etag-md5", ma, mb)
            continue
        shared = [alg for alg in a.algorithms if alg in b.algorithms]
        if shared and not source.local and not copy.local:
            pending.append(_Pending(key, shared[0]))
        elif ma or mb:
            needs_db.append(key)
        else:
            result.unverified.append(Difference(key, "unverified", "no ETag MD5 and no shared checksum algorithm"))
    result.extra = sorted(set(dst) - set(src))
    if pending:
        _compare_checksums(s3, source, copy, pending, result, src, workers, on_progress)
    if needs_db:
        _compare_db(result, needs_db, src, dst, src_md5_ok, dst_md5_ok, db_md5, db_side)
    result.missing.sort(key=lambda d: d.key)
    result.size_changed.sort(key=lambda d: d.key)
    result.content_changed.sort(key=lambda d: d.key)
    if on_progress is not None:
        on_progress("compare", result.source_objects, result.source_objects)
    return result


def _judge(result: Comparison, key: str, size: int, proof: str, a: str, b: str) -> None:
    result.proofs[proof] = result.proofs.get(proof, 0) + 1
    if a == b:
        result.same += 1
    else:
        evidence = f"same size, {proof} {a} in the source, {b} in the copy"
        result.content_changed.append(Difference(key, "content", evidence, size))
        result.bytes_to_copy += size


def _compare_checksums(
    s3: Any,
    source: Side,
    copy: Side,
    pending: list[_Pending],
    result: Comparison,
    src: dict[str, Obj],
    workers: int,
    on_progress: ProgressFn | None,
) -> None:
    def both(p: _Pending) -> tuple[_Pending, tuple[str, str] | None, tuple[str, str] | None]:
        a = _head_checksum(s3, source.bucket, p.key, p.algorithm)
        return p, a, _head_checksum(s3, copy.bucket, p.key, p.algorithm)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3-head") as pool:
        for done, (p, a, b) in enumerate(pool.map(both, pending), 1):
            if a is None or b is None or a[1] != b[1]:
                why = "checksum missing on one side" if a is None or b is None else f"checksum types {a[1]} vs {b[1]}"
                result.unverified.append(Difference(p.key, "unverified", why))
            else:
                _judge(result, p.key, src[p.key].size, p.algorithm.lower(), a[0], b[0])
            if on_progress is not None and done % 200 == 0:
                on_progress("checksums", done, len(pending))


def _compare_db(
    result: Comparison,
    keys: list[str],
    src: dict[str, Obj],
    dst: dict[str, Obj],
    src_md5_ok: bool,
    dst_md5_ok: bool,
    db_md5: Callable[[], dict[str, str]] | None,
    db_side: str,
) -> None:
    known: dict[str, str] = {}
    if db_md5 is not None:
        try:
            known = db_md5()
        except RecoveryError as exc:
            log.warning("the database's MD5s are not available (%s): %d objects stay unverified", exc, len(keys))
    for key in keys:
        ma, mb = src[key].md5(src_md5_ok), dst[key].md5(dst_md5_ok)
        stored = known.get(key)
        if db_side == "source":
            ma = ma or stored
        else:
            mb = mb or stored
        if ma and mb:
            _judge(result, key, src[key].size, "db-md5", ma, mb)
        else:
            result.unverified.append(Difference(key, "unverified", "one side has no MD5 and the database has none"))


def default_lister(s3: Any, on_progress: ProgressFn | None = None) -> Lister:
    def listing(side: Side) -> tuple[dict[str, Obj], str]:
        if side.root is not None:
            return list_dir(side.root, on_progress), "directory"
        return list_bucket(s3, side.bucket, on_progress), "listing"

    return listing


# ---- copying -----------------------------------------------------------------------------------
def copy(
    s3: Any,
    source: Side,
    target: Side,
    *,
    db_md5: Callable[[], dict[str, str]] | None = None,
    db_side: str = "source",
    lister: Lister | None = None,
    storage_class: str = "",
    workers: int = 16,
    on_progress: ProgressFn | None = None,
) -> CopyResult:
    """Copy what is missing or differs from `source` to `target`; never deletes anything.

    S3 to S3 stays server-side. A KeyboardInterrupt cancels what has not started and propagates;
    what was copied stays, so running again resumes.
    """
    before = compare(
        s3, source, target, db_md5=db_md5, db_side=db_side, lister=lister, workers=workers, on_progress=on_progress
    )
    result = CopyResult(before)
    todo = before.differences
    if not todo:
        return result
    log.info("copying %d objects from %s to %s", len(todo), source.name, target.name)
    one = _copier(s3, source, target, storage_class)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3-copy")
    futures: dict[Future[int], str] = {pool.submit(one, d.key, d.size): d.key for d in todo}
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                key = futures[fut]
                try:
                    result.bytes_copied += fut.result()
                    result.copied.append(key)
                except (ClientError, BotoCoreError, OSError, BackupError) as exc:
                    result.failed[key] = str(exc)
                    log.warning("copy of %s failed: %s", key, exc)
            if on_progress is not None:
                on_progress("copy", len(result.copied) + len(result.failed), len(todo))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        log.warning("interrupted after %d of %d copies; run again to resume", len(result.copied), len(todo))
        raise
    pool.shutdown(wait=True)
    return result


def _copier(s3: Any, source: Side, target: Side, storage_class: str) -> Callable[[str, int], int]:
    extra: dict[str, str] = {"StorageClass": storage_class} if storage_class else {}
    transfer = TransferConfig(
        multipart_threshold=MULTIPART_COPY_THRESHOLD, multipart_chunksize=MULTIPART_COPY_CHUNK, max_concurrency=4
    )

    def s3_to_s3(key: str, size: int) -> int:
        # The listing's size picks the API; an object that grew past 5 GiB since fails and is retried next run.
        if size < MULTIPART_COPY_THRESHOLD:
            s3.copy_object(Bucket=target.bucket, Key=key, CopySource={"Bucket": source.bucket, "Key": key}, **extra)
        else:  # boto3's managed copy: UploadPartCopy part by part, still server-side
            s3.copy({"Bucket": source.bucket, "Key": key}, target.bucket, key, ExtraArgs=extra or None, Config=transfer)
        return size

    def s3_to_dir(key: str, size: int) -> int:
        assert target.root is not None
        path = _safe_path(target.root, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + PART_SUFFIX)
        s3.download_file(source.bucket, key, str(part))
        md5 = file_md5(part)
        os.replace(part, path)
        _append_state(target.root, key, path, md5)
        return path.stat().st_size

    def dir_to_s3(key: str, size: int) -> int:
        assert source.root is not None
        path = _safe_path(source.root, key)
        s3.upload_file(str(path), target.bucket, key, ExtraArgs=extra or None)
        return path.stat().st_size

    if source.local and target.local:
        raise BackupError("s3-backup copies between a bucket and a bucket or a directory, not two directories")
    if target.local:
        return s3_to_dir
    if source.local:
        return dir_to_s3
    return s3_to_s3


def _safe_path(root: Path, key: str) -> Path:
    path = (root / key).resolve()
    if not path.is_relative_to(root.resolve()):
        raise BackupError(f"object key {key!r} would be written outside {root}")
    return path
