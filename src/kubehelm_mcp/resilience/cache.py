"""A small TTL cache for results of read-only calls, cleared by any call that may change things."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from kubehelm_mcp.expiring import ExpiringLru

V = TypeVar("V")
Clock = Callable[[], float]

MAX_ENTRIES = 512


def cache_key(tool: str, arguments: Mapping[str, Any], target: tuple[object, ...], caller: str) -> str:
    """Everything that can change an answer: the tool, its arguments, the cluster and identity
    (the pool key holds a token's digest, not the token) and the caller, since different users
    may be shown different things. Hashed, so no argument (a per-call token) sits in memory twice."""
    payload = json.dumps([tool, arguments, list(target), caller], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


class ReadCache(Generic[V]):
    """Entries live `ttl` seconds; at most `max_entries`, the least recently used go first.

    `generation` moves on every clear(): a read that started before a change must not store
    what it saw after the change cleared the cache, so put() takes the generation it began in.
    """

    def __init__(self, ttl: float, max_entries: int = MAX_ENTRIES, clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self._entries: ExpiringLru[V] = ExpiringLru(max_entries, clock)
        self.generation = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> V | None:
        return self._entries.get(key)

    def put(self, key: str, value: V, generation: int) -> None:
        if self.enabled and generation == self.generation:
            self._entries.put(key, value, self._entries.clock() + self.ttl)

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1
