"""A bucket's objects from its newest S3 Inventory report instead of listing it (tens of millions of objects).

Good: the objects of the newest complete report (manifest.json present, its files' MD5s right)
of the inventory configuration named by TURATH_S3_INVENTORY, current versions only, with the
report's time stated: objects uploaded after it are not in it. Reading it costs a handful of
calls and the download of the gzip CSV files (about 40 bytes an object), not one call per
1,000 keys. CSV only: ORC and Parquet reports are refused with the setting named.

Layout (AWS docs, "Locating your inventory list"):
`<prefix>/<source bucket>/<config id>/YYYY-MM-DDTHH-MMZ/manifest.json` (+ `manifest.checksum`),
data files under `<prefix>/<source bucket>/<config id>/data/`. A manifest lists its data files
with their MD5s and `fileSchema`, the CSV's columns; keys in the CSV are URL-encoded.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from recovery.aws.session import error_code
from recovery.errors import ConfigError, RecoveryError
from recovery.tools.s3backup import Obj

log = logging.getLogger(__name__)

SETTING = "TURATH_S3_INVENTORY"
_DATED = re.compile(r"/(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z)/$")


class InventoryError(RecoveryError):
    """The inventory report is missing, incomplete or corrupt."""


@dataclass
class Report:
    """One inventory report: where, when, and the current objects it lists."""

    bucket: str
    config_id: str
    manifest_key: str
    created: datetime
    objects: dict[str, Obj] = field(default_factory=dict)

    def describe(self) -> str:
        stamp = self.created.isoformat(timespec="minutes").replace("+00:00", "Z")
        return f"inventory {self.config_id} of {stamp}"


def configuration(s3: Any, bucket: str, config_id: str) -> dict[str, Any] | None:
    """The bucket's inventory configuration `config_id`, or None if it has none by that id."""
    try:
        return dict(s3.get_bucket_inventory_configuration(Bucket=bucket, Id=config_id)["InventoryConfiguration"])
    except ClientError as exc:
        if error_code(exc) in {"NoSuchConfiguration", "NoSuchInventoryConfig", "404", "NotFound"}:
            return None
        raise


def newest_manifest(s3: Any, dest_bucket: str, base: str) -> tuple[str, str]:
    """(manifest key, dated folder) of the newest complete report under `base` (…/<bucket>/<id>/)."""
    folders: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=dest_bucket, Prefix=base, Delimiter="/"):
        folders.extend(p["Prefix"] for p in page.get("CommonPrefixes", []) if _DATED.search(p["Prefix"]))
    for folder in sorted(folders, reverse=True):
        key = folder + "manifest.json"
        try:
            s3.head_object(Bucket=dest_bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                log.info("inventory report %s has no manifest yet (in progress): skipped", folder)
                continue
            raise
        return key, folder
    raise InventoryError(f"no complete inventory report under s3://{dest_bucket}/{base}")


def read_report(s3: Any, bucket: str, config_id: str) -> Report:
    """The newest report of `bucket`'s inventory configuration `config_id` (CSV, checked by MD5)."""
    conf = configuration(s3, bucket, config_id)
    if conf is None:
        raise ConfigError(SETTING, f"s3://{bucket} has no inventory configuration with id {config_id!r}")
    dest = conf["Destination"]["S3BucketDestination"]
    if dest.get("Format", "CSV") != "CSV":
        raise ConfigError(SETTING, f"inventory {config_id} of {bucket} is {dest['Format']}; only CSV is read")
    dest_bucket = str(dest["Bucket"]).split(":::", 1)[-1]
    prefix = str(dest.get("Prefix", "")).strip("/")
    base = f"{prefix}/{bucket}/{config_id}/" if prefix else f"{bucket}/{config_id}/"
    manifest_key, _ = newest_manifest(s3, dest_bucket, base)
    raw = s3.get_object(Bucket=dest_bucket, Key=manifest_key)["Body"].read()
    _check_manifest_checksum(s3, dest_bucket, manifest_key, raw)
    manifest = json.loads(raw)
    if manifest.get("fileFormat", "CSV") != "CSV":
        raise ConfigError(SETTING, f"{manifest_key} is {manifest.get('fileFormat')}; only CSV is read")
    created = datetime.fromtimestamp(int(manifest["creationTimestamp"]) / 1000, UTC)
    columns = [c.strip() for c in str(manifest["fileSchema"]).split(",")]
    report = Report(bucket, config_id, manifest_key, created)
    for entry in manifest.get("files", []):
        data = s3.get_object(Bucket=dest_bucket, Key=entry["key"])["Body"].read()
        want = entry.get("MD5checksum")
        if want and hashlib.md5(data, usedforsecurity=False).hexdigest() != want:
            raise InventoryError(f"inventory file s3://{dest_bucket}/{entry['key']} does not match its MD5 {want}")
        _read_rows(gzip.decompress(data), columns, report.objects)
    age = datetime.now(UTC) - created
    log.info("%s: %d objects (report %.1f h old)", report.describe(), len(report.objects), age.total_seconds() / 3600)
    return report


def _check_manifest_checksum(s3: Any, bucket: str, manifest_key: str, raw: bytes) -> None:
    key = manifest_key.rsplit("/", 1)[0] + "/manifest.checksum"
    try:
        want = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().strip()
    except ClientError as exc:
        if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
            return
        raise
    if want and hashlib.md5(raw, usedforsecurity=False).hexdigest() != want:
        raise InventoryError(f"s3://{bucket}/{manifest_key} does not match manifest.checksum")


def _read_rows(text: bytes, columns: list[str], out: dict[str, Obj]) -> None:
    index = {name: i for i, name in enumerate(columns)}
    if "Key" not in index or "Size" not in index:
        raise InventoryError(f"the inventory has no Key or Size column (fileSchema: {', '.join(columns)})")
    for row in csv.reader(io.StringIO(text.decode("utf-8"))):
        if not row:
            continue
        if "IsLatest" in index and row[index["IsLatest"]].lower() != "true":
            continue
        if "IsDeleteMarker" in index and row[index["IsDeleteMarker"]].lower() == "true":
            continue
        key = unquote_plus(row[index["Key"]])
        etag = row[index["ETag"]] if "ETag" in index else ""
        algorithm = row[index["ChecksumAlgorithm"]] if "ChecksumAlgorithm" in index else ""
        out[key] = Obj(key, int(row[index["Size"]] or 0), etag, (algorithm,) if algorithm else ())
