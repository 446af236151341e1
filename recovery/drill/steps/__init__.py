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
# Long operations started before an earlier, independent step runs: the database restores (20-40
# minutes on AWS) while the drill's cluster, load balancer and services are provisioned (about 3).
# The later step's `start(ctx)` makes the call; its `run(ctx)` then waits for it (plan §4: nothing
# in provisioning needs the restored instance, nor the restore anything provisioned).
STARTS_BEFORE = {provision.NAME: (restore,)}

__all__ = ["BY_NAME", "ORDER", "STARTS_BEFORE", "STEPS", "VERIFY"]
