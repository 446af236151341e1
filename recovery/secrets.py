"""Secrets travel as `Secret`, whose repr is masked; `redact` scrubs text where evidence is written.

Every Secret created in the process registers its value, so the report writer can scrub any
value that leaked into an assertion message, a log line or a captured stdout by another path.
"""

from __future__ import annotations

import threading
from urllib.parse import quote, quote_plus

MASK = "********"

_registry: set[str] = set()
_lock = threading.Lock()


class Secret:
    """A string that never shows itself in repr/str/format. Use `.reveal()` at the point of use."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def register(value: str) -> None:
    """Remember a secret value (and its URL-encoded forms) so `redact` removes it everywhere."""
    if not value or len(value) < 4:
        return
    with _lock:
        _registry.update({value, quote(value, safe=""), quote_plus(value)})


def redact(text: str) -> str:
    """Replace every registered secret in `text` with the mask; longest first."""
    with _lock:
        values = sorted(_registry, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def known_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_registry)
