"""The evidence manifest: SHA-256 of every file of a run, so a filed report can be shown unaltered.

Choice: results.json carries `manifest` for every other file of the run (it cannot hash itself);
`SHA256SUMS`, written last, lists every file including results.json in the format `sha256sum -c`
reads. Verifying a filed run: `sha256sum -c SHA256SUMS` in its directory (or `verify(dir)`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

SUMS = "SHA256SUMS"
ALGORITHM = "sha256"
HOW = (
    f"results.json lists every other file; {SUMS} (written last) lists all, results.json included: sha256sum -c {SUMS}"
)


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def manifest(run_dir: Path, names: list[str]) -> dict[str, Any]:
    """results.json `manifest`: the algorithm, each present file's digest, and how to verify."""
    files = {n: digest(run_dir / n) for n in names if (run_dir / n).is_file()}
    return {"algorithm": ALGORITHM, "files": files, "verify": HOW}


def write_sums(run_dir: Path, names: list[str]) -> None:
    lines = [f"{digest(run_dir / n)}  {n}\n" for n in names if (run_dir / n).is_file()]
    (run_dir / SUMS).write_text("".join(lines), encoding="utf-8")


def verify(run_dir: Path) -> dict[str, bool]:
    """File name -> whether its digest still matches SHA256SUMS."""
    out = {}
    for line in (run_dir / SUMS).read_text(encoding="utf-8").splitlines():
        expected, _, name = line.partition("  ")
        path = run_dir / name
        out[name] = path.is_file() and digest(path) == expected
    return out
