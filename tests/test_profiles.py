"""Production shapes of the twin (twin/profiles.py): health and the drill pass on each, faults still fail.

Costs are chosen to cover every profile once: one health run with all four selected on the
command line (its own twin: the `--twin-profile` plumbing), one drill on the session twin with
all four applied, and the two faults about the password and host on the profiles that deliver
them by reference. The rest runs in process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fixtures.target import twin_profiles
from recovery.drill.steps import provision
from recovery.settings import load_settings
from tests.conftest import SuiteRun, clean_env, twin_env
from tests.test_drill_fault_matrix import run_drill
from twin import secretstore
from twin.__main__ import main as twin_main
from twin.core import Twin
from twin.faults import CATALOG, deploy, register_container_revision
from twin.profiles import PROFILES

ALL = tuple(PROFILES)


def _container(twin: Twin, service: str) -> dict[str, Any]:
    ecs = twin.client("ecs")
    svc = ecs.describe_services(cluster=twin.spec.ecs_cluster, services=[service])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    return dict(td["containerDefinitions"][0])


def test_unknown_profile_is_one_configuration_line(
    run_suite: Callable[..., SuiteRun], capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_suite("-m", "health", "--twin-profile", "kms,nope", env=clean_env())
    assert run.returncode == 4, run.stdout + run.stderr
    lines = [line for line in run.stderr.splitlines() if "nope" in line]
    assert len(lines) == 1, run.stderr
    assert "--twin-profile" in lines[0], run.stderr
    assert "secrets-manager" in lines[0], run.stderr  # the known names are listed
    # The same rule for the environment setting and for `python -m twin --profile`, before anything starts.
    settings = load_settings(environ={"TURATH_TWIN_PROFILE": "kms, ssm"}, dotenv_path=None)
    with pytest.raises(pytest.UsageError, match=r"^TURATH_TWIN_PROFILE: unknown profile\(s\) ssm; known: "):
        twin_profiles([], settings)
    assert twin_profiles(["capacity-providers", "kms"], settings) == ("capacity-providers", "kms")
    assert twin_main(["--profile", "kms", "--profile", "nope"]) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "--profile" in err, err


def test_health_passes_on_every_profile_from_the_command_line(run_suite: Callable[..., SuiteRun]) -> None:
    run = run_suite("-m", "health", *(a for p in ALL for a in ("--twin-profile", p)), env=clean_env())
    assert run.returncode == 0, run.stdout[-4000:]
    observed = " ".join(o for c in run.results["checks"] for o in c.get("observed", []))
    # The settings were read through their references, and so judged: not skipped, not assumed.
    assert "RDS_DB_PASSWORD from arn:aws:secretsmanager:" in observed, observed[:2000]
    assert "RDS_DB_HOST from arn:aws:ssm:" in observed, observed[:2000]


def test_drill_passes_on_every_profile_and_its_tasks_never_reach_production(
    run_suite: Callable[..., SuiteRun], fresh_twin: Twin, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.rds.models import RDSBackend

    restores: list[dict[str, Any]] = []
    for name in ("restore_db_instance_from_db_snapshot", "restore_db_instance_to_point_in_time"):
        original = getattr(RDSBackend, name)

        def spy(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            restores.append(dict(args[-1]))  # the request's parameters (db_kwargs)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(RDSBackend, name, spy)
    fresh_twin.apply_profiles(ALL)
    production = fresh_twin.rds_endpoint(fresh_twin.spec.rds_instance)
    run = run_drill(run_suite, fresh_twin)
    assert run.returncode == 0, run.stdout[-4000:]
    assert run.results["drill"]["leftovers"] == []
    # https: the drill reached its copy through production's HTTPS listener and host name.
    assert fresh_twin.site_url.startswith("https://")
    assert run.results["drill"]["site_url"] == fresh_twin.site_url
    assert fresh_twin.password not in run.all_text()
    assert fresh_twin.agent is not None
    drill_tasks = [(td, db) for td, db in fresh_twin.agent.connections if "-drill-" in td]
    assert drill_tasks, "no drill task started: the test proves nothing"
    assert all(db and db != production for _, db in drill_tasks), drill_tasks
    # kms: the restore kept production's parameter group (RDS would use the default group otherwise).
    assert restores, "no restore reached RDS"
    assert [r.get("db_parameter_group_name") for r in restores] == ["invenio-default-postgres15"], restores


@pytest.mark.parametrize(
    ("fault", "profile"), [("password-mismatch", "secrets-manager"), ("wrong-db-endpoint", "ssm-parameters")]
)
def test_db_setting_faults_apply_to_the_reference_and_fail_their_checks(
    run_suite: Callable[..., SuiteRun], fresh_twin: Twin, fault: str, profile: str
) -> None:
    fresh_twin.apply_profiles((profile,))
    fresh_twin.apply_faults((fault,))
    container = _container(fresh_twin, "web-ui")
    assert not {"RDS_DB_PASSWORD", "RDS_DB_HOST"} & {e["name"] for e in container["environment"]}, container
    run = run_suite("-m", "health", env=twin_env(fresh_twin))
    assert run.failing() == set(CATALOG[fault].health), run.stdout[-4000:]
    assert fresh_twin.password not in run.all_text()
    # The message says where the bad value comes from: the reference to fix, not an environment entry.
    messages = " ".join(c["message"] for c in run.results["checks"] if c["outcome"] == "failed")
    service = "secretsmanager" if profile == "secrets-manager" else "ssm"
    assert f"from arn:aws:{service}:" in messages, messages


def test_clone_for_the_restored_db_takes_the_host_out_of_production_secret(fresh_twin: Twin) -> None:
    """What the drill's redeploy registers, read as ECS reads it: the restored host, the verified password."""
    fresh_twin.apply_profiles(("secrets-manager",))
    ecs = fresh_twin.client("ecs")
    svc = ecs.describe_services(cluster=fresh_twin.spec.ecs_cluster, services=["web-ui"])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    changes = {"RDS_DB_HOST": "restored.example:5432", "RDS_DB_PASSWORD": fresh_twin.password}
    spec = provision.clone_spec(td, "drill-web-ui", "app", changes, None, keep_references=("RDS_DB_PASSWORD",))
    container = spec["containerDefinitions"][0]
    seen = secretstore.resolve(container, fresh_twin.spec.region)
    assert seen["RDS_DB_HOST"] == "restored.example:5432"
    assert seen["RDS_DB_PASSWORD"] == fresh_twin.password
    # No plaintext password in a task definition production kept free of one.
    assert "RDS_DB_PASSWORD" not in {e["name"] for e in container["environment"]}
    assert [s["name"] for s in container["secrets"]] == ["RDS_DB_PASSWORD"]


def test_unreadable_reference_stops_tasks_like_ecs(fresh_twin: Twin) -> None:
    """A revision whose secret does not exist never starts: the rollout fails with ECS's error; the old tasks serve."""
    fresh_twin.apply_profiles(("secrets-manager",))

    def wrong(container: dict[str, Any]) -> None:
        for s in container["secrets"]:
            s["valueFrom"] = s["valueFrom"].replace("rds-credentials", "rds-credentials-old")

    deploy(fresh_twin, "web-ui", register_container_revision(fresh_twin, "web-ui", wrong))
    svc = fresh_twin.client("ecs").describe_services(cluster=fresh_twin.spec.ecs_cluster, services=["web-ui"])
    primary = svc["services"][0]["deployments"][0]
    assert primary["rolloutState"] == "FAILED", primary
    events = " ".join(e["message"] for e in svc["services"][0]["events"][:3])
    assert "ResourceInitializationError: unable to pull secrets or registry auth" in events, events
