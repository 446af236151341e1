"""Plan §4 end to end: the recovered environment works, in time, with the data, and leaves nothing.

Each check evaluates what the drill fixtures measured (fixtures/drill.py); a broken step makes
them ERROR naming the step, a recovered environment that falls short makes them FAIL.
"""

from __future__ import annotations

from typing import Any

from fixtures.meta import check
from recovery.drill.context import DrillContext
from recovery.settings import Settings

DRILL = ("drill",)


def _phases(drill: DrillContext) -> str:
    return ", ".join(f"{p.name} {p.seconds:.0f}s" for p in drill.clock.phases if p.seconds is not None)


@check(
    "5",
    severity="high",
    modes=DRILL,
    remediation="find the slowest phase in the drill timeline; restore time scales with the instance class "
    "and storage of {rds_instance}, rollout with the health checks of {ecs_cluster}'s services",
)
def test_drill_rto_within_objective(verified: dict[str, Any], drill: DrillContext) -> None:
    """Provision + restore + redeploy + storage + reindex finish within the RTO objective."""
    rto = drill.clock.rto_seconds()
    objective = drill.clock.rto_objective_seconds
    assert rto is not None, f"drill {drill.drill_id} has no finished recovery phase to measure"
    assert rto <= objective, (
        f"drill {drill.drill_id} recovered in {rto:.0f} s, over the RTO objective of {objective} s "
        f"({objective // 60} min); phases: {_phases(drill)}"
    )


@check(
    "5",
    severity="high",
    modes=DRILL,
    remediation="restore to the latest restorable time (pytest -m drill --restore-time latest); check PITR: "
    "aws rds describe-db-instances --db-instance-identifier {rds_instance} --query "
    "'DBInstances[0].LatestRestorableTime'; take a manual snapshot after uploads (plan 2.1.1)",
)
def test_drill_rpo_within_objective(verified: dict[str, Any], drill: DrillContext) -> None:
    """The data lost by the recovery (and the PITR lag) stay within the RPO objective."""
    rpo = drill.clock.rpo_seconds()
    objective = drill.clock.rpo_objective_seconds
    recovery = drill.state.get("recovery", {})
    assert rpo is not None, f"drill {drill.drill_id} could not measure the RPO"
    assert rpo <= objective, (
        f"recovering from {recovery.get('snapshot') or 'point in time'} (recovery point "
        f"{recovery.get('recovery_point')}) loses {rpo:.0f} s of data, over the RPO objective of {objective} s: "
        f"PITR lag {drill.clock.pitr_lag_seconds} s, measured data loss {drill.clock.data_loss_seconds} s "
        f"({verified.get('data_loss_basis')})"
    )


@check(
    "6.2",
    severity="critical",
    modes=DRILL,
    remediation="identify a snapshot with data: aws rds describe-db-snapshots --db-instance-identifier "
    "{rds_instance} --query 'DBSnapshots[*].[DBSnapshotIdentifier,SnapshotCreateTime]'; restore a newer "
    "snapshot or a point in time (plan 6.2)",
)
def test_drill_restored_db_has_users_and_records(verified: dict[str, Any], settings: Settings) -> None:
    """The restored DB has users and records, as many as production had at the recovery point."""
    restored = verified["restored"]
    empty = [k for k in ("users", "records") if restored[k] <= 0]
    assert not empty, (
        f"the restored database is empty: {restored['users']} users, {restored['records']} published records "
        "(plan 6.2: snapshot taken during a migration or before the uploads)"
    )
    production = verified.get("production_as_of_recovery_point")
    if production is None:
        return
    tolerance = settings.baseline_tolerance
    short = {
        k: (restored[k], production[k]) for k in ("users", "records") if restored[k] < production[k] * (1 - tolerance)
    }
    assert not short, "restored DB has fewer rows than production had at the recovery point: " + ", ".join(
        f"{k} {got} < {want} (tolerance {tolerance:.0%})" for k, (got, want) in short.items()
    )


@check(
    "5.4",
    severity="medium",
    modes=DRILL,
    remediation="plan 5.4: sign up at <drill site>/signup/, then grant admin by SQL on the restored DB: "
    "INSERT INTO accounts_userrole (user_id, role_id) SELECT u.id, r.id FROM accounts_user u, accounts_role r "
    "WHERE u.email = '<EMAIL>' AND r.name = 'admin'",
)
def test_drill_admin_user_present(verified: dict[str, Any], drill: DrillContext) -> None:
    """At least one active user of the restored DB holds the admin role or superuser access."""
    site = (drill.state.get("environment") or {}).get("site_url", "")
    assert verified["admins"], (
        f"the restored DB has no active admin ({verified['restored']['users']} users): after a real recovery "
        f"nobody could administer the site; recovery path (plan 5.4): {site}/signup/ then the SQL grant"
    )


@check(
    "5.1",
    severity="critical",
    modes=DRILL,
    remediation="plan 6.4: aws logs tail /{drill_prefix}-drill-<id>/web-ui --since 10m "
    "| grep -i 'password|fatal|error' (the drill's log group); "
    "check RDS_DB_HOST/RDS_DB_PASSWORD of the drill task definitions",
)
def test_drill_site_serves_records(verified: dict[str, Any], drill: DrillContext) -> None:
    """The drill site: homepage 200, /api/records total > 0, /login/ not 5xx."""
    site = verified["site"]
    url = (drill.state.get("environment") or {}).get("site_url", "")
    problems = []
    if site["home"] != 200:
        problems.append(f"GET {url}/ -> {site['home']}")
    if not site["records_total"]:
        problems.append(f"GET {url}/api/records?size=1 total {site['records_total']}")
    if not isinstance(site["login"], int) or site["login"] >= 500:
        problems.append(f"GET {url}/login/ -> {site['login']} (plan 6.4: the app cannot reach its DB)")
    assert not problems, "the recovered site does not work: " + "; ".join(problems)


@check(
    "4.4",
    severity="high",
    modes=DRILL,
    remediation="rerun the rebuild through the entrypoint on the drill cluster: invenio index destroy --yes-i-know; "
    "invenio index init; invenio rdm rebuild-all-indices (rdm-records rebuild-index misses users and communities)",
)
def test_drill_search_matches_database(verified: dict[str, Any]) -> None:
    """After the rebuild, the search total equals the restored DB's latest published records."""
    total, expected = verified["site"]["records_total"], verified["restored_latest_published"]
    assert total == expected, (
        f"/api/records total is {total}, the restored DB has {expected} latest published records: "
        "the index does not reflect the restored data"
    )


@check(
    "5.3",
    severity="high",
    modes=DRILL,
    remediation="give the drill tasks' role s3:GetObject on {files_bucket}, or clone the bucket "
    "(TURATH_DRILL_STORAGE=clone) and set S3_BUCKET_NAME (plan 4 step 3)",
)
def test_drill_file_downloads_with_checksum(storage_connected: dict[str, Any]) -> None:
    """Files listed by restored records download through the drill site with the DB's MD5."""
    samples = storage_connected["storage"]["samples"]
    bad = [s for s in samples if not s.get("ok")]
    assert samples, "the storage step sampled no file"
    assert not bad, "files do not download intact: " + "; ".join(
        f"{s['recid']}/{s['key']}: HTTP {s.get('status')}, md5 {s.get('md5')} vs DB {s.get('expected')}" for s in bad
    )


@check(
    "4",
    severity="high",
    modes=DRILL,
    remediation="python -m recovery sweep --apply --older-than-hours 0 (removes resources tagged drill-id); "
    "the ledger under {reports_dir}/.drills/ lists what the drill created and each deletion's outcome",
)
def test_drill_left_nothing_behind(torn_down: list[dict[str, Any]], drill: DrillContext) -> None:
    """After teardown nothing tagged or named with the drill id remains (tagging API and per service)."""
    assert not torn_down, f"drill {drill.drill_id} left {len(torn_down)} resource(s): " + ", ".join(
        f"{r['kind']} {r['id']}" for r in torn_down
    )
