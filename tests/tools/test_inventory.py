"""S3 Inventory as the listing source (TURATH_S3_INVENTORY): the twin delivers a report, parity reads it."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from recovery.tools import inventory, s3backup
from recovery.tools.s3backup import Side
from twin import inventory as twin_inventory
from twin.core import Twin

CONFIG = "daily-files"


def test_a_report_lists_what_the_bucket_lists(twin: Twin, small_files: Any, scratch_bucket: Any) -> None:
    files, reports = small_files(50), scratch_bucket()
    s3 = twin.client("s3")
    s3.put_object(Bucket=files, Key="files/odd name +&%/data", Body=b"a key that must be URL-decoded")
    twin_inventory.deliver(s3, files, CONFIG, reports, prefix="inventory")

    report = inventory.read_report(s3, files, CONFIG)

    listed = s3backup.list_bucket(s3, files)
    assert {k: (o.size, o.etag) for k, o in report.objects.items()} == {k: (o.size, o.etag) for k, o in listed.items()}
    assert report.describe().startswith(f"inventory {CONFIG} of ")


def test_verify_reads_the_report_instead_of_listing(
    cli: Any, twin: Twin, small_files: Any, scratch_bucket: Any
) -> None:
    files, backup, reports = small_files(40), scratch_bucket(), scratch_bucket()
    s3 = twin.client("s3")
    buckets = ("--set", f"TURATH_FILES_BUCKET={files}", "--set", f"TURATH_BACKUP_BUCKET={backup}")
    assert cli(*buckets, "s3-backup").code == 0
    twin_inventory.deliver(s3, files, CONFIG, reports)
    # Uploaded after the report: listing sees it, the report (a snapshot of its day) does not.
    s3.put_object(Bucket=files, Key="files/new/data", Body=b"uploaded after the inventory")

    listed = cli(*buckets, "s3-backup", "--verify", "--json")
    from_report = cli(*buckets, "--set", f"TURATH_S3_INVENTORY={CONFIG}", "s3-backup", "--verify", "--json")

    assert listed.code == 1
    assert '"missing": [\n    "files/new/data"' in listed.out
    assert from_report.code == 0, from_report.out
    assert f'"source": "inventory {CONFIG} of ' in from_report.out
    assert '"copy": "listing"' in from_report.out  # the copy has no inventory configuration: listed


def test_a_corrupt_report_is_refused(twin: Twin, small_files: Any, scratch_bucket: Any) -> None:
    files, reports = small_files(10), scratch_bucket()
    s3 = twin.client("s3")
    manifest_key = twin_inventory.deliver(s3, files, CONFIG, reports)
    manifest = json.loads(s3.get_object(Bucket=reports, Key=manifest_key)["Body"].read())
    data_key = manifest["files"][0]["key"]
    s3.put_object(Bucket=reports, Key=data_key, Body=gzip.compress(b'"x","files/forged/data","1"\n'))

    with pytest.raises(inventory.InventoryError, match="does not match its MD5"):
        inventory.read_report(s3, files, CONFIG)


def test_only_csv_reports_are_read(twin: Twin, small_files: Any, scratch_bucket: Any) -> None:
    files, reports = small_files(5), scratch_bucket()
    s3 = twin.client("s3")
    twin_inventory.configure(s3, files, "parquet", reports, "inventory")
    conf = s3.get_bucket_inventory_configuration(Bucket=files, Id="parquet")["InventoryConfiguration"]
    conf["Destination"]["S3BucketDestination"]["Format"] = "Parquet"
    s3.put_bucket_inventory_configuration(Bucket=files, Id="parquet", InventoryConfiguration=conf)

    with pytest.raises(inventory.ConfigError, match="TURATH_S3_INVENTORY"):
        inventory.read_report(s3, files, "parquet")


def test_no_configuration_means_listing(twin: Twin, small_files: Any) -> None:
    files = small_files(5)
    assert inventory.configuration(twin.client("s3"), files, CONFIG) is None
    assert s3backup.compare(twin.client("s3"), Side(bucket=files), Side(bucket=files)).listed_from == {
        "source": "listing",
        "copy": "listing",
    }
