"""The in-VPC runner: the image definition (checked statically: no Docker engine here), its
entrypoint (run for real against the twin's S3), and the Terraform module (`terraform validate`,
and `terraform plan` against the twin) with the real binary and a local provider mirror.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT
from twin.core import Twin
from twin.iam import ADMIN_KEY

DOCKERFILE = ROOT / "deploy" / "runner" / "Dockerfile"
ENTRYPOINT = ROOT / "deploy" / "runner" / "entrypoint.py"
MODULE = ROOT / "deploy" / "terraform" / "runner"
# Where a provider mirror may live (terraform never downloads in these tests).
MIRRORS = [
    os.environ.get("TURATH_TF_PROVIDER_MIRROR", ""),
    "/opt/tf-plugins",
    str(Path.home() / ".terraform.d/plugins"),
]


def instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_image_installs_the_package_and_copies_what_a_run_reads() -> None:
    steps = instructions()
    assert steps[0][0] == "FROM"
    assert re.match(r"python:3\.1[1-9]", steps[0][1])
    assert any(op == "RUN" and re.search(r"pip install .*(?<![\w/-])\.(\s|$)", arg) for op, arg in steps)
    copied = {arg.split()[0] for op, arg in steps if op == "COPY"}
    for needed in ("pyproject.toml", "recovery", "fixtures", "twin", "checks", "conftest.py", "policies"):
        assert needed in copied, f"the image does not copy {needed}"
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
    assert any(op == "USER" and arg != "root" for op, arg in steps), "the suite must not run as root"


def test_image_entry_runs_preflight_then_pytest() -> None:
    steps = dict(instructions())
    entry = json.loads(steps["ENTRYPOINT"])
    assert entry[0] == "python"
    assert entry[1].endswith("deploy/runner/entrypoint.py")
    assert json.loads(steps["CMD"]) == ["-m", "health"]


def load_entrypoint() -> ModuleType:
    spec = importlib.util.spec_from_file_location("runner_entrypoint", ENTRYPOINT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_entrypoint_runs_preflight_then_the_mode_and_uploads_evidence(
    fresh_twin: Twin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fresh_twin.info is not None
    entry = load_entrypoint()
    calls: list[tuple[str, ...]] = []

    def fake_pytest(*args: str) -> int:
        calls.append(args)
        latest = tmp_path / "latest"
        latest.mkdir(exist_ok=True)
        (latest / "results.json").write_text(json.dumps({"mode": args[1], "outcome": "passed"}))
        return 0

    monkeypatch.setattr(entry, "pytest", fake_pytest)
    fresh_twin.client("s3").create_bucket(
        Bucket="turath-recovery-evidence-test", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    for key, value in {
        "AWS_ENDPOINT_URL": fresh_twin.info.endpoint_url,
        "AWS_ACCESS_KEY_ID": ADMIN_KEY,
        "AWS_SECRET_ACCESS_KEY": "twin-secret-key",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "TURATH_REPORTS_DIR": str(tmp_path),
        "TURATH_EVIDENCE_BUCKET": "turath-recovery-evidence-test",
    }.items():
        monkeypatch.setenv(key, value)
    assert entry.main(["-m", "drill"]) == 0
    assert calls == [("-m", "preflight"), ("-m", "drill")]
    keys = [
        o["Key"]
        for o in fresh_twin.client("s3").list_objects_v2(Bucket="turath-recovery-evidence-test").get("Contents", [])
    ]
    assert len(keys) == 1
    assert re.fullmatch(r"drill/\d{8}T\d{6}Z/results\.json", keys[0])


def test_failed_preflight_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = load_entrypoint()
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(entry, "pytest", lambda *a: calls.append(a) or 3)
    monkeypatch.setenv("TURATH_REPORTS_DIR", str(tmp_path))
    monkeypatch.delenv("TURATH_EVIDENCE_BUCKET", raising=False)
    assert entry.main(["-m", "drill"]) == 3
    assert calls == [("-m", "preflight")]


# ---- terraform -------------------------------------------------------------------------------


def provider_mirror() -> str:
    for path in MIRRORS:
        if path and (Path(path) / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return path
    return ""


needs_terraform = pytest.mark.skipif(
    shutil.which("terraform") is None or not provider_mirror(),
    reason="terraform binary or a local hashicorp/aws provider mirror (TURATH_TF_PROVIDER_MIRROR) is missing",
)

ROOT_CONFIG = """
module "runner" {{
  source                  = "{module}"
  image                   = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/turath-recovery:1.0"
  subnet_ids              = ["subnet-0a1b2c3d"]
  security_group_ids      = ["sg-0a1b2c3d"]
  watched_service_arns    = ["arn:aws:ecs:eu-central-1:123456789012:service/invenio-default-cluster/web-ui"]
  db_password_arn         = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:turath-db-AbCdEf"
  drill_optional_policies = ["drill-search", "drill-kms"]
  environment             = {{ TURATH_SITE_URL = "https://invenio.turath-project.com" }}
}}
output "roles" {{ value = module.runner.task_roles }}
"""

PROVIDER = """
provider "aws" {{
  region                      = "eu-central-1"
  access_key                  = "{key}"
  secret_key                  = "twin-secret-key"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  endpoints {{
{endpoints}
  }}
}}
"""


def terraform(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    rc = workdir / "terraformrc"
    rc.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{provider_mirror()}"\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n}\n'
    )
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    return subprocess.run(
        ["terraform", f"-chdir={workdir}", *args, "-no-color"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def module_root(tmp_path: Path) -> Path:
    # A relative source keeps the module in place (an absolute one is copied, losing ../../../policies;
    # a git source `//deploy/terraform/runner` fetches the whole repository, so the path holds there).
    (tmp_path / "main.tf").write_text(ROOT_CONFIG.format(module=os.path.relpath(MODULE, tmp_path)))
    init = terraform(tmp_path, "init", "-backend=false", "-input=false")
    assert init.returncode == 0, init.stdout + init.stderr
    return tmp_path


@needs_terraform
@pytest.mark.slow
def test_runner_module_validates(module_root: Path) -> None:
    result = terraform(module_root, "validate")
    assert result.returncode == 0, result.stdout + result.stderr
    fmt = terraform(MODULE, "fmt", "-check", "-recursive")
    assert fmt.returncode == 0, f"terraform fmt would change: {fmt.stdout}"


@needs_terraform
@pytest.mark.slow
def test_runner_module_plans_against_the_twin_with_the_policy_files(module_root: Path, fresh_twin: Twin) -> None:
    assert fresh_twin.info is not None
    services = ("sts", "iam", "s3", "ecs", "cloudwatchlogs", "scheduler", "cloudwatchevents")
    endpoints = "\n".join(f'    {s} = "{fresh_twin.info.endpoint_url}"' for s in services)
    (module_root / "provider.tf").write_text(PROVIDER.format(key=ADMIN_KEY, endpoints=endpoints))
    result = terraform(module_root, "plan", "-input=false", "-out=plan.bin")
    assert result.returncode == 0, result.stdout + result.stderr
    shown = terraform(module_root, "show", "-json", "plan.bin")
    plan = json.loads(shown.stdout)
    changes = {c["address"]: c["change"]["after"] for c in plan["resource_changes"]}
    policies = {a: c for a, c in changes.items() if ".aws_iam_role_policy.suite[" in a}
    assert set(policies) == {
        'module.runner.aws_iam_role_policy.suite["health/health"]',
        'module.runner.aws_iam_role_policy.suite["drill/health"]',
        'module.runner.aws_iam_role_policy.suite["drill/drill"]',
        'module.runner.aws_iam_role_policy.suite["drill/drill-search"]',
        'module.runner.aws_iam_role_policy.suite["drill/drill-kms"]',
    }
    drill = json.loads(policies['module.runner.aws_iam_role_policy.suite["drill/drill"]']["policy"])
    assert drill == json.loads((ROOT / "policies" / "drill.json").read_text())
    schedule = changes["module.runner.aws_scheduler_schedule.drill"]
    assert schedule["schedule_expression"] == "cron(0 4 1 * ? *)"
    rule = json.loads(changes["module.runner.aws_cloudwatch_event_rule.deployed"]["event_pattern"])
    assert rule["detail"] == {"eventName": ["SERVICE_DEPLOYMENT_COMPLETED"]}
