"""What a registered, undeployed revision changes is named without its values (ecs_service_runs_latest_revision)."""

from __future__ import annotations

from typing import Any

from recovery.aws.ecs import changed_settings


def revision(env: dict[str, str], secrets: dict[str, str], image: str = "repo/invenio:develop") -> dict[str, Any]:
    app = {
        "name": "app",
        "image": image,
        "environment": [{"name": k, "value": v} for k, v in env.items()],
        "secrets": [{"name": k, "valueFrom": v} for k, v in secrets.items()],
    }
    return {"containerDefinitions": [app, {"name": "sidecar", "image": "proxy:2", "environment": []}]}


def test_names_what_changes_and_never_a_value() -> None:
    before = revision({"RDS_DB_HOST": "db:5432", "RDS_DB_PASSWORD": "old-Secret-1"}, {"API_KEY": "arn:a"})
    after = revision(
        {"RDS_DB_HOST": "db:5432", "RDS_DB_PASSWORD": "new-Secret-2", "INVENIO_THEME_FRONTPAGE_TEMPLATE": "t.html"},
        {"API_KEY": "arn:b"},
        image="repo/invenio:latest",
    )
    changes = changed_settings(before, after, "app")
    assert changes == ["env INVENIO_THEME_FRONTPAGE_TEMPLATE", "env RDS_DB_PASSWORD", "image", "secret API_KEY"]
    assert not any(secret in " ".join(changes) for secret in ("old-Secret-1", "new-Secret-2", "t.html"))


def test_an_identical_container_changes_nothing() -> None:
    same = revision({"RDS_DB_HOST": "db:5432"}, {})
    assert changed_settings(same, revision({"RDS_DB_HOST": "db:5432"}, {}), "app") == []
    removed = changed_settings(same, revision({}, {}), "app")
    assert removed == ["env RDS_DB_HOST"]
