"""The recovery drill of plan section 4: engine, steps (one module each), typed state, guard, ledger,
lock, preflight validation, clock, teardown and sweep.

Used by the pytest plugin `fixtures/drill.py` and by `python -m recovery drill|plan|sweep`.
"""

from recovery.drill.clock import DrillClock, Phase
from recovery.drill.context import DrillAws, DrillContext, DrillOptions, PlannedCall, check_account
from recovery.drill.engine import begin, finish, plan, refused, run_drill, run_step, summary
from recovery.drill.guard import Guard, UnsafeCall
from recovery.drill.ledger import Entry, Ledger
from recovery.drill.lock import LockHeld
from recovery.drill.naming import DrillNames, new_drill_id
from recovery.drill.preflight import InvalidDrill
from recovery.drill.state import DrillState
from recovery.drill.steps import STEPS
from recovery.drill.sweep import DrillAlive, sweep

__all__ = [
    "STEPS",
    "DrillAlive",
    "DrillAws",
    "DrillClock",
    "DrillContext",
    "DrillNames",
    "DrillOptions",
    "DrillState",
    "Entry",
    "Guard",
    "InvalidDrill",
    "Ledger",
    "LockHeld",
    "Phase",
    "PlannedCall",
    "UnsafeCall",
    "begin",
    "check_account",
    "finish",
    "new_drill_id",
    "plan",
    "refused",
    "run_drill",
    "run_step",
    "summary",
    "sweep",
]
