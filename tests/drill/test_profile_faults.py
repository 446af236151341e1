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


@pytest.mark.parametrize("where", ["environment", "secrets"])
def test_a_full_database_uri_stops_the_redeploy(where: str) -> None:
    """The drill rewires RDS_DB_*; a URI naming production's host must not reach a drill task, from anywhere."""
    from recovery.drill.steps import redeploy

    entry = (
        {"name": redeploy.URI, "value": "postgresql+psycopg2://u:p@prod:5432/invenio"}
        if where == "environment"
        else {"name": redeploy.URI, "valueFrom": "arn:aws:ssm:eu-central-1:123456789012:parameter/invenio/uri"}
    )
    td = {"taskDefinitionArn": "arn:aws:ecs:eu-central-1:1:task-definition/x:3", "containerDefinitions": []}
    td["containerDefinitions"] = [{"name": "app", where: [entry]}]
    with pytest.raises(StepFailed) as info:
        redeploy._refuse_database_uri(td, "app", redeploy.NAME)
    assert info.value.plan_section == "2.5"
    assert "p@prod" not in str(info.value)
    redeploy._refuse_database_uri(td, "sidecar", redeploy.NAME)  # another container's settings are not the app's
