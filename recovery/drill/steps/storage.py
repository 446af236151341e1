"""Step storage (plan 4 step 3): the recovered site reads the files, from production's bucket or a clone.

`read` (default): the drill's tasks read production's bucket (option 1 of the plan). `clone`:
the bucket is copied server-side into `<prefix>-drill-<id>-files` and S3_BUCKET_NAME points
there (option 2). Either way, files of restored records are downloaded through the drill's
site and hashed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from recovery import db
from recovery import site as site_api
from recovery.aws import s3 as s3_api
from recovery.drill import diagnosis
from recovery.drill.context import DrillContext, PlannedCall
from recovery.drill.state import StorageResult
from recovery.drill.steps import redeploy, restore

NAME = "storage"


def clone_bucket(ctx: DrillContext) -> tuple[str, int]:
    """Copy the files bucket into `<prefix>-drill-<id>-files` (plan 4 step 3, option 2): (bucket, objects)."""
    s3 = ctx.client("s3")
    bucket = ctx.names.files_bucket
    entry = ctx.record("s3-bucket", bucket, NAME)
    if not s3_api.bucket_exists(s3, bucket):
        region = ctx.settings.region
        loc = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **loc)
    # Tagged at once: sweep and teardown act only on what carries the drill's tag.
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": ctx.names.tag_list()})
    ctx.ledger.created(entry)
    keys = [o["Key"] for o in s3_api.iter_objects(s3, ctx.settings.files_bucket)]

    def copy(key: str) -> None:
        s3.copy({"Bucket": ctx.settings.files_bucket, "Key": key}, bucket, key)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(copy, keys))
    return bucket, len(keys)


def run(ctx: DrillContext) -> None:
    env = ctx.require(ctx.state.environment, NAME)
    bucket, cloned = ctx.settings.files_bucket, None
    if ctx.options.drill_storage == "clone":
        bucket, cloned = clone_bucket(ctx)
        redeploy.roll_out(ctx, {"S3_BUCKET_NAME": bucket}, NAME)
    result = StorageResult(mode=ctx.options.drill_storage, bucket=bucket, cloned_objects=cloned)
    ctx.state.storage = result
    with restore.restored_db(ctx) as conn:
        samples = db.sample_files(conn)
    if not samples:
        # An empty restore (plan 6.2) has no file to read: storage is unproven, not broken; the
        # download check says so and the data checks say why.
        return
    for sample in samples:
        got = site_api.download_record_file(env.site_url, sample["recid"], sample["key"], env.site_address)
        got.update(expected=sample["checksum"], size=sample["size"], uri=sample["uri"])
        got["ok"] = got.get("status") == 200 and got.get("md5") == sample["checksum"]
        result.samples.append(got)
    ctx.save()
    if not any(r.get("status") == 200 for r in result.samples):
        found = diagnosis.storage_unreadable(ctx, bucket, result.samples)
        raise found.failed(NAME, {"samples": result.samples})


def planned(ctx: DrillContext) -> list[PlannedCall]:
    if ctx.options.drill_storage != "clone":
        return []
    s, n = ctx.settings, ctx.names
    calls = [
        PlannedCall(NAME, "s3", "CreateBucket", n.files_bucket),
        PlannedCall(NAME, "s3", "PutBucketTagging", n.files_bucket, "drill-id"),
        PlannedCall(NAME, "s3", "CopyObject", n.files_bucket, f"every object of {s.files_bucket}"),
    ]
    for svc in s.ecs_services:
        calls.append(
            PlannedCall(NAME, "ecs", "RegisterTaskDefinition", n.family(svc), f"S3_BUCKET_NAME={n.files_bucket}")
        )
        calls.append(PlannedCall(NAME, "ecs", "UpdateService", n.service(svc), "--task-definition <new>"))
    return calls
