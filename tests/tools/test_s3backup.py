"""s3-backup (backup_s3_manual.sh): copy, verify by content, reverse, resume, local directory."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from recovery.tools import s3backup
from recovery.tools.cli import db_md5s
from recovery.tools.s3backup import Side
from twin.core import Twin


def _keys(s3: Any, bucket: str) -> dict[str, str]:
    return {k: o.etag for k, o in s3backup.list_bucket(s3, bucket).items()}


def _mutate(s3: Any, bucket: str, keys: list[str]) -> tuple[str, str, str]:
    """One key deleted, one rewritten with another size, one rewritten with the same size, other bytes."""
    gone, grown, same_size = keys[:3]
    s3.delete_object(Bucket=bucket, Key=gone)
    s3.put_object(Bucket=bucket, Key=grown, Body=b"%PDF-1.4 not the book at all")
    body = s3.get_object(Bucket=bucket, Key=same_size)["Body"].read()
    s3.put_object(Bucket=bucket, Key=same_size, Body=bytes(reversed(body)))
    return gone, grown, same_size


def test_copy_then_verify_is_identical_by_content(cli: Any, twin: Twin, small_files: Any, scratch_bucket: Any) -> None:
    files, backup = small_files(60), scratch_bucket()
    buckets = ("--set", f"TURATH_FILES_BUCKET={files}", "--set", f"TURATH_BACKUP_BUCKET={backup}")
    first = cli(*buckets, "s3-backup", "--json")
    assert first.code == 0, first.err
    assert '"copied": 60' in first.out
    s3 = twin.client("s3")
    assert _keys(s3, backup) == _keys(s3, files)  # CopyObject keeps single-part ETags: same MD5s
    verified = cli(*buckets, "s3-backup", "--verify")
    assert verified.code == 0, verified.out
    assert "etag-md5: 60" in verified.out
    again = cli(*buckets, "s3-backup", "--json")
    assert '"copied": 0' in again.out  # incremental: nothing differs, nothing is copied


def test_verify_reports_each_kind_of_difference_and_copy_repairs_them(
    tools_env: Any, small_files: Any, scratch_bucket: Any
) -> None:
    backup = scratch_bucket()
    settings, aws = tools_env(TURATH_FILES_BUCKET=small_files(60), TURATH_BACKUP_BUCKET=backup)
    s3 = aws.client("s3")
    files, copy = Side(bucket=settings.files_bucket), Side(bucket=backup)
    s3backup.copy(s3, files, copy)
    gone, grown, same_size = _mutate(s3, backup, sorted(_keys(s3, backup))[10:13])
    s3.put_object(Bucket=backup, Key="only-in-the-copy", Body=b"x")

    found = s3backup.compare(s3, files, copy)

    assert [d.key for d in found.missing] == [gone]
    assert [d.key for d in found.size_changed] == [grown]
    assert [d.key for d in found.content_changed] == [same_size]
    assert "etag-md5" in found.content_changed[0].evidence
    assert found.extra == ["only-in-the-copy"]
    assert not found.unverified
    repaired = s3backup.copy(s3, files, copy)
    assert sorted(repaired.copied) == sorted([gone, grown, same_size])
    assert s3backup.compare(s3, files, copy).identical


def test_verify_exit_code_and_output_name_the_differences(
    cli: Any, twin: Twin, small_files: Any, scratch_bucket: Any
) -> None:
    files, backup = small_files(30), scratch_bucket()
    buckets = ("--set", f"TURATH_FILES_BUCKET={files}", "--set", f"TURATH_BACKUP_BUCKET={backup}")
    assert cli(*buckets, "s3-backup").code == 0
    gone, grown, same_size = _mutate(twin.client("s3"), backup, sorted(_keys(twin.client("s3"), backup))[:3])
    run = cli(*buckets, "s3-backup", "--verify", "--json")
    assert run.code == 1
    assert f'"missing": [\n    "{gone}"' in run.out
    assert f'"size_changed": [\n    "{grown}"' in run.out
    assert f'"content_changed": [\n    "{same_size}"' in run.out


def test_reverse_restores_the_files_bucket_from_the_copy(
    cli: Any, twin: Twin, small_files: Any, scratch_bucket: Any
) -> None:
    production, backup = small_files(40), scratch_bucket()
    s3 = twin.client("s3")
    buckets = ("--set", f"TURATH_FILES_BUCKET={production}", "--set", f"TURATH_BACKUP_BUCKET={backup}")
    assert cli(*buckets, "s3-backup").code == 0
    original = _keys(s3, production)
    _mutate(s3, production, sorted(original)[5:8])  # the disaster: one file lost, two overwritten
    assert cli(*buckets, "s3-backup", "--verify").code == 1

    restored = cli(*buckets, "s3-backup", "--reverse", "--json")

    assert restored.code == 0, restored.err
    assert '"copied": 3' in restored.out
    assert _keys(s3, production) == original
    assert cli(*buckets, "s3-backup", "--verify").code == 0


def test_an_interrupted_copy_resumes_where_it_stopped(tools_env: Any, small_files: Any, scratch_bucket: Any) -> None:
    backup = scratch_bucket()
    settings, aws = tools_env(TURATH_FILES_BUCKET=small_files(120), TURATH_BACKUP_BUCKET=backup)
    s3 = aws.session.client("s3", endpoint_url=settings.endpoint_url)  # a client of its own for the hook
    calls = {"n": 0}

    def interrupt_after_50(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] > 50:
            raise KeyboardInterrupt

    s3.meta.events.register("before-call.s3.CopyObject", interrupt_after_50)
    files, copy = Side(bucket=settings.files_bucket), Side(bucket=backup)
    with pytest.raises(KeyboardInterrupt):
        s3backup.copy(s3, files, copy, workers=4)
    s3.meta.events.unregister("before-call.s3.CopyObject", interrupt_after_50)
    present = set(_keys(s3, backup))
    total = len(_keys(s3, settings.files_bucket))
    assert 50 <= len(present) < total

    resumed = s3backup.copy(s3, files, copy, workers=4)

    assert len(resumed.copied) == total - len(present)  # nothing copied twice
    assert not present & set(resumed.copied)
    assert s3backup.compare(s3, files, copy).identical


def test_local_directory_copy_verify_and_tamper(tools_env: Any, small_files: Any, tmp_path: Path) -> None:
    settings, aws = tools_env(TURATH_FILES_BUCKET=small_files(40))
    s3 = aws.client("s3")
    target = tmp_path / "cold"
    files, local = Side(bucket=settings.files_bucket), Side(root=target)
    done = s3backup.copy(s3, files, local)
    assert not done.failed
    assert s3backup.compare(s3, files, local).identical
    victim = sorted(done.copied)[7]
    path = target / victim
    path.write_bytes(bytes(reversed(path.read_bytes())))  # same size, other bytes

    found = s3backup.compare(s3, files, local)

    assert [d.key for d in found.content_changed] == [victim]
    assert s3backup.copy(s3, files, local).copied == [victim]
    assert hashlib.md5(path.read_bytes()).hexdigest() == s3.head_object(Bucket=files.bucket, Key=victim)["ETag"].strip(
        '"'
    )


def test_the_databases_md5_proves_a_multipart_object(tools_env: Any, scratch_bucket: Any, tmp_path: Path) -> None:
    """A multipart ETag is no MD5: the MD5 InvenioRDM stored stands in for the files bucket's side."""
    settings, aws = tools_env()
    s3 = aws.client("s3")
    production = scratch_bucket()
    stored = db_md5s(settings)
    key = sorted(stored)[3]
    body = s3.get_object(Bucket=settings.files_bucket, Key=key)["Body"].read()
    upload = s3.create_multipart_upload(Bucket=production, Key=key)
    part = s3.upload_part(Bucket=production, Key=key, PartNumber=1, UploadId=upload["UploadId"], Body=body)
    s3.complete_multipart_upload(
        Bucket=production,
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert s3.head_object(Bucket=production, Key=key)["ETag"].endswith('-1"')
    local = Side(root=tmp_path / "cold")
    s3backup.copy(s3, Side(bucket=production), local, db_md5=lambda: stored)
    same = s3backup.compare(s3, Side(bucket=production), local, db_md5=lambda: stored)
    assert same.identical
    assert same.proofs == {"db-md5": 1}
    path = tmp_path / "cold" / key
    path.write_bytes(bytes(reversed(path.read_bytes())))
    changed = s3backup.compare(s3, Side(bucket=production), local, db_md5=lambda: stored)
    assert [d.key for d in changed.content_changed] == [key]
    without_db = s3backup.compare(s3, Side(bucket=production), local, db_md5=None)
    assert [d.key for d in without_db.unverified] == [key]  # never reported equal without proof


def _multipart(s3: Any, bucket: str, key: str, body: bytes) -> None:
    """A one-part multipart upload with a SHA256 checksum: its ETag is `<hash>-1`, not an MD5."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")
    part = s3.upload_part(
        Bucket=bucket, Key=key, PartNumber=1, UploadId=upload["UploadId"], Body=body, ChecksumAlgorithm="SHA256"
    )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]}]},
    )


def test_the_s3_checksum_proves_objects_whose_etags_are_not_md5s(twin: Twin, scratch_bucket: Any) -> None:
    source, copy = scratch_bucket(), scratch_bucket()
    s3 = twin.client("s3")
    bodies = {f"files/{i}/data": f"%PDF-1.4 book {i} ".encode() * 40 for i in range(3)}
    for key, body in bodies.items():
        _multipart(s3, source, key, body)
        _multipart(s3, copy, key, body)
    changed = "files/1/data"
    _multipart(s3, copy, changed, bytes(reversed(bodies[changed])))
    assert s3.head_object(Bucket=copy, Key=changed)["ETag"].endswith('-1"')

    found = s3backup.compare(s3, Side(bucket=source), Side(bucket=copy))

    assert [d.key for d in found.content_changed] == [changed]
    assert found.same == 2
    assert found.proofs == {"sha256": 3}


def test_objects_over_the_copy_limit_are_copied_part_by_part_server_side(
    tools_env: Any, small_files: Any, scratch_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above CopyObject's 5 GiB limit boto3's managed copy sends UploadPartCopy (the limit lowered here)."""
    monkeypatch.setattr(s3backup, "MULTIPART_COPY_THRESHOLD", 1)
    settings, aws = tools_env()
    s3 = aws.session.client("s3", endpoint_url=settings.endpoint_url)
    calls: dict[str, int] = {}

    def count(event_name: str, **_: Any) -> None:
        calls[event_name.rsplit(".", 1)[-1]] = calls.get(event_name.rsplit(".", 1)[-1], 0) + 1

    s3.meta.events.register("before-call.s3", count)
    source, backup = small_files(5), scratch_bucket()

    done = s3backup.copy(s3, Side(bucket=source), Side(bucket=backup), workers=2)

    assert len(done.copied) == 5
    assert calls.get("UploadPartCopy") == 5
    assert "GetObject" not in calls  # nothing downloaded
    assert "CopyObject" not in calls
    after = s3backup.compare(s3, Side(bucket=source), Side(bucket=backup))
    # a multipart copy's ETag is no MD5: without a shared checksum or the database it is not proven equal
    assert len(after.unverified) == 5
    assert not after.differences
