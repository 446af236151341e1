"""The drill's steps, one module each, in the order they run.

Each module has `NAME`, `run(ctx)` (reach the step's state, recorded as typed state) and
`planned(ctx)` (the mutating calls `run` makes, for `--plan`); both live side by side so the
plan cannot drift from the action (a test compares a real drill's calls with the plan).
The gate runs first: it only reads, and a refused recovery point then costs nothing.
"""

from __future__ import annotations

from recovery.drill.steps import provision, redeploy, reindex, restore, snapshot_gate, storage, verify

ORDER = (snapshot_gate, provision, restore, redeploy, storage, reindex)
STEPS = tuple(m.NAME for m in ORDER)
BY_NAME = {m.NAME: m for m in ORDER}
VERIFY = verify.NAME

__all__ = ["BY_NAME", "ORDER", "STEPS", "VERIFY"]
