"""The Terraform state's history in its versioned bucket (plan 2.4): it only ever moves forward.

Terraform writes `serial` (incremented on every change) and `lineage` (fixed when the state is
created) into every state. A current object whose serial is lower than an earlier version's was
overwritten by an older state (a stale laptop, a restore of the wrong version); a current
object with fewer resources and another lineage was replaced by a different state. The state
holds the RDS master password (plan 2.5): only serial, lineage and the resource count are read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recovery.aws import s3 as s3_api
from recovery.timeutil import as_utc, iso

MAX_VERSIONS = 20  # the newest versions read; older history adds cost, not evidence


@dataclass(frozen=True)
class StateVersion:
    """What one version of terraform.tfstate says about itself (never its values)."""

    version_id: str
    modified: datetime
    latest: bool
    serial: int | None
    lineage: str
    resources: int

    def describe(self) -> str:
        return (
            f"version {self.version_id[:12]} ({iso(self.modified)}): serial {self.serial}, "
            f"lineage {self.lineage[:8] or '?'}, {self.resources} resource(s)"
        )


def parse(body: bytes) -> tuple[int | None, str, int]:
    """(serial, lineage, resource count) of a state document; (None, '', 0) if it is not JSON."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None, "", 0
    if not isinstance(doc, dict):
        return None, "", 0
    serial = doc.get("serial")
    return (
        (int(serial) if isinstance(serial, int) else None),
        str(doc.get("lineage") or ""),
        len(doc.get("resources") or []),
    )


def history(s3: Any, bucket: str, key: str, limit: int = MAX_VERSIONS) -> list[StateVersion]:
    """The newest `limit` versions of the state object, newest first (ListObjectVersions, GetObject)."""
    versions = [v for v in s3_api.iter_object_versions(s3, bucket, key) if v.get("Key") == key]
    versions.sort(key=lambda v: as_utc(v["LastModified"]), reverse=True)
    out = []
    for v in versions[:limit]:
        vid = str(v.get("VersionId") or "null")
        serial, lineage, resources = parse(s3_api.get_object_bytes(s3, bucket, key, None if vid == "null" else vid))
        out.append(StateVersion(vid, as_utc(v["LastModified"]), bool(v.get("IsLatest")), serial, lineage, resources))
    return out


def went_backwards(versions: list[StateVersion]) -> list[str]:
    """Why the current version is a step back from the earlier ones ([] when it is not)."""
    if not versions:
        return []
    current = next((v for v in versions if v.latest), versions[0])
    earlier = [v for v in versions if v is not current and v.modified <= current.modified]
    problems = []
    same = [v for v in earlier if v.lineage == current.lineage and v.serial is not None]
    if current.serial is None:
        problems.append(f"the current {current.describe()} is not a readable state")
        return problems
    higher = [v for v in same if v.serial is not None and v.serial > current.serial]
    if higher:
        top = max(higher, key=lambda v: v.serial or 0)
        problems.append(
            f"the current state has serial {current.serial}, lower than the earlier {top.describe()}: an older "
            "state overwrote a newer one"
        )
    previous = earlier[0] if earlier else None
    if previous is not None and current.resources < previous.resources and previous.lineage != current.lineage:
        problems.append(
            f"the current state ({current.resources} resources, lineage {current.lineage[:8] or '?'}) replaced "
            f"{previous.describe()}: fewer resources and another lineage, not a change of the same state"
        )
    elif (
        previous is not None
        and current.resources < previous.resources
        and previous.serial is not None
        and current.serial <= previous.serial
    ):
        problems.append(
            f"the current state lost {previous.resources - current.resources} resource(s) against "
            f"{previous.describe()} without a newer serial: it was edited, not changed by Terraform"
        )
    return problems
