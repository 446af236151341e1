"""What a run covered and who ran it: suite version and commit, settings digest, operator, host.

Good: two runs with the same non-secret settings have the same digest; a secret never enters it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import subprocess
from dataclasses import fields
from importlib import metadata
from pathlib import Path
from typing import Any

from recovery.secrets import Secret
from recovery.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def suite_version() -> str:
    try:
        return metadata.version("turath-recovery")
    except metadata.PackageNotFoundError:
        return "unknown"


def commit(repo: Path = REPO) -> str | None:
    """The suite's git commit (with '-dirty' when the work tree has changes); None outside git."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head or None


def settings_digest(settings: Settings | None) -> str | None:
    """sha256 of the non-secret settings (sorted JSON); secrets and their sources left out."""
    if settings is None:
        return None
    values: dict[str, Any] = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.name == "sources" or isinstance(value, Secret):
            continue
        values[f.name] = value
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def operator() -> dict[str, str]:
    """Who ran it and from where (a CI job says so)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    where = socket.gethostname()
    ci = "CI" if os.environ.get("CI") else ""
    return {"user": user, "host": where, "ci": ci}
