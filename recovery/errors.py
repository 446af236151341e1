"""Typed errors raised by the library. Checks turn them into failures; the CLI into one line."""

from __future__ import annotations


class RecoveryError(Exception):
    """Base of every error the library raises on purpose."""


class ConfigError(RecoveryError):
    """A setting is missing, malformed or names something that does not exist in the target.

    `setting` is the key the operator must fix; the message says what was expected.
    """

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"configuration error: {setting}: {message}")
        self.setting = setting


class NotFound(RecoveryError):
    """A resource the plan names does not exist in the target."""


class StepFailed(RecoveryError):
    """A drill step could not reach its state. `step` names it; `diagnostics` is evidence.

    Where the plan names the failure, the structured fields carry it (symptom as the plan words
    it, evidence, root cause, fix, plan section), so nothing needs to parse the message.
    """

    def __init__(
        self,
        step: str,
        message: str,
        diagnostics: dict[str, object] | None = None,
        *,
        symptom: str = "",
        evidence: str = "",
        cause: str = "",
        fix: str = "",
        plan_section: str = "",
    ) -> None:
        super().__init__(f"drill step '{step}' failed: {message}")
        self.step = step
        self.message = message
        self.diagnostics = diagnostics or {}
        self.symptom = symptom
        self.evidence = evidence
        self.cause = cause
        self.fix = fix
        self.plan_section = plan_section


class WaitTimeout(RecoveryError):
    """`wait_until` gave up: `what` was not reached in time."""


# Exit codes, the same for the same kind of outcome in `pytest`, `python -m recovery` and
# `python -m twin` (pytest's own numbering, which the other two follow; the README lists them).
EXIT_OK = 0  # everything checked passed / the command did what it was asked
EXIT_FAILED = 1  # a check failed, a drill step failed or the drill left resources behind
EXIT_INTERRUPTED = 2  # Ctrl-C or SIGTERM (the drill was torn down)
EXIT_INTERNAL = 3  # a defect of the suite, or the evidence could not be written
EXIT_CONFIG = 4  # bad configuration or command line: one line names the setting, nothing was changed
EXIT_NO_CHECKS = 5  # the selection ran no check (pytest: no tests collected)
EXIT_LOCKED = 6  # another drill holds the target's lock (or the swept drill is alive): nothing was changed


class PermissionMissing(RecoveryError):
    """AWS refused a call for lack of permission. The message is the one line an operator needs.

    `action` is the IAM action, `resource` what it was refused on ("*" when AWS did not say and
    the call names nothing), `policy_file` the file in `policies/` that grants it or should.
    """

    def __init__(
        self, action: str, resource: str, policy_file: str, *, granted: bool = False, principal: str = ""
    ) -> None:
        who = f" for {principal}" if principal else ""
        if granted:
            fix = f"{policy_file} grants it: attach that file to the role (or its conditions do not hold)"
        else:
            fix = f"add it to {policy_file}"
        super().__init__(f"permission missing: {action} on {resource} was denied{who}; {fix}")
        self.action = action
        self.resource = resource
        self.policy_file = policy_file
        self.granted = granted
        self.principal = principal
