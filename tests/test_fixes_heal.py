"""Every printed fix works (DESIGN invariant 7): for each catalogued fault whose printed fix is a
command, apply the fix exactly as printed and see the failing checks pass afterwards.

The fix is taken from the run's own output (the `Fix (plan §..):` line the terminal shows, which
is results.json's `remediation`), never from a second copy here. Its AWS CLI commands run
through `bash` (so `$(date ...)` and `for s in ...; do ...; done` work as they would for an
operator) with the environment `python -m twin` prints, against the twin. Read-only commands
(describe, list, get, tail) are diagnosis, not the fix, and are not run. A fault whose printed
fix holds no AWS command (a restore, a Terraform apply, an upload) skips with that reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable

import pytest

from recovery.settings import load_settings
from tests.conftest import SuiteRun, twin_env
from tests.test_fault_matrix import all_checks
from twin.core import Twin
from twin.faults import CATALOG, FAULTS
from twin.iam import suite_principals

pytestmark = pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")

READ_ONLY = re.compile(r"^(describe|list|get|head|filter|tail|wait|ls|lookup)\b")
_AWS = re.compile(r"(?:^|(?<=[\s:(]))aws \S+ \S+")
APPLY = re.compile(r"(?:^|[;&:]\s*|\bthen\s+|\band\s+|\()terraform apply(?! registers)")
_LOOP = re.compile(r"for (?P<var>\w+) in (?P<items>[^;]+); do (?P<body>.+?); done")


def split_top_level(text: str) -> list[str]:
    """Split on `;` and `&&` outside quotes and `$(...)`: the shell's own command boundaries."""
    out, cur, quote, depth, i = [], [], "", 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif text.startswith("$(", i):
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif not depth and (ch == ";" or text.startswith("&&", i)):
            out.append("".join(cur))
            cur = []
            i += 2 if ch == "&" else 1
            continue
        cur.append(ch)
        i += 1
    out.append("".join(cur))
    return [s.strip() for s in out if s.strip()]


_PIPED_LOOP = re.compile(r"\| while read [^;]*; do .+?; done")
_GLUE = "\x00"


def fix_commands(remediation: str) -> list[str]:
    """The mutating AWS CLI commands of a printed fix, in order, `for` loops expanded, and a
    `... | while read ...; do ...; done` pipeline kept whole (mutating when its body is)."""
    expanded = _LOOP.sub(
        lambda m: "; ".join(m["body"].replace(f"${m['var']}", item) for item in m["items"].split()), remediation
    )
    expanded = _PIPED_LOOP.sub(lambda m: m[0].replace(";", _GLUE), expanded)
    commands = []
    for segment in (s.replace(_GLUE, ";") for s in split_top_level(expanded)):
        loop = re.search(r"\| while read [^;]*; do (?P<body>.+?); done", segment)
        if loop and _AWS.search(segment):
            body = _AWS.search(loop["body"])
            if body and not READ_ONLY.match(body[0].split()[2]):
                commands.append(segment[_AWS.search(segment).start() :])  # type: ignore[union-attr]
            continue
        found = _AWS.search(segment)
        if not found:
            continue
        command = segment[found.start() :].rstrip(".")
        if command.count(")") > command.count("("):
            command = command[:-1]  # the fix's own closing parenthesis around a command
        verb = command.split()[2]
        if not READ_ONLY.match(verb):
            commands.append(command)
    return commands


_SETTING = re.compile(r"\bexport (?P<name>TURATH_[A-Z_]+)=(?P<value>[^\s;]+)")


def fix_settings(remediation: str) -> dict[str, str]:
    """The suite settings a printed fix sets (`export TURATH_LOG_GROUP=...`): the suite read the wrong place."""
    return {found["name"]: found["value"] for found in _SETTING.finditer(remediation)}


def printed_fixes(run: SuiteRun) -> dict[str, str]:
    """check id -> its fixes as the terminal printed them (and results.json filed them), one per failing
    instance (a per-service check prints one fix per service), joined as the operator would run them."""
    fixes: dict[str, list[str]] = {}
    for check in run.results["checks"]:
        if check["outcome"] == "failed":
            assert f"): {check['remediation']}" in run.stdout, f"the fix of {check['id']} was not printed as filed"
            fixes.setdefault(check["id"], []).append(check["remediation"])
    return {check: "; ".join(texts) for check, texts in fixes.items()}


def test_a_piped_loop_is_one_command() -> None:
    text = (
        "list: aws s3api list-object-versions --bucket b --query 'X' --output text; aws s3api list-object-versions "
        "--bucket b --output text | while read -r key version; do aws s3api delete-object --bucket b --key "
        '"$key" --version-id "$version"; done; then aws s3 sync s3://c s3://b'
    )
    assert fix_commands(text) == [
        "aws s3api list-object-versions --bucket b --output text | while read -r key version; do aws s3api "
        'delete-object --bucket b --key "$key" --version-id "$version"; done',
        "aws s3 sync s3://c s3://b",
    ]


def test_fix_commands_are_parsed_as_a_shell_would() -> None:
    text = (
        "plan §6.1: compare (terraform console <<< 'x'), then terraform apply && for s in web-ui web-api; "
        "do aws ecs update-service --cluster c --service $s --task-definition $s; done; "
        "aws rds describe-db-instances --query 'DBInstances[0].[A;B]'; "
        "aws rds create-db-snapshot --db-snapshot-identifier i-$(date -u +%Y; echo x)"
    )
    assert fix_commands(text) == [
        "aws ecs update-service --cluster c --service web-ui --task-definition web-ui",
        "aws ecs update-service --cluster c --service web-api --task-definition web-api",
        "aws rds create-db-snapshot --db-snapshot-identifier i-$(date -u +%Y; echo x)",
    ]


# Where the twin cannot show a correct fix working, say why; strict, so a fixed twin is noticed.
TWIN_GAPS: dict[str, str] = {}


# Printed fixes of the newest checks that do not yet work literally (open defects, strict: fixing one
# turns its xfail into a failure here until the entry is removed).
BROKEN_FIXES: dict[str, str] = {}


# Faults whose root check prints a fix for a neighbouring cause, not theirs: nothing to run (open defects).
NOT_ITS_FIX = {
    "files-expired-by-lifecycle": "files_referenced_objects_exist removes the delete markers but not the lifecycle "
    "rule, which expires the restored objects again on its next daily run; no check reads the rule yet",
    # ecs_service_runs_latest_revision prints stale-deployment's fix (deploy the newest revision): here
    # that revision is the fault, and deploying it turns the healthy check green by breaking the page.
    "frontpage-template-missing": "ecs_service_runs_latest_revision's fix deploys the registered revision, which "
    "is the fault: production's homepage would then answer 500; the revision must be corrected first",
    "login-template-missing": "ecs_service_runs_latest_revision's fix deploys the registered revision, which "
    "is the fault: production's /login/ would then answer 500; the revision must be corrected first",
}


def _why_not_a_command(name: str) -> str:
    """Before running anything: the fix its root check would print with the default settings, judged by the
    same parsers; the run below judges the fix as actually printed."""
    root = CATALOG[name].health[0]
    defaults = load_settings(environ={}, dotenv_path=None)
    text = all_checks()[root].remediation_for(defaults, {"service": defaults.web_services[0]})
    if APPLY.search(text):
        return f"{name}: the fix of {root} is a terraform apply of production"
    if not fix_commands(text) and not fix_settings(text):
        return f"{name}: the fix of {root} is not an AWS command: {text[:160]}"
    return ""


def _params() -> list[object]:
    out: list[object] = []
    for fault in FAULTS:
        if not fault.health:
            continue
        if fault.name in TWIN_GAPS or fault.name in BROKEN_FIXES:
            reason = TWIN_GAPS.get(fault.name) or BROKEN_FIXES[fault.name]
            out.append(pytest.param(fault.name, marks=pytest.mark.xfail(reason=reason, strict=True)))
        elif why := NOT_ITS_FIX.get(fault.name) or _why_not_a_command(fault.name):
            out.append(pytest.param(fault.name, marks=pytest.mark.skip(reason=why)))
        else:
            out.append(fault.name)
    return out


@pytest.mark.parametrize("name", _params())
def test_printed_fix_heals_its_fault(run_suite: Callable[..., SuiteRun], fresh_twin: Twin, name: str) -> None:
    fault = CATALOG[name]
    fresh_twin.apply_faults((name,))
    env = twin_env(fresh_twin)
    env["AWS_DEFAULT_REGION"] = env["AWS_REGION"]  # as `python -m twin` exports it for the CLI
    admin = suite_principals()["admin"]
    operator = {**env, "AWS_ACCESS_KEY_ID": admin.access_key, "AWS_SECRET_ACCESS_KEY": admin.secret_key}
    select = " or ".join(f"test_{check}" for check in fault.health)
    before = run_suite("-m", "health", "-k", select, env=env)
    fixes = printed_fixes(before)
    assert fixes, before.stdout[-3000:]
    # The fault's first check is its root cause: its printed fix decides whether the fix is a command.
    root = next(check for check in fault.health if check in fixes)
    if APPLY.search(fixes[root]):
        pytest.skip(f"{name}: the printed fix of {root} is a terraform apply of production")
    commands = {check: fix_commands(text) for check, text in fixes.items() if not APPLY.search(text)}
    settings = {check: fix_settings(text) for check, text in fixes.items() if not APPLY.search(text)}
    if not commands.get(root) and not settings.get(root):
        pytest.skip(f"{name}: the printed fix of {root} is not an AWS command: {fixes[root][:160]}")
    healable = [check for check in commands if commands[check] or settings[check]]
    for check in healable:
        for command in commands[check]:
            # The fix is applied by an operator who may change production (the suite's own keys may not).
            done = subprocess.run(["bash", "-c", command], env=operator, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, f"{check}: `{command}` failed: {done.stderr[-1500:]}"
        env.update(settings[check])  # the suite now reads where the fix says
    after = run_suite("-m", "health", "-k", select, env=env)
    still = {c["id"]: c["message"] for c in after.results["checks"] if c["outcome"] != "passed"}
    assert not set(healable) & set(still), {k: still[k] for k in set(healable) & set(still)}
