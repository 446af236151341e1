"""The recovery library: AWS, SQL and HTTP helpers and the drill's steps. No pytest in here.

Runnable as `python -m recovery ...` through the same code the pytest fixtures use.
"""

from recovery.errors import ConfigError, NotFound, RecoveryError, StepFailed, WaitTimeout
from recovery.secrets import Secret, redact
from recovery.settings import Settings, load_settings

__all__ = [
    "ConfigError",
    "NotFound",
    "RecoveryError",
    "Secret",
    "Settings",
    "StepFailed",
    "WaitTimeout",
    "load_settings",
    "redact",
]
