"""Plan §3, corrected: the database's schema is the one the deployed image expects.

ECS pulls the mutable `:develop` tag whenever tasks start (plan §3): a restored (or simply older)
database can be behind the image's Alembic heads, and overlapping revisions break upgrades
(invenio-app-rdm #3548, #3194). The database's revisions are the rows of `alembic_version`
(one per branch head). What the image expects is declared with the deployment: the container
label `turath.alembic.heads` of the running task definitions (the image's CI writes the output of
`invenio alembic heads` there, through Terraform). Without that label the check skips and says so.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

import pytest

from fixtures.meta import check
from recovery.aws import ecs as ecs_api
from recovery.db import Endpoint, alembic_revisions, connect
from recovery.settings import Settings

HEADS_LABEL = "turath.alembic.heads"


def expected_heads(task_definitions: dict[str, dict[str, Any]], container: str) -> dict[str, frozenset[str]]:
    """service -> the heads its running task definition declares (services without the label left out)."""
    out = {}
    for service, td in task_definitions.items():
        found = next((c for c in td.get("containerDefinitions", []) if c.get("name") == container), {})
        raw = (found.get("dockerLabels") or {}).get(HEADS_LABEL, "")
        heads = frozenset(h for h in raw.replace(",", " ").split() if h)
        if heads:
            out[service] = heads
    return out


MIGRATE = (
    "run the migrations of the image the services run, as a one-off task through the entrypoint of the image "
    "(plan §6.3): aws ecs run-task --cluster {ecs_cluster} --task-definition %s --overrides "
    '\'{{"containerOverrides":[{{"name":"{app_container}","command":["invenio","alembic","upgrade"]}}]}}\'; '
    "or pin the image to the tag the database was migrated for"
)


@check(
    "3",
    severity="high",
    remediation=MIGRATE % "{web_ui_revision} --launch-type FARGATE --network-configuration {web_ui_network}",
)
def test_db_alembic_revision_matches_image(
    db_endpoint: Endpoint,
    running_task_definitions: dict[str, dict[str, Any]],
    ecs_services: dict[str, dict[str, Any]],
    settings: Settings,
    observed: Callable[[str], None],
    remedy: Callable[..., None],
) -> None:
    """The database's Alembic revisions (alembic_version) are the heads the running image declares."""
    declared = expected_heads(running_task_definitions, settings.app_container)
    with connect(db_endpoint) as conn:
        revisions = frozenset(alembic_revisions(conn))
    observed(f"alembic_version: {', '.join(sorted(revisions)) or 'no rows'}")
    if not declared:
        pytest.skip(
            f"no running task definition declares the image's Alembic heads (container label {HEADS_LABEL}): "
            f"the database's revisions ({', '.join(sorted(revisions))}) cannot be compared"
        )
    problems = []
    for service, heads in declared.items():
        revision = ecs_api.short(running_task_definitions[service]["taskDefinitionArn"])
        if heads == revisions:
            observed(f"{service} ({revision}) expects {', '.join(sorted(heads))}: the same")
            continue
        missing, extra = sorted(heads - revisions), sorted(revisions - heads)
        if not problems:  # the revision that failed first names the image to migrate with, placed as it runs
            where = ecs_api.run_task_placement(ecs_services.get(service, {}))
            remedy(MIGRATE % "{revision} {placement}", revision=revision, placement=shlex.join(where))
        problems.append(
            f"{service} ({revision}) expects heads {', '.join(sorted(heads))}"
            + (f"; the database lacks {', '.join(missing)} (it is behind the image)" if missing else "")
            + (f"; the database has {', '.join(extra)} the image does not know (it is ahead)" if extra else "")
        )
    assert not problems, "the database schema is not the one the deployed image expects: " + "; ".join(problems)
