"""Stand-ins for the services InvenioRDM expects around it that cannot run here (no Redis).

Imported by InvenioRDM's own process (scripts/invenio_build.py points
INVENIO_COMMUNITIES_IDENTITIES_CACHE_HANDLER here); never by the suite.
"""

from __future__ import annotations

from typing import Any

from invenio_communities.cache.cache import IdentityCache


class MemoryIdentityCache(IdentityCache):
    """The communities identity cache in a dict instead of Redis (one CLI process lives seconds)."""

    def __init__(self, app: Any = None) -> None:
        super().__init__(app)
        self._data: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self._data.get(key)

    def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
        self._data[key] = value
        return True

    def delete(self, key: str) -> bool:
        self._data.pop(key, None)
        return True

    def flush(self) -> bool:
        self._data.clear()
        return True

    def append(self, key: str, value: Any) -> bool:
        self._data.setdefault(key, []).append(value)
        return True
