"""The terraform provisioner with the real binary on a local-only configuration (no provider)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recovery.drill.naming import DrillNames
from recovery.drill.steps.provision import Terraform
from recovery.errors import StepFailed

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform binary not installed")

CONFIG = """
variable "drill_id" { type = string }
resource "terraform_data" "cluster" { input = "invenio-drill-${var.drill_id}-cluster" }
output "cluster" { value = terraform_data.cluster.output }
output "services" { value = { "web-ui" = "invenio-drill-${var.drill_id}-web-ui" } }
output "site_url" { value = "http://invenio-drill-${var.drill_id}-alb.example" }
"""


def workspaces(directory: Path) -> list[str]:
    out = subprocess.run(
        ["terraform", f"-chdir={directory}", "workspace", "list"], capture_output=True, text=True, check=True
    ).stdout
    return [w.strip(" *") for w in out.splitlines() if w.strip()]


def test_apply_reads_outputs_and_destroy_removes_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(CONFIG)
    names = DrillNames("invenio", "dtfrm01", datetime.now(UTC))
    tf = Terraform(str(tmp_path), names, "eu-central-1")
    outputs = tf.apply()
    assert outputs["cluster"] == "invenio-drill-dtfrm01-cluster"
    assert outputs["services"] == {"web-ui": "invenio-drill-dtfrm01-web-ui"}
    assert "drill-dtfrm01" in workspaces(tmp_path)
    assert tf.apply()["cluster"] == "invenio-drill-dtfrm01-cluster"  # select, not new, the second time
    assert tf.destroy() == "deleted"
    assert "drill-dtfrm01" not in workspaces(tmp_path)
    assert tf.destroy() == "gone"  # idempotent


def test_failing_apply_is_a_step_failure_with_the_output(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('output "x" { value = var.missing }\n')
    tf = Terraform(str(tmp_path), DrillNames("invenio", "dtfrm02", datetime.now(UTC)), "eu-central-1")
    with pytest.raises(StepFailed) as info:
        tf.apply()
    assert info.value.step == "provision"
    assert "terraform" in str(info.value)
