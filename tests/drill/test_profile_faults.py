"""The drill on production shapes: the password it restores with is read through the reference.

On `secrets-manager` a web-ui revision that points at a secret holding a wrong password
(fault `password-mismatch`, applied to the reference) stops the drill at the restore with the
plan's §6.1 symptom, and it leaves nothing, as on the default account.
"""

from __future__ import annotations

import pytest

from recovery.drill.scan import scan
from recovery.errors import StepFailed
from tests.drill.conftest import DrillEnv
from tests.drill.test_drill_e2e import open_drill
from twin.core import Twin

pytestmark = pytest.mark.slow


def test_password_mismatch_through_a_secret_stops_the_restore(fresh_twin: Twin, drill_env: DrillEnv) -> None:
    from recovery.drill import engine

    fresh_twin.apply_profiles(("secrets-manager",))
    fresh_twin.apply_faults(("password-mismatch",))
    ctx = open_drill(fresh_twin, drill_env)
    with pytest.raises(StepFailed) as info:
        engine.run_drill(ctx)
    assert info.value.step == "restore"
    assert info.value.plan_section == "6.1", info.value
    assert "Password authentication failed" in str(info.value.symptom), info.value
    assert fresh_twin.password not in str(info.value)
    assert scan(ctx.client, "invenio", ctx.drill_id).found == []
