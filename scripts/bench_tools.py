"""Benchmark of `s3-backup --verify` (issue 12, item 5): ratios measured side by side in one run.

    python scripts/bench_tools.py                  # 5,000 objects per bucket, 3 rounds: about 1.5 min on 2 idle cores
    python scripts/bench_tools.py --objects 100000 # the issue's figure

One moto server (ThreadedMotoServer, in this process) holds a files bucket and an identical copy,
seeded through moto's backend (about 100x faster than PUTs). Measured in the same run:

- the listing floor: boto3 listing both buckets (ListObjectsV2) concurrently, as s3-backup does,
  with boto3's default client and with s3-backup's own (timestamps parsed by the C parser);
- s3-backup's comparison, in this process (the library call the CLI makes) and as the CLI
  (`python -m recovery s3-backup --verify`, a process of its own);
- `aws s3 sync --dryrun` over the same buckets (a process of its own, like the CLI);
- then 10 objects deleted from the copy, 10 rewritten with another size and 10 rewritten with
  the same size and other bytes: which of the 30 each tool reports.

Targets: verify <= 1.2x the listing floor; the CLI faster than `aws s3 sync --dryrun`; s3-backup
reports exactly the 30 differences by kind, sync misses the 10 same-size ones.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from moto.backends import get_backend
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recovery.tools import s3backup  # noqa: E402
from recovery.tools.s3backup import Side  # noqa: E402

log = logging.getLogger("bench_tools")
ACCOUNT = "123456789012"
REGION = "eu-central-1"
SOURCE, COPY = "bench-files", "bench-cold-storage"
CREDS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION}


def body(i: int, rng: random.Random) -> bytes:
    """A small deterministic 'file' of 200-1,200 bytes."""
    return (f"%PDF-1.4 object {i} ".encode() + rng.randbytes(rng.randint(200, 1200))).ljust(200, b" ")


def key(i: int) -> str:
    digest = hashlib.sha1(str(i).encode(), usedforsecurity=False).hexdigest()
    return f"files/{digest[:2]}/{digest[2:4]}/{digest[4:8]}-{digest[8:12]}-{digest[12:24]}/data"


def seed(endpoint: str, n: int) -> list[str]:
    s3 = client(endpoint)
    for bucket in (SOURCE, COPY):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    backend = get_backend("s3")[ACCOUNT]["global"]  # type: ignore[index]
    rng = random.Random(12)
    keys = []
    for i in range(n):
        data = body(i, rng)
        k = key(i)
        backend.put_object(SOURCE, k, data)
        keys.append(k)
    for k in keys:  # the copy is written after the source: newer, as a backup is
        backend.put_object(COPY, k, backend.get_object(SOURCE, k).value)
    return keys


def client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 4, "mode": "standard"}),
    )


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds over `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def rounds(measures: dict[str, Callable[[], Any]], repeat: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Each measurement once per round, rounds repeated: medians, so load on a shared machine hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in measures}
    last: dict[str, Any] = {}
    for r in range(repeat):
        for name, fn in measures.items():
            t0 = time.perf_counter()
            last[name] = fn()
            times[name].append(time.perf_counter() - t0)
        log.info("round %d of %d: %s", r + 1, repeat, ", ".join(f"{n} {t[-1]:.1f}s" for n, t in times.items()))
    return {name: statistics.median(t) for name, t in times.items()}, last


def list_keys(s3: Any, bucket: str) -> int:
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        n += len(page.get("Contents", []))
    return n


def floor_concurrent(s3: Any) -> int:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return sum(pool.map(lambda b: list_keys(s3, b), (SOURCE, COPY)))


def cli_verify(endpoint: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURATH_", "AWS_"))}
    env.update(
        CREDS,
        TURATH_TARGET="aws",
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=REGION,
        TURATH_FILES_BUCKET=SOURCE,
        TURATH_BACKUP_BUCKET=COPY,
        PYTHONPATH=str(ROOT),
    )
    with tempfile.TemporaryDirectory() as empty:  # no .env where it runs
        proc = subprocess.run(
            [sys.executable, "-m", "recovery", "s3-backup", "--verify", "--json"],
            cwd=empty,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if "{" not in proc.stdout:
        raise RuntimeError(f"s3-backup --verify exited {proc.returncode}: {proc.stderr[-2000:]}")
    return dict(json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index("{") :])[0])


def aws_sync(endpoint: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(CREDS)
    proc = subprocess.run(
        ["aws", "s3", "sync", "--dryrun", "--endpoint-url", endpoint, f"s3://{SOURCE}", f"s3://{COPY}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    prefix = f"s3://{SOURCE}/"
    return {line.split(prefix, 1)[1].split(" to ", 1)[0] for line in proc.stdout.splitlines() if prefix in line}


def mutate(endpoint: str, keys: list[str]) -> dict[str, set[str]]:
    """10 missing, 10 with another size, 10 with the same size and other bytes, in the copy."""
    s3 = client(endpoint)
    picked = random.Random(7).sample(keys, 30)
    missing, sized, content = set(picked[:10]), set(picked[10:20]), set(picked[20:])
    for k in missing:
        s3.delete_object(Bucket=COPY, Key=k)
    for k in sized:
        s3.put_object(Bucket=COPY, Key=k, Body=b"a different, shorter file")
    for k in content:
        data = s3.get_object(Bucket=COPY, Key=k)["Body"].read()
        s3.put_object(Bucket=COPY, Key=k, Body=bytes(reversed(data)))
    return {"missing": missing, "size_changed": sized, "content_changed": content}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=5_000, help="objects per bucket (default 5,000)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the timings; medians are shown (default 3)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "moto", "recovery"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    t0 = time.perf_counter()
    keys = seed(endpoint, args.objects)
    log.info("seeded 2 x %d objects in %.1f s", args.objects, time.perf_counter() - t0)
    s3 = client(endpoint)

    fast = s3backup.fast_timestamps(client(endpoint))  # the client s3-backup makes for itself
    times, last = rounds(
        {
            "floor": lambda: floor_concurrent(s3),
            "floor_fast": lambda: floor_concurrent(fast),
            "verify_lib": lambda: s3backup.compare(fast, Side(bucket=SOURCE), Side(bucket=COPY)),
            "verify_cli": lambda: cli_verify(endpoint),
            "sync": lambda: aws_sync(endpoint),
        },
        args.repeat,
    )
    floor_c, floor_f, verify_lib = times["floor"], times["floor_fast"], times["verify_lib"]
    verify_cli, sync_t = times["verify_cli"], times["sync"]
    assert last["floor"] == 2 * args.objects, last["floor"]
    assert last["verify_lib"].identical, last["verify_lib"].as_dict()
    assert last["verify_lib"].same == args.objects, last["verify_lib"].as_dict()
    assert not last["verify_cli"]["missing"], last["verify_cli"]
    assert not last["verify_cli"]["content_changed"], last["verify_cli"]
    assert not last["sync"], f"aws s3 sync saw differences in an identical copy: {sorted(last['sync'])[:5]}"
    log.info("identical copy measured; now 10 missing, 10 size-changed, 10 content-changed")

    seeded = mutate(endpoint, keys)
    diff_t, found = timed(lambda: s3backup.compare(fast, Side(bucket=SOURCE), Side(bucket=COPY)), 1)
    diff_cli = cli_verify(endpoint)
    sync_diff_t, synced_diff = timed(lambda: aws_sync(endpoint), 1)
    server.stop()

    ours = {
        "missing": {d.key for d in found.missing},
        "size_changed": {d.key for d in found.size_changed},
        "content_changed": {d.key for d in found.content_changed},
    }
    cli_same = all(set(diff_cli[kind]) == seeded[kind] for kind in seeded)
    figures = {
        "objects_per_bucket": args.objects,
        "listing_floor_concurrent_s": round(floor_c, 2),
        "listing_floor_fast_timestamps_s": round(floor_f, 2),
        "verify_library_s": round(verify_lib, 2),
        "verify_cli_s": round(verify_cli, 2),
        "aws_s3_sync_dryrun_s": round(sync_t, 2),
        "verify_over_floor": round(verify_lib / floor_c, 2),
        "verify_over_fast_floor": round(verify_lib / floor_f, 2),
        "verify_cli_over_sync": round(verify_cli / sync_t, 2),
        "differences_exact": ours == seeded and cli_same,
        "sync_found": len(synced_diff),
        "sync_missed_content_changed": len(seeded["content_changed"] - synced_diff),
    }
    w = sys.stdout.write
    w(
        f"s3-backup --verify at {args.objects:,} objects per bucket, one moto server "
        f"(medians of {args.repeat} interleaved rounds)\n\n"
    )
    w("| measurement | seconds | ratio | target |\n|---|---|---|---|\n")
    w(f"| listing floor: boto3 lists both buckets concurrently | {floor_c:.2f} | 1.00 | |\n")
    w(
        f"| same, with s3-backup's client (timestamps parsed by `datetime.fromisoformat`) | {floor_f:.2f} | "
        f"{floor_f / floor_c:.2f} | |\n"
    )
    ok = "met" if verify_lib <= 1.2 * floor_c else "MISSED"
    ratio = verify_lib / floor_c
    w(f"| s3-backup compare (library, in process) | {verify_lib:.2f} | {ratio:.2f} x floor | <= 1.2 ({ok}) |\n")
    ok = "met" if verify_cli < sync_t else "MISSED"
    w(
        f"| `python -m recovery s3-backup --verify` (own process) | {verify_cli:.2f} | "
        f"{verify_cli / sync_t:.2f} x sync | < 1 ({ok}) |\n"
    )
    w(f"| `aws s3 sync --dryrun` (own process) | {sync_t:.2f} | 1.00 | |\n\n")
    w("With 10 objects missing, 10 changed in size, 10 changed in content only (same size):\n\n")
    w("| tool | missing | size changed | content changed | seconds |\n|---|---|---|---|---|\n")
    w(
        f"| s3-backup --verify | {len(ours['missing'] & seeded['missing'])}/10 | "
        f"{len(ours['size_changed'] & seeded['size_changed'])}/10 | "
        f"{len(ours['content_changed'] & seeded['content_changed'])}/10 | {diff_t:.2f} |\n"
    )
    w(
        f"| aws s3 sync --dryrun | {len(synced_diff & seeded['missing'])}/10 | "
        f"{len(synced_diff & seeded['size_changed'])}/10 | "
        f"{len(synced_diff & seeded['content_changed'])}/10 | {sync_diff_t:.2f} |\n\n"
    )
    w(f"s3-backup reports exactly the seeded differences by kind (library and CLI): {figures['differences_exact']}\n")
    if args.json:
        w(json.dumps(figures) + "\n")
    return 0 if figures["differences_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
