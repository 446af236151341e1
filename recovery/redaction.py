"""Scrub secrets from text and JSON-like data before it becomes evidence.

Good: `scrub(text)` returns text in which no registered secret and no recognisable credential
(password assignments, DSN passwords, URL user-info, AWS secret keys, bearer tokens) survives.

`recovery.secrets.redact` only knows values registered in this process; an xdist worker or a
subprocess may have leaked a value the writer never saw, so the patterns here catch secrets by
shape. Over-redaction (a `NextToken`, a word after "password:") is accepted; under-redaction is not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from recovery.secrets import MASK, redact

__all__ = ["SENSITIVE_KEY", "is_sensitive_key", "scrub", "scrub_data", "scrub_patterns"]

T = TypeVar("T")

# A value after `=`/`:` ends at whitespace, a quote or a separator used in DSNs and query strings.
_BARE = r"[^\s'\"&;,)}\]]+"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # "RDS_DB_PASSWORD": "value"  /  'MasterUserPassword': 'value'  /  "SecretAccessKey": "..."
    (
        re.compile(
            r"""(?P<key>(?P<kq>\\?["'])[A-Za-z0-9_.\-]*(?:passw(?:or)?d|secret|token|credential)"""
            r"""[A-Za-z0-9_.\-]*(?P=kq))(?P<sep>\s*[:=]\s*)(?P<q>\\?["'])(?P<val>.*?)(?P=q)""",
            re.IGNORECASE,
        ),
        r"\g<key>\g<sep>\g<q>" + MASK + r"\g<q>",
    ),
    # Only `=` here: `TURATH_DB_PASSWORD: must not be empty` is a config error worth reading.
    # RDS_DB_PASSWORD=value, AWS_SECRET_ACCESS_KEY="value", aws_secret_access_key = value (ini files)
    (
        re.compile(
            r"(?P<key>\b[A-Za-z0-9_]*(?:PASSW(?:OR)?D|SECRET|TOKEN|secret_access_key|session_token)"
            r"[A-Za-z0-9_]*)(?P<sep>[ \t]*=[ \t]*)(?P<q>['\"]?)(?P<val>" + _BARE + r")",
        ),
        r"\g<key>\g<sep>\g<q>" + MASK,
    ),
    # libpq / JDBC keyword DSNs and --showlocals lines: password=value, pwd = 'value'
    (
        re.compile(
            r"(?P<key>\b(?:password|passwd|pwd))(?P<sep>[ \t]*=[ \t]*)"
            r"(?P<val>'[^']*'|\"[^\"]*\"|" + _BARE + r")",
            re.IGNORECASE,
        ),
        r"\g<key>\g<sep>" + MASK,
    ),
    # scheme://user:password@host (postgresql, amqps, redis, https)
    (
        re.compile(r"(?P<pre>\b[a-z][a-z0-9+.\-]*://[^:/@\s'\"]*:)(?P<val>[^@/\s'\"]+)(?P<at>@)", re.IGNORECASE),
        r"\g<pre>" + MASK + r"\g<at>",
    ),
    # Authorization: Bearer <token>
    (
        re.compile(r"(?P<pre>\bBearer[ \t]+)(?P<val>[A-Za-z0-9._~+/=\-]{8,})"),
        r"\g<pre>" + MASK,
    ),
)

SENSITIVE_KEY = re.compile(r"passw(?:or)?d|\bpwd\b|secret|token|credential|private_?key", re.IGNORECASE)
# Keys that contain a sensitive word but name, not hold, the secret (SecretArn, SecretName, KmsKeyId).
_NAMING_SUFFIX = re.compile(r"(arn|name|id|ids|status|type|enabled|rotation\w*|date|time)$", re.IGNORECASE)


def is_sensitive_key(key: str) -> bool:
    """True for a mapping key whose string value is a secret (`MasterUserPassword`, `SessionToken`)."""
    return bool(SENSITIVE_KEY.search(key)) and not _NAMING_SUFFIX.search(key)


def scrub_patterns(text: str) -> str:
    """Mask credentials recognisable by shape, whether or not their value was registered."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub(text: str) -> str:
    """Registered secrets first (exact values), then the shape patterns."""
    return scrub_patterns(redact(text))


def scrub_data(value: T) -> T:
    """A copy of JSON-like `value` with every string scrubbed and sensitive keys' values masked.

    Containers keep their type (a tuple stays a tuple: pytest's skip reports rely on it).
    """
    return cast(T, _scrub_any(value, None))


def _scrub_any(value: Any, key: str | None) -> Any:
    if isinstance(value, str):
        if key is not None and value and is_sensitive_key(key):
            return MASK
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: _scrub_any(v, k if isinstance(k, str) else None) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_scrub_any(v, None) for v in value)
    if isinstance(value, list):
        return [_scrub_any(v, None) for v in value]
    return value
