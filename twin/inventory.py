"""S3 Inventory for the twin: moto stores inventory configurations but never delivers a report; this does.

`deliver(s3, bucket, config_id, ...)` puts an inventory configuration on `bucket` (if it has none
by that id) and writes one report the way S3 does: gzip CSV data files under
`<prefix>/<bucket>/<id>/data/`, then `manifest.json` and `manifest.checksum` in a dated folder,
the manifest last (a report without one is in progress). The rows are the bucket's current
objects at the time of the call, as a real report is a snapshot of its day.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

SCHEMA = ("Bucket", "Key", "Size", "LastModifiedDate", "ETag", "StorageClass", "ChecksumAlgorithm")
ROWS_PER_FILE = 250_000


def configure(s3: Any, bucket: str, config_id: str, dest_bucket: str, prefix: str) -> None:
    """A daily CSV inventory of current versions, as an operator would set it up."""
    s3.put_bucket_inventory_configuration(
        Bucket=bucket,
        Id=config_id,
        InventoryConfiguration={
            "Id": config_id,
            "IsEnabled": True,
            "IncludedObjectVersions": "Current",
            "Schedule": {"Frequency": "Daily"},
            "Destination": {
                "S3BucketDestination": {"Bucket": f"arn:aws:s3:::{dest_bucket}", "Format": "CSV", "Prefix": prefix}
            },
            "OptionalFields": ["Size", "LastModifiedDate", "ETag", "StorageClass", "ChecksumAlgorithm"],
        },
    )


def deliver(
    s3: Any,
    bucket: str,
    config_id: str,
    dest_bucket: str,
    prefix: str = "inventory",
    now: datetime | None = None,
) -> str:
    """Write one report of `bucket` into `dest_bucket`; returns the manifest's key."""
    now = now or datetime.now(UTC)
    configure(s3, bucket, config_id, dest_bucket, prefix)
    base = f"{prefix.strip('/')}/{bucket}/{config_id}/" if prefix.strip("/") else f"{bucket}/{config_id}/"
    files: list[dict[str, Any]] = []
    rows: list[list[str]] = []

    def flush() -> None:
        if not rows:
            return
        buf = io.StringIO()
        csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
        data = gzip.compress(buf.getvalue().encode("utf-8"))
        key = f"{base}data/{uuid.uuid4()}.csv.gz"
        s3.put_object(Bucket=dest_bucket, Key=key, Body=data)
        files.append(
            {"key": key, "size": len(data), "MD5checksum": hashlib.md5(data, usedforsecurity=False).hexdigest()}
        )
        rows.clear()

    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            modified = item["LastModified"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            algorithms = item.get("ChecksumAlgorithm") or [""]
            rows.append(
                [
                    bucket,
                    quote_plus(item["Key"], safe="/"),
                    str(item["Size"]),
                    modified,
                    item.get("ETag", "").strip('"'),
                    item.get("StorageClass", "STANDARD"),
                    algorithms[0],
                ]
            )
            if len(rows) >= ROWS_PER_FILE:
                flush()
    flush()
    manifest = {
        "sourceBucket": bucket,
        "destinationBucket": f"arn:aws:s3:::{dest_bucket}",
        "version": "2016-11-30",
        "creationTimestamp": str(int(now.timestamp() * 1000)),
        "fileFormat": "CSV",
        "fileSchema": ", ".join(SCHEMA),
        "files": files,
    }
    body = json.dumps(manifest).encode()
    folder = f"{base}{now.astimezone(UTC).strftime('%Y-%m-%dT%H-%MZ')}/"
    s3.put_object(
        Bucket=dest_bucket,
        Key=folder + "manifest.checksum",
        Body=hashlib.md5(body, usedforsecurity=False).hexdigest().encode(),
    )
    s3.put_object(Bucket=dest_bucket, Key=folder + "manifest.json", Body=body)
    return folder + "manifest.json"
