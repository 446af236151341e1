"""Drill self-tests: settings and clients pointed at the twin (tests/conftest.py starts it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from recovery.aws.session import Aws, StaticCredentials
from recovery.settings import Settings, load_settings
from twin.core import Twin

DrillEnv = Callable[..., tuple[Settings, Aws]]


@pytest.fixture
def drill_env(tmp_path: Path) -> DrillEnv:
    """(settings, aws) for a twin, with reports under tmp_path; extra settings by name."""

    def make(twin: Twin, **values: str) -> tuple[Settings, Aws]:
        assert twin.info is not None
        cli = {
            "endpoint_url": twin.info.endpoint_url,
            "target": "aws",
            "reports_dir": str(tmp_path),
            "drill_allowed_accounts": twin.info.account_id,
            **values,
        }
        settings = load_settings(cli=cli, environ={}, dotenv_path=None)
        return settings, Aws(settings, StaticCredentials(twin.info.access_key, twin.info.secret_key))

    return make


def has_data_plane(twin: Twin) -> bool:
    """The twin serves databases, rollouts and a site (the e2e drill needs them)."""
    return bool(getattr(twin, "site_url", "")) and getattr(twin, "rds_data", None) is not None
