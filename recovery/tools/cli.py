"""`python -m recovery snapshot|s3-backup|restore-guide`: the plan's three scripts.

    python -m recovery snapshot --reason "before the v13 upgrade"   # backup_rds_manual.sh
    python -m recovery s3-backup [--verify] [--reverse] [--to-dir DIR]  # backup_s3_manual.sh
    python -m recovery restore-guide                              # restore_rds_guide.sh

Results go to stdout, progress to stderr. Exit codes: 0 good; 1 the snapshot fails the
checklist, the copy differs from the source (or could not be proven equal), or a copy failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from recovery.aws.session import Aws
from recovery.errors import ConfigError, RecoveryError
from recovery.progress import LOGGER as PROGRESS_LOGGER
from recovery.secrets import redact
from recovery.settings import Settings
from recovery.timeutil import iso
from recovery.tools import inventory, restore_guide, s3backup, snapshot

COMMANDS = ("snapshot", "s3-backup", "restore-guide")
SHOWN = 20
log = logging.getLogger(__name__)


def add_subcommands(sub: Any) -> None:
    """Add the tools' subcommands to `python -m recovery`'s subparsers."""
    p = sub.add_parser("snapshot", help="manual RDS snapshot, tagged, then the §2.1.1 checklist (backup_rds_manual.sh)")
    p.add_argument("--reason", required=True, help="why the snapshot is taken (recorded as its 'reason' tag)")
    p.add_argument("--delay", type=int, default=15, help="seconds between the waiter's polls (default 15)")
    p.add_argument("--max-attempts", type=int, default=240, help="waiter polls before giving up (default 240)")
    b = sub.add_parser("s3-backup", help="copy the files bucket to cold storage, by content (backup_s3_manual.sh)")
    b.add_argument("--to-dir", type=Path, help="a local directory instead of the cold-storage bucket")
    b.add_argument("--verify", action="store_true", help="compare only; copy nothing")
    b.add_argument("--reverse", action="store_true", help="restore: copy from the backup into the files bucket")
    b.add_argument("--workers", type=int, default=16, help="parallel copies and checksum reads (default 16)")
    b.add_argument("--storage-class", default="", help="storage class of copies in S3 (default: the bucket's)")
    b.add_argument("--json", action="store_true", help="print the comparison as JSON")
    sub.add_parser("restore-guide", help="plan §4's commands with this account's identifiers (restore_rds_guide.sh)")


def run(args: argparse.Namespace, settings: Settings, aws: Aws) -> int | None:
    """Run one of the tools' subcommands; None if `args.command` is not one of them."""
    if args.command not in COMMANDS:
        return None
    out = Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 200)
    try:
        if args.command == "snapshot":
            return _snapshot(args, settings, aws, out)
        if args.command == "s3-backup":
            return _s3_backup(args, settings, aws, out)
        sys.stdout.write(redact(restore_guide.build(aws, settings).text()))
        return 0
    except ConfigError:
        raise  # the CLI's one line naming the setting, exit 2
    except RecoveryError as exc:
        sys.stderr.write(redact(f"{args.command}: {exc}") + "\n")
        return 1


def _snapshot(args: argparse.Namespace, settings: Settings, aws: Aws, out: Console) -> int:
    with _live_progress() as _:
        result = snapshot.take(aws, settings, args.reason, delay=args.delay, max_attempts=args.max_attempts)
    r = result.row
    table = Table(title=f"§2.1.1 checklist of {result.snapshot_id} ({result.seconds:.0f} s to available)")
    for col in ("snapshot", "type", "created", "GiB", "status", "verdict", "reasons"):
        table.add_column(col)
    table.add_row(r.snapshot, r.type, iso(r.created), str(r.allocated_gib), r.status, r.verdict, "; ".join(r.reasons))
    out.print(table)
    out.print("tags: " + ", ".join(f"{k}={v}" for k, v in result.tags.items()))
    if not result.passed:
        out.print(f"FAIL: {result.snapshot_id} does not pass the §2.1.1 checklist; the drill would not restore it.")
        return 1
    return 0


def _sides(args: argparse.Namespace, settings: Settings) -> tuple[s3backup.Side, s3backup.Side, str]:
    files = s3backup.Side(bucket=settings.files_bucket)
    backup = s3backup.Side(root=args.to_dir) if args.to_dir else s3backup.Side(bucket=settings.backup_bucket)
    if not args.to_dir and not settings.backup_bucket:
        raise ConfigError("TURATH_BACKUP_BUCKET", "no cold-storage bucket configured (or pass --to-dir)")
    return (backup, files, "copy") if args.reverse else (files, backup, "source")


def db_md5s(settings: Settings) -> dict[str, str]:
    """key -> MD5 of the files bucket's objects as InvenioRDM recorded them (`files_files`, read-only)."""
    from recovery import db  # psycopg only when a pair needs the database

    ep = db.Endpoint(settings.db_host, settings.db_user, settings.db_password, settings.db_name)
    out: dict[str, str] = {}
    try:
        with db.connect(ep) as conn:
            refs = db.file_refs(conn)
    except Exception as exc:  # psycopg errors: the database is optional evidence here
        raise ConfigError("TURATH_DB_HOST", f"cannot read files_files: {type(exc).__name__}: {exc}") from None
    for uri, _size, checksum in refs:
        bucket, key = db.split_s3_uri(uri)
        if bucket == settings.files_bucket and checksum and checksum.startswith("md5:"):
            out[key] = checksum.removeprefix("md5:")
    return out


def _lister(s3: Any, settings: Settings, on_progress: s3backup.ProgressFn) -> s3backup.Lister:
    plain = s3backup.default_lister(s3, on_progress)
    if not settings.s3_inventory:
        return plain

    def listing(side: s3backup.Side) -> tuple[dict[str, s3backup.Obj], str]:
        if side.bucket and inventory.configuration(s3, side.bucket, settings.s3_inventory) is not None:
            report = inventory.read_report(s3, side.bucket, settings.s3_inventory)
            return report.objects, report.describe()
        return plain(side)

    return listing


def _s3_backup(args: argparse.Namespace, settings: Settings, aws: Aws, out: Console) -> int:
    source, target, db_side = _sides(args, settings)
    s3 = s3backup.backup_client(aws, args.workers)
    with _progress_bars() as on_progress:
        kwargs: dict[str, Any] = {
            "db_md5": lambda: db_md5s(settings),
            "db_side": db_side,
            "lister": _lister(s3, settings, on_progress),
            "workers": args.workers,
            "on_progress": on_progress,
        }
        if args.verify:
            comparison = s3backup.compare(s3, source, target, **kwargs)
            result = None
        else:
            result = s3backup.copy(s3, source, target, storage_class=args.storage_class, **kwargs)
            comparison = result.before
    if args.json:
        data = comparison.as_dict()
        if result is not None:
            data.update(copied=len(result.copied), bytes_copied=result.bytes_copied, failed=result.failed)
        out.print_json(json.dumps(data))
    else:
        _print_comparison(out, comparison)
    if result is not None:
        out.print(f"copied {len(result.copied)} objects ({result.bytes_copied} bytes) to {target.name}")
        for key, error in list(result.failed.items())[:SHOWN]:
            out.print(f"FAILED {key}: {error}")
        return 1 if result.failed else 0
    if comparison.differences or comparison.unverified:
        out.print(f"FAIL: {target.name} is not a verified copy of {source.name}")
        return 1
    return 0


def _print_comparison(out: Console, c: s3backup.Comparison) -> None:
    table = Table(title=f"{c.copy} against {c.source}")
    table.add_column("kind")
    table.add_column("objects", justify="right")
    table.add_column(f"first {SHOWN}")
    kinds: list[tuple[str, list[s3backup.Difference]]] = [
        ("missing", c.missing),
        ("size changed", c.size_changed),
        ("content changed", c.content_changed),
        ("unverified", c.unverified),
    ]
    table.add_row("same", str(c.same), ", ".join(f"{k}: {n}" for k, n in sorted(c.proofs.items())))
    for name, items in kinds:
        table.add_row(name, str(len(items)), "\n".join(f"{d.key} ({d.evidence})" for d in items[:SHOWN]))
    table.add_row("only in the copy", str(len(c.extra)), "\n".join(c.extra[:SHOWN]))
    out.print(table)
    out.print(
        f"source {c.source_objects} objects ({c.listed_from.get('source')}), "
        f"copy {c.copy_objects} ({c.listed_from.get('copy')})"
    )


@contextmanager
def _progress_bars() -> Iterator[s3backup.ProgressFn]:
    """A rich progress display on stderr, one bar per phase (listing, checksums, copy)."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int | None) -> None:
        if phase not in tasks:
            tasks[phase] = progress.add_task(phase, total=total)
        progress.update(tasks[phase], completed=done, total=total)

    with progress:
        yield update


class _EventLine(logging.Handler):
    """Progress events (recovery.progress) as one rewritten status line on stderr."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "turath_event", None)
        self.console.print(event.line() if event is not None else record.getMessage())


@contextmanager
def _live_progress() -> Iterator[None]:
    logger = logging.getLogger(PROGRESS_LOGGER)
    handler = _EventLine(Console(file=sys.stderr, soft_wrap=True, highlight=False))
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    level = logger.level
    logger.setLevel(logging.INFO)  # progress is shown whatever the root logger's level
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
        logger.setLevel(level)
