"""Drill ids, names and tags: what the guard, leak check and sweep recognise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from recovery.drill.naming import ID_RE, DrillNames, drill_id_of, new_drill_id
from recovery.errors import ConfigError

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_new_ids_are_short_and_distinct() -> None:
    ids = {new_drill_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(ID_RE.match(i) for i in ids)


def test_names_follow_prefix_drill_id_role() -> None:
    n = DrillNames("invenio", "dab12cd", NOW)
    assert n.cluster == "invenio-drill-dab12cd-cluster"
    assert n.db_instance == "invenio-drill-dab12cd-db"
    assert n.load_balancer == "invenio-drill-dab12cd-alb"
    assert len(n.target_group("api")) <= 32
    assert n.log_group("web-ui") == "/invenio-drill-dab12cd/web-ui"
    assert n.tags() == {"drill-id": "dab12cd", "drill-created": "2026-11-24T12:00:00Z", "managed-by": "turath-recovery"}
    assert {"key": "drill-id", "value": "dab12cd"} in n.ecs_tags()


@pytest.mark.parametrize(
    ("identifier", "owned"),
    [
        ("invenio-drill-dab12cd-db", True),
        ("arn:aws:rds:eu-central-1:123456789012:db:invenio-drill-dab12cd-db", True),
        ("arn:aws:ecs:eu-central-1:1:service/invenio-drill-dab12cd-cluster/invenio-drill-dab12cd-web-ui", True),
        ("arn:aws:ecs:eu-central-1:1:task-definition/invenio-drill-dab12cd-web-ui:3", True),
        ("arn:aws:elasticloadbalancing:eu-central-1:1:loadbalancer/app/invenio-drill-dab12cd-alb/abc", True),
        ("/invenio-drill-dab12cd/web-ui", True),
        ("invenio-default-rds", False),
        ("invenio-drill-dzzzzzz-db", False),  # another drill
        ("xinvenio-drill-dab12cd-db", False),
        ("invenio-default-cluster", False),
        ("/invenio/drill-lock", False),
    ],
)
def test_owns_only_this_drills_resources(identifier: str, owned: bool) -> None:
    assert DrillNames("invenio", "dab12cd", NOW).owns(identifier) is owned


def test_drill_id_of_reads_any_drill() -> None:
    assert drill_id_of("invenio-drill-dzzzzzz-files", "invenio") == "dzzzzzz"
    assert drill_id_of("invenio-default-files", "invenio") is None


def test_bad_id_and_long_prefix_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="drill id"):
        DrillNames("invenio", "D-BAD", NOW)
    with pytest.raises(ConfigError, match="32 characters"):
        _ = DrillNames("turath-invenio1", "dab12cd", NOW).target_group("api")
