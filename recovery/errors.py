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
