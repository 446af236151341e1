"""The evidence plugin: three files per run, results.json as DESIGN.md says, no secret anywhere.

Runs pytest in-process through `pytester` (the root conftest lists the "pytester" plugin) against
a tiny check module; the xdist run uses real worker processes. Nothing here touches AWS.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fixtures.reporting import EVIDENCE_FILES, results_outcome, run_mode
from recovery.redaction import scrub, scrub_data
from recovery.secrets import MASK, Secret, known_secrets

REPO = Path(__file__).resolve().parents[1]
PATTERN_SECRET = "hunter2-abcdefgh"  # never registered: only the shape patterns can catch it

CHECK_MODULE = '''
from datetime import UTC, datetime

import pytest

from fixtures.meta import check
from fixtures import meta
from fixtures.reporting import attach_evidence
from recovery.secrets import Secret

SECRET = Secret("__SECRET__")


@pytest.fixture
def broken_step():
    raise RuntimeError("restore step broke")


@check("2.1", severity="high", remediation="aws rds modify-db-instance --db-instance-identifier {rds_instance}")
def test_rpt_backup_retention_ok(request):
    """Backups are kept long enough."""
    response = {"DBInstances": [{"InstanceCreateTime": datetime.now(UTC), "MasterUserPassword": SECRET.reveal()}]}
    attach_evidence(request, "DescribeDBInstances", response)
    request.node.user_properties.append(("observed", "retention 7 d >= 7 d"))  # what the observed fixture does


@check("6.1", severity="critical", remediation="rotate the master password of {db_user}")
def test_rpt_password_not_leaked():
    """The password stays out of messages."""
    leaked = SECRET.reveal()
    print(f"connecting with {leaked}")
    assert not leaked, f"DSN postgresql://inveniordm_user:{leaked}@db/invenio; RDS_DB_PASSWORD=hunter2-abcdefgh"


@check("4.2", severity="high", remediation="re-run the restore step")
def test_rpt_restored_db_answers(broken_step):
    """The restored database answers."""


@check("2.3", severity="low", remediation="nothing to do")
def test_rpt_search_snapshot_repository():
    """A snapshot repository is registered."""
    pytest.skip("not on this target")


@check("4.3", severity="high", remediation="look at the drill ledger", modes=("drill",))
def test_rpt_drill_left_nothing():
    """The drill removed what it created."""


def test_plain_self_test():
    """Not a check: must not appear in results.json."""
'''

DRILL_CONFTEST = """
from datetime import UTC, datetime, timedelta

from fixtures.keys import DRILL_KEY


def pytest_configure(config):
    t0 = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
    config.stash[DRILL_KEY] = {
        "id": "d7f3",
        "snapshot": "rds:invenio-default-rds-2025-01-01-03-00",
        "phases": [
            {"name": "provisioned", "started_at": t0, "finished_at": t0 + timedelta(minutes=5), "seconds": 300},
            {"name": "restored", "started_at": t0 + timedelta(minutes=5),
             "finished_at": t0 + timedelta(minutes=30), "seconds": 1500},
        ],
        "rto_seconds": 1800,
        "rto_objective_seconds": 3600,
        "rpo_seconds": 120,
        "rpo_objective_seconds": 300,
        "leftovers": [],
    }
"""

INI = """
[pytest]
markers =
    health: health
    drill: drill
    check(id, plan_section, severity, remediation): check metadata
"""

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def validate_results(doc: dict[str, Any]) -> None:
    """The DESIGN.md contract of results.json, checked field by field."""
    assert doc["mode"] in {"health", "drill"}
    assert doc["target"] in {"twin", "aws"}
    assert doc["account"] is None or isinstance(doc["account"], str)
    assert doc["region"] is None or isinstance(doc["region"], str)
    assert ISO.match(doc["started_at"]), doc["started_at"]
    assert ISO.match(doc["finished_at"]), doc["finished_at"]
    assert doc["started_at"] <= doc["finished_at"]
    assert doc["outcome"] in {"passed", "failed", "incomplete"}
    assert set(doc["summary"]) == {"passed", "failed", "error", "skipped"}
    assert isinstance(doc["checks"], list)
    for c in doc["checks"]:
        assert {"id", "plan_section", "severity", "outcome", "message", "remediation", "observed"} <= set(c), c
        assert all(isinstance(o, str) for o in c["observed"])
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", c["id"]), c["id"]
        assert re.fullmatch(r"\d+(\.\d+)*", c["plan_section"]), c["plan_section"]
        assert c["severity"] in {"critical", "high", "medium", "low"}
        assert c["outcome"] in {"passed", "failed", "error", "skipped"}
        assert all(isinstance(c[k], str) for k in ("message", "remediation"))
    assert sum(doc["summary"].values()) == len(doc["checks"])
    if doc["mode"] == "drill":
        drill = doc["drill"]
        assert {
            "id",
            "snapshot",
            "phases",
            "rto_seconds",
            "rto_objective_seconds",
            "rpo_seconds",
            "rpo_objective_seconds",
            "leftovers",
        } <= set(drill)
        for phase in drill["phases"]:
            assert {"name", "started_at", "finished_at", "seconds"} <= set(phase)
        assert isinstance(drill["leftovers"], list)
    else:
        assert "drill" not in doc


def decoded_data_uris(text: str) -> str:
    """Self-contained HTML hides JSON/text extras in base64 data URIs; a leak could hide there."""
    out = []
    for b64 in re.findall(r"base64,([A-Za-z0-9+/=]+)", text):
        try:
            out.append(base64.b64decode(b64).decode("utf-8", errors="replace"))
        except ValueError:
            continue
    return "\n".join(out)


class Run:
    """One in-process pytest run of the check module and the evidence it left."""

    def __init__(self, pytester: pytest.Pytester, reports: Path, result: pytest.RunResult) -> None:
        self.result = result
        dirs = sorted(
            (d for d in reports.iterdir() if d.is_dir() and d.name != "latest"), key=lambda d: d.stat().st_mtime
        )
        self.dir = dirs[-1]  # this run's
        self.latest = reports / "latest"
        self.results = json.loads((self.dir / "results.json").read_text(encoding="utf-8"))
        self.checks = {c["id"]: c for c in self.results["checks"]}
        self.terminal = "\n".join(result.outlines + result.errlines)

    def texts(self) -> dict[str, str]:
        out = {}
        for folder in (self.dir, self.latest):
            for name in EVIDENCE_FILES:
                text = (folder / name).read_text(encoding="utf-8")
                out[f"{folder.name}/{name}"] = text + "\n" + decoded_data_uris(text)
        out["terminal"] = self.terminal
        return out


RunFn = Callable[..., Run]


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> RunFn:
    """Run the check module with the evidence plugin; returns go(secret, *args, reports=None) -> Run."""
    pytester.makeini(INI)
    pytester.makeconftest(DRILL_CONFTEST)
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # xdist workers import fixtures.* from the repo
    for var in ("TURATH_TARGET", "TURATH_DB_USER", "TURATH_RDS_INSTANCE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)

    def go(
        secret: str, *args: str, reports: Path | None = None, module: str = CHECK_MODULE, into: Path | None = None
    ) -> Run:
        from_env = into or tmp_path_factory.mktemp("reports")
        monkeypatch.setenv("TURATH_REPORTS_DIR", str(from_env))
        reports = reports or from_env
        pytester.makepyfile(test_checks=module.replace("__SECRET__", secret))
        plugins = ("-p", "fixtures.settings", "-p", "fixtures.reporting", "-p", "no:cacheprovider")
        result = pytester.runpytest_inprocess(*plugins, *args)
        return Run(pytester, reports, result)

    return go


def new_secret() -> str:
    return f"pw-{uuid.uuid4().hex[:12]}"


def test_health_run_files_three_scrubbed_files_with_check_results(run: RunFn) -> None:
    secret = new_secret()
    r = run(secret)
    r.result.assert_outcomes(passed=3, failed=1, errors=1, skipped=1)

    assert re.fullmatch(r"health-\d{8}T\d{6}Z", r.dir.name)
    for name in EVIDENCE_FILES:
        assert (r.dir / name).read_bytes() == (r.latest / name).read_bytes(), name
        assert not (r.latest / name).is_symlink()

    validate_results(r.results)
    assert r.results["outcome"] == "failed"
    assert r.results["target"] == "twin"
    assert r.results["region"] == "eu-central-1"
    assert r.results["summary"] == {"passed": 2, "failed": 1, "error": 1, "skipped": 1}
    assert "plain_self_test" not in json.dumps(r.results)

    failed = r.checks["rpt_password_not_leaked"]
    assert failed["outcome"] == "failed"
    assert failed["plan_section"] == "6.1"
    assert failed["severity"] == "critical"
    assert failed["message"].startswith("§6.1 rpt_password_not_leaked: DSN postgresql://inveniordm_user:")
    assert "Fix (plan" not in failed["message"]
    assert failed["remediation"] == "rotate the master password of inveniordm_user"

    error = r.checks["rpt_restored_db_answers"]
    assert error["outcome"] == "error"
    assert error["message"] == "setup: RuntimeError: restore step broke"
    assert r.checks["rpt_search_snapshot_repository"]["message"] == "not on this target"
    assert r.checks["rpt_backup_retention_ok"]["remediation"].endswith("--db-instance-identifier invenio-default-rds")

    html = (r.dir / "report.html").read_text(encoding="utf-8")
    assert "Turath recovery evidence — health on twin" in html
    for needle in ("rpt_password_not_leaked", "planSection", "critical", "DescribeDBInstances", "eu-central-1"):
        assert needle in html, needle
    cases = ET.parse(r.dir / "junit.xml").getroot().iter("testcase")
    props = {p.get("name"): p.get("value") for case in cases for p in case.iter("property")}
    assert props["check_plan_section"] in {"2.1", "6.1", "4.2", "2.3", "4.3"}

    assert r.terminal.count(str(r.dir)) == 1, "the evidence path is printed once"
    assert f"Evidence: {r.dir}/evidence.html" in r.terminal
    assert "Generated html report" not in r.terminal
    for where, text in r.texts().items():
        assert secret not in text, where
        assert PATTERN_SECRET not in text, where
    assert MASK in r.checks["rpt_password_not_leaked"]["message"]


def test_drill_run_writes_drill_section_and_timeline(run: RunFn) -> None:
    r = run(new_secret(), "-m", "drill")
    r.result.assert_outcomes(passed=1)
    assert r.dir.name.startswith("drill-")
    validate_results(r.results)
    assert r.results["outcome"] == "passed"
    assert list(r.checks) == ["rpt_drill_left_nothing"]
    assert r.results["drill"]["rto_objective_seconds"] == 3600
    assert r.results["drill"]["phases"][1]["started_at"] == "2025-01-01T03:05:00Z"
    html = (r.dir / "report.html").read_text(encoding="utf-8")
    assert "Turath recovery evidence — drill on twin" in html
    assert 'href="evidence.html"' in html
    evidence = (r.dir / "evidence.html").read_text(encoding="utf-8")
    assert "<svg" in evidence
    assert "RTO objective 1 h" in evidence


def test_xdist_run_collects_worker_reports_and_scrubs_worker_only_secrets(run: RunFn) -> None:
    secret = new_secret()
    r = run(secret, "-n", "2")
    r.result.assert_outcomes(passed=3, failed=1, errors=1, skipped=1)
    assert secret not in known_secrets(), "the secret must exist only in the workers for this test to mean much"
    validate_results(r.results)
    assert set(r.checks) == {
        "rpt_backup_retention_ok",
        "rpt_password_not_leaked",
        "rpt_restored_db_answers",
        "rpt_search_snapshot_repository",
        "rpt_drill_left_nothing",
    }
    assert r.checks["rpt_password_not_leaked"]["message"].startswith("§6.1 ")
    assert r.checks["rpt_password_not_leaked"]["remediation"] == "rotate the master password of inveniordm_user"
    assert "DescribeDBInstances" in (r.dir / "report.html").read_text(encoding="utf-8")  # extras cross xdist
    for where, text in r.texts().items():
        assert secret not in text, where
        assert PATTERN_SECRET not in text, where


def test_reports_dir_comes_from_the_settings_plugin(run: RunFn, pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makeconftest(DRILL_CONFTEST + '\npytest_plugins = ["fixtures.settings"]\n')
    chosen = tmp_path / "chosen"
    r = run(new_secret(), "--reports-dir", str(chosen), reports=chosen)
    validate_results(r.results)
    # With the settings plugin loaded, meta formats the fix in the assertion message as well.
    assert "Fix (plan §6.1): rotate the master password of inveniordm_user" in r.terminal


@pytest.mark.parametrize(
    ("markexpr", "mode"),
    [
        ("", "health"),
        ("health", "health"),
        ("drill", "drill"),
        ("drill and not slow", "drill"),
        ("not drill", "health"),
    ],
)
def test_mode_follows_the_mark_expression(markexpr: str, mode: str) -> None:
    assert run_mode(markexpr) == mode


@pytest.mark.parametrize(
    ("outcomes", "accepted", "expected"),
    [
        ([("passed", "high"), ("skipped", "low")], {}, "passed"),
        ([("passed", "high"), ("failed", "low")], {}, "failed"),
        ([("passed", "high"), ("error", "low")], {}, "failed"),
        ([("passed", "low"), ("skipped", "critical")], {}, "incomplete"),
        ([("passed", "low"), ("skipped", "critical"), ("failed", "low")], {}, "failed"),
        ([("passed", "low"), ("skipped", "critical")], {"c1": "ops lead, CAB-7"}, "passed"),
        ([("skipped", "low")], {}, "incomplete"),
        ([], {}, "incomplete"),
    ],
)
def test_run_passes_only_when_checks_ran_none_failed_and_no_critical_skip_is_unaccepted(
    outcomes: list[tuple[str, str]], accepted: dict[str, str], expected: str
) -> None:
    checks = [
        {"id": f"c{i}", "outcome": o, "severity": sev, "plan_section": "2.1", "message": "why"}
        for i, (o, sev) in enumerate(outcomes)
    ]
    assert results_outcome(checks, accepted) == expected


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("RDS_DB_PASSWORD=hunter2-abcdefgh; next", "hunter2-abcdefgh"),
        ('{"RDS_DB_PASSWORD": "hunter2-abcdefgh"}', "hunter2-abcdefgh"),
        ("postgresql://inveniordm_user:pa55-w0rd@db:5432/invenio", "pa55-w0rd"),
        ("host=db port=5432 password=pa55-w0rd dbname=invenio", "pa55-w0rd"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ("AWS_SECRET_ACCESS_KEY='wJalrXUtnFEMI/K7MDENG'", "wJalrXUtnFEMI"),
        ("{'MasterUserPassword': 'pa55 w0rd'}", "pa55 w0rd"),
    ],
    ids=["env", "json", "url", "libpq", "aws-ini", "aws-env", "repr"],  # ids must not show the values
)
def test_scrub_masks_secrets_by_shape(text: str, leak: str) -> None:
    clean = scrub(text)
    assert leak not in clean
    assert MASK in clean


def test_scrub_keeps_config_errors_and_urls_readable() -> None:
    for text in (
        "configuration error: TURATH_DB_PASSWORD: must not be empty",
        "https://invenio.turath-project.com:443/api/records?q=1",
        "RDS instance invenio-default-rds has BackupRetentionPeriod=1",
    ):
        assert scrub(text) == text


def test_scrub_data_masks_registered_values_and_sensitive_keys() -> None:
    secret = Secret(new_secret())
    data = {
        "Credentials": {"SecretAccessKey": "abc/def", "SessionToken": "tok", "AccessKeyId": "AKIAEXAMPLE"},
        "MasterUserSecret": {"SecretArn": "arn:aws:secretsmanager:eu-central-1:1:secret:x"},
        "log": ("line with " + secret.reveal(), ["RDS_DB_PASSWORD=x1y2z3"]),
    }
    clean = scrub_data(data)
    assert clean["Credentials"] == {"SecretAccessKey": MASK, "SessionToken": MASK, "AccessKeyId": "AKIAEXAMPLE"}
    assert clean["MasterUserSecret"]["SecretArn"].startswith("arn:aws:")
    assert clean["log"] == (f"line with {MASK}", [f"RDS_DB_PASSWORD={MASK}"])


SKIPPING_MODULE = '''
import pytest

from fixtures.meta import check


@check("5.2", severity="critical", remediation="open a tunnel to the database")
def test_rpt_users_counted():
    """Users are present."""
    pytest.skip("TURATH_DB_HOST not configured: no route to the database")


@check("2.1", severity="high", remediation="aws rds modify-db-instance")
def test_rpt_backups_on(request):
    """Backups are on."""
    request.node.user_properties.append(("observed", "retention 7 d >= 7 d"))
'''


def test_observed_values_reach_results_junit_and_both_documents(run: RunFn) -> None:
    r = run(new_secret())
    assert r.checks["rpt_backup_retention_ok"]["observed"] == ["retention 7 d >= 7 d"]
    assert r.checks["rpt_drill_left_nothing"]["observed"] == []
    cases = {c.get("name"): c for c in ET.parse(r.dir / "junit.xml").getroot().iter("testcase")}
    props = [(p.get("name"), p.get("value")) for p in cases["test_rpt_backup_retention_ok"].iter("property")]
    assert ("observed", "retention 7 d >= 7 d") in props
    assert "retention 7 d" in (r.dir / "report.html").read_text(encoding="utf-8")
    assert "retention 7 d &gt;= 7 d" in (r.dir / "evidence.html").read_text(encoding="utf-8")


def test_evidence_document_reads_as_an_auditor_needs_it(run: RunFn) -> None:
    r = run(new_secret())
    doc = (r.dir / "evidence.html").read_text(encoding="utf-8")
    order = [
        "id=verdict",
        "<h2>Scope</h2>",
        "What this run proves, and what it does not",
        "<h2>Failures by root cause</h2>",
        "<h2>Checks</h2>",
        "<h2>Controls</h2>",
    ]
    positions = [doc.index(marker) for marker in order]
    assert positions == sorted(positions), "sections out of order"
    assert ">FAIL<" in doc
    assert 'href="report.html"' in doc
    for gone in ("Expected failures", "Unexpected passes", "Reruns", "<script", "http://", "https://"):
        assert gone not in doc, gone
    stamps = re.findall(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[^<\s\"]*", doc)
    assert stamps
    assert all(s.endswith("Z") for s in stamps), [s for s in stamps if not s.endswith("Z")]
    assert len(r.results["scope"]["settings_digest"]) == 64
    assert r.results["scope"]["operator"]["user"]
    # The remediation shows only where a check failed or errored.
    assert doc.count("<b>Fix:</b>") == len([c for c in r.results["checks"] if c["outcome"] in ("failed", "error")])


def test_manifest_verifies_the_filed_run_and_catches_an_edit(run: RunFn) -> None:
    from recovery.evidence import manifest

    r = run(new_secret())
    assert set(r.results["manifest"]["files"]) == {"evidence.html", "report.html", "junit.xml"}
    for name, digest in r.results["manifest"]["files"].items():
        assert manifest.digest(r.dir / name) == digest, name
    assert manifest.verify(r.dir) == dict.fromkeys(["evidence.html", "report.html", "junit.xml", "results.json"], True)
    assert manifest.verify(r.latest) == manifest.verify(r.dir)
    with (r.dir / "results.json").open("a", encoding="utf-8") as f:
        f.write(" ")
    assert manifest.verify(r.dir)["results.json"] is False


def test_every_run_appends_one_history_line_and_the_drill_shows_its_trend(
    run: RunFn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "reports"
    shared.mkdir()
    first = run(new_secret(), into=shared)
    lines = (shared / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert (entry["mode"], entry["outcome"], entry["summary"]) == ("health", "failed", first.results["summary"])
    assert "commit" in entry

    monkeypatch.setenv("TURATH_PHASE_BUDGETS", "restored=1000")
    run(new_secret(), "-m", "drill", into=shared)
    drill = run(new_secret(), "-m", "drill", into=shared)
    lines = (shared / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    last = json.loads(lines[-1])
    assert last["phases"] == {"provisioned": 300, "restored": 1500}
    assert last["rto_seconds"] == 1800
    trend = drill.results["trend"]
    assert [r["mode"] for r in trend["runs"]] == ["drill", "drill"], "the trend compares drills on this target"
    assert trend["flags"] == [{"phase": "restored", "seconds": 1500.0, "why": "beyond its budget of 1000 s"}]
    doc = (drill.dir / "evidence.html").read_text(encoding="utf-8")
    assert "Trend (last 2 drills on this target)" in doc
    assert "beyond its budget of 1000 s" in doc


def test_a_skipped_critical_check_makes_the_run_incomplete_until_someone_accepts_it(
    run: RunFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = run(new_secret(), module=SKIPPING_MODULE)
    assert r.results["outcome"] == "incomplete"
    assert r.results["not_checked"] == [
        {
            "id": "rpt_users_counted",
            "severity": "critical",
            "plan_section": "5.2",
            "reason": "TURATH_DB_HOST not configured: no route to the database",
            "critical": True,
            "accepted_by": None,
        }
    ]
    assert "== INCOMPLETE: health on twin ==" in r.terminal
    assert "Not checked: rpt_users_counted" in r.terminal
    suite = ET.parse(r.dir / "junit.xml").getroot()
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["turath_outcome"] == "incomplete"
    assert "rpt_users_counted: TURATH_DB_HOST not configured" in props["turath_not_checked"]
    assert "NOT accepted" in (r.dir / "evidence.html").read_text(encoding="utf-8")


def test_an_accepted_skip_names_who_accepted_it(run: RunFn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURATH_ACCEPTED_SKIPS", "rpt_users_counted:J. Doe (change CAB-142)")
    r = run(new_secret(), module=SKIPPING_MODULE)
    assert r.results["outcome"] == "passed"
    assert r.results["not_checked"][0]["accepted_by"] == "J. Doe (change CAB-142)"
    assert "accepted by J. Doe (change CAB-142)" in (r.dir / "evidence.html").read_text(encoding="utf-8")
