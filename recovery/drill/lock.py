"""One drill per target at a time: an SSM parameter `/<prefix>/drill-lock` created with Overwrite=False.

Why SSM: creating a parameter that already exists fails atomically, it needs no table of its
own, and it touches nothing of production (tagging the production instance would be a change to
production, which the drill never makes). The parameter holds the drill id and start time, is
tagged like every drill resource, and is released (deleted) at teardown only by its holder.
A lock left by a killed drill is removed by `python -m recovery sweep` once it is old enough.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from botocore.exceptions import ClientError

from recovery.aws.session import error_code
from recovery.drill.context import DrillContext, lock_name
from recovery.drill.ledger import DELETED, GONE
from recovery.errors import RecoveryError
from recovery.timeutil import iso, utcnow

KIND = "drill-lock"


class LockHeld(RecoveryError):
    """Another drill holds the target's drill lock."""


def holder(ssm: Any, name: str) -> dict[str, Any] | None:
    """The lock's content ({'drill_id', 'started', 'host'}) or None if nobody holds it."""
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return None
        raise
    try:
        data = json.loads(value)
    except ValueError:
        data = {"drill_id": value}
    return data if isinstance(data, dict) else {"drill_id": str(data)}


def acquire(ctx: DrillContext, step: str) -> None:
    ssm = ctx.client("ssm")
    name = lock_name(ctx.names.prefix)
    current = holder(ssm, name)
    if current is not None and current.get("drill_id") == ctx.drill_id:
        return  # resuming our own drill
    entry = ctx.record(KIND, name, step, drill_id=ctx.drill_id)
    value = json.dumps({"drill_id": ctx.drill_id, "started": iso(utcnow()), "host": socket.gethostname()})
    try:
        ssm.put_parameter(
            Name=name,
            Value=value,
            Type="String",
            Overwrite=False,
            Description="Turath recovery drill lock: one drill per target at a time",
            Tags=ctx.names.tag_list(),
        )
    except ClientError as exc:
        if error_code(exc) != "ParameterAlreadyExists":
            raise
        other = holder(ssm, name) or {}
        entry.status, entry.outcome = GONE, "held by another drill; never ours"
        ctx.save()
        raise LockHeld(
            f"drill {other.get('drill_id', '?')} (started {other.get('started', '?')} on {other.get('host', '?')}) "
            f"holds {name}; wait for it, or if it died: python -m recovery sweep --apply"
        ) from None
    ctx.ledger.created(entry)


def release(ssm: Any, name: str, drill_id: str) -> str:
    """Delete the lock if `drill_id` holds it; GONE if it is free or someone else's."""
    current = holder(ssm, name)
    if current is None or current.get("drill_id") != drill_id:
        return GONE
    try:
        ssm.delete_parameter(Name=name)
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return GONE
        raise
    return DELETED
