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
    """A drill step could not reach its state. `step` names it; `diagnostics` is evidence."""

    def __init__(self, step: str, message: str, diagnostics: dict[str, object] | None = None) -> None:
        super().__init__(f"drill step '{step}' failed: {message}")
        self.step = step
        self.diagnostics = diagnostics or {}


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
