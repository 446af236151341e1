"""Plan §5.2 database integrity and §5.4 user account recovery, counted over SQL.

Production's database under `-m health`; the drill's restored one under `-m drill` (plan §4 step 5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fixtures.meta import BOTH_MODES, check
from recovery.db import Counts
from recovery.settings import Settings

RESTORE_NEWER = (
    "plan §6.2: aws rds describe-db-snapshots --db-instance-identifier {rds_instance} "
    "--query 'DBSnapshots[*].[DBSnapshotIdentifier,OriginalSnapshotCreateTime]'; restore from a newer snapshot or "
    "point in time; if none has the data, re-upload from source files"
)


def _baseline_gap(name: str, value: int, baseline: dict[str, Any], tolerance: float) -> str | None:
    recorded = baseline.get(name)
    if recorded is None:
        return None
    floor = int(recorded * (1 - tolerance))
    if value < floor:
        return f"{value} {name.replace('_', ' ')} < baseline {recorded} - {tolerance:.0%} (= {floor})"
    return None


def _versus(name: str, value: int, minimum: int, recorded: Any, tolerance: float) -> str:
    """'users 40 >= minimum 1; baseline 40 (tolerance 2%)'."""
    text = f"{name} {value} {'>=' if value >= minimum else '<'} minimum {minimum}"
    if recorded is None:
        return text + "; no baseline recorded (TURATH_BASELINE_FILE)"
    return text + f"; baseline {recorded} (tolerance {tolerance:.0%})"


@check("5.2", severity="critical", remediation=RESTORE_NEWER, modes=BOTH_MODES)
def test_db_users_present(
    db_counts: Counts, baseline: dict[str, Any], settings: Settings, observed: Callable[[str], None]
) -> None:
    """At least the minimum number of users, and not fewer than the recorded baseline."""
    observed(_versus("users", db_counts.users, settings.min_users, baseline.get("users"), settings.baseline_tolerance))
    assert db_counts.users >= settings.min_users, (
        f"Empty database: {db_counts.users} user(s) in accounts_user (minimum {settings.min_users})"
    )
    gap = _baseline_gap("users", db_counts.users, baseline, settings.baseline_tolerance)
    assert gap is None, f"users lost: {gap}"


@check("5.2", severity="critical", remediation=RESTORE_NEWER, modes=BOTH_MODES)
def test_db_records_present(
    db_counts: Counts, baseline: dict[str, Any], settings: Settings, observed: Callable[[str], None]
) -> None:
    """At least the minimum number of published records, and not fewer than the recorded baseline."""
    observed(
        _versus(
            "published records",
            db_counts.published_records,
            settings.min_records,
            baseline.get("published_records"),
            settings.baseline_tolerance,
        )
    )
    assert db_counts.published_records >= settings.min_records, (
        f"Empty database: {db_counts.published_records} published record(s) (minimum {settings.min_records})"
    )
    gap = _baseline_gap("published_records", db_counts.published_records, baseline, settings.baseline_tolerance)
    assert gap is None, f"records lost: {gap}"


@check(
    "5.4",
    severity="high",
    remediation="plan §5.4 option 1: sign up at {site_url}/signup/ as admin@{site_host} (or create the account: "
    "invenio users create admin@{site_host} --active --confirm, which prompts for the password), then grant "
    "admin, through the image's entrypoint (§6.3): invenio roles create admin; invenio roles add "
    "admin@{site_host} admin; invenio access allow superuser-access role admin",
    modes=BOTH_MODES,
)
def test_db_admin_user_present(db_counts: Counts, observed: Callable[[str], None]) -> None:
    """At least one active user holds superuser-access (through a role or granted directly, and not excluded)."""
    observed(f"{len(db_counts.admins)} active admin(s) among {db_counts.users} users")
    assert db_counts.admins, f"no active admin among {db_counts.users} users: nobody can administer the recovered site"
