"""The recovery drill of plan section 4: steps, snapshot gate, guard, ledger, clock, teardown, sweep.

Used by the pytest plugin `fixtures/drill.py` and by `python -m recovery drill|sweep|plan`.
"""

from recovery.drill.clock import DrillClock, Phase
from recovery.drill.context import DrillAws, DrillContext, DrillOptions, check_account
from recovery.drill.guard import Guard, UnsafeCall
from recovery.drill.ledger import Entry, Ledger
from recovery.drill.lock import LockHeld
from recovery.drill.naming import DrillNames, new_drill_id
from recovery.drill.steps import STEPS, PlannedCall, begin, finish, plan, run_drill, run_step, summary, verify
from recovery.drill.sweep import sweep
from recovery.gate import GateDecision, GateRow

__all__ = [
    "STEPS",
    "DrillAws",
    "DrillClock",
    "DrillContext",
    "DrillNames",
    "DrillOptions",
    "Entry",
    "GateDecision",
    "GateRow",
    "Guard",
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
    "run_drill",
    "run_step",
    "summary",
    "sweep",
    "verify",
]
