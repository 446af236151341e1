"""Settings: precedence CLI > environment > .env > defaults, validation, and no os.environ edits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recovery.errors import ConfigError
from recovery.settings import SPEC, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_are_the_plans_identifiers(tmp_path: Path) -> None:
    s = load_settings(environ={}, dotenv_path=tmp_path / "absent.env")
    assert s.target == "twin"
    assert s.rds_instance == "invenio-default-rds"
    assert s.ecs_cluster == "invenio-default-cluster"
    assert s.ecs_services == ("web-ui", "web-api", "worker")
    assert s.web_services == ("web-ui", "web-api")
    assert s.log_group == "/invenio-default/web-ui"
    assert s.db_user == "inveniordm_user"
    assert s.retention_days == 7
    assert s.backup_window_text == "03:00-06:00"
    assert s.rpo_seconds == 300


def test_precedence_cli_over_env_over_dotenv_over_default(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("TURATH_RDS_INSTANCE=from-dotenv\nTURATH_ECS_CLUSTER=cluster-dotenv\nTURATH_RETENTION_DAYS=9\n")
    environ = {"TURATH_RDS_INSTANCE": "from-env", "TURATH_ECS_CLUSTER": "cluster-env"}
    s = load_settings(cli={"rds_instance": "from-cli"}, environ=environ, dotenv_path=dotenv)
    assert s.rds_instance == "from-cli"
    assert s.ecs_cluster == "cluster-env"
    assert s.retention_days == 9
    assert s.files_bucket == "invenio-default-files"
    assert s.sources["rds_instance"] == "command line"
    assert s.sources["ecs_cluster"] == "environment"
    assert s.sources["retention_days"] == ".env"
    assert s.sources["files_bucket"] == "default"


def test_dotenv_is_read_without_touching_os_environ(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("TURATH_UNIQUE_PROBE_KEY=1\nTURATH_MIN_USERS=5\n")
    before = dict(os.environ)
    s = load_settings(environ={}, dotenv_path=dotenv)
    assert s.min_users == 5
    assert dict(os.environ) == before


def test_settings_are_frozen(tmp_path: Path) -> None:
    s = load_settings(environ={}, dotenv_path=None)
    with pytest.raises(AttributeError):
        s.target = "aws"  # type: ignore[misc]


def test_password_is_masked_in_repr(tmp_path: Path) -> None:
    s = load_settings(environ={"TURATH_DB_PASSWORD": "correct-horse-battery"}, dotenv_path=None)
    assert "correct-horse-battery" not in repr(s)
    assert "correct-horse-battery" not in str(s.describe())
    assert s.db_password.reveal() == "correct-horse-battery"


@pytest.mark.parametrize(
    ("environ", "setting"),
    [
        ({"TURATH_TARGET": "mars"}, "TURATH_TARGET"),
        ({"AWS_REGION": ""}, "AWS_REGION"),
        ({"AWS_REGION": "moon"}, "AWS_REGION"),
        ({"TURATH_BACKUP_WINDOW": "3am"}, "TURATH_BACKUP_WINDOW"),
        ({"TURATH_RETENTION_DAYS": "seven"}, "TURATH_RETENTION_DAYS"),
        ({"TURATH_ECS_SERVICES": " , "}, "TURATH_ECS_SERVICES"),
        ({"TURATH_SITE_URL": "invenio.turath-project.com"}, "TURATH_SITE_URL"),
        ({"TURATH_VERIFY_TLS": "maybe"}, "TURATH_VERIFY_TLS"),
    ],
)
def test_bad_values_name_the_setting(environ: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ=environ, dotenv_path=None)
    assert setting in str(err.value)
    assert "\n" not in str(err.value)


def test_malformed_dotenv_names_file_and_line(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("# fine\nTURATH_TARGET=twin\nthis is not a setting\n")
    with pytest.raises(ConfigError) as err:
        load_settings(environ={}, dotenv_path=dotenv)
    assert f"{dotenv}:3" in str(err.value)


def test_unknown_cli_setting_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(cli={"TURATH_NOPE": "1"}, environ={}, dotenv_path=None)
    assert "TURATH_NOPE" in str(err.value)


def test_env_example_and_readme_document_every_setting() -> None:
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for s in SPEC:
        assert f"{s.env}=" in example, f"{s.env} missing from .env.example"
        assert f"`{s.env}`" in readme, f"{s.env} missing from the README settings table"
